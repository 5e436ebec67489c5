import { dateTimeFormat, formattedValueToString, getValueFormat } from '@grafana/data';

export function fmt(unit: string, value: number | undefined, decimals?: number): string {
  if (value === undefined || !Number.isFinite(value)) {
    return '–';
  }
  return formattedValueToString(getValueFormat(unit)(value, decimals));
}

export const fmtBytes = (v?: number) => fmt('bytes', v, 1);
export const fmtBps = (v?: number) => fmt('Bps', v, 1);
export const fmtMs = (v?: number) => fmt('ms', v, 1);
export const fmtUs = (v?: number) => fmt('µs', v, 0);

/** A trigger value in the unit its metric name suggests. */
export function fmtMetric(metric: string, value: number): string {
  if (/percent|pct|util|%/i.test(metric)) {
    return fmt('percent', value, 1);
  }
  if (/bytes/i.test(metric)) {
    return fmtBytes(value);
  }
  if (/_ms$|await|latency/i.test(metric)) {
    return fmtMs(value);
  }
  return fmt('none', value, 2);
}

export function fmtTime(ms: number | undefined): string {
  return ms === undefined ? '–' : dateTimeFormat(ms, { format: 'YYYY-MM-DD HH:mm:ss' });
}

export function fmtDuration(fromMs: number, toMs: number): string {
  return fmt('ms', Math.max(0, toMs - fromMs), 1);
}
