import type { FleetCountsResponse } from '../datasource/resources';
import type { BarSeries } from './StackedBars';

export interface Aggregated {
  buckets: number[];
  series: BarSeries[];
  total: number;
}

/**
 * Sums the backend's merged count series (labelled host + type, or host + container) by one label:
 * `type`, `host` or `container`. Biggest series first.
 */
export function aggregateCounts(resp: FleetCountsResponse | undefined, by: 'type' | 'host' | 'container'): Aggregated {
  const buckets = resp?.buckets ?? [];
  const series = new Map<string, number[]>();
  let total = 0;
  for (const sr of resp?.series ?? []) {
    const key = sr.labels[by] ?? '(none)';
    const values = series.get(key) ?? new Array<number>(buckets.length).fill(0);
    sr.values.forEach((v, i) => {
      if (i < values.length && Number.isFinite(v)) {
        values[i] += v;
        total += v;
      }
    });
    series.set(key, values);
  }
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  return {
    buckets,
    series: [...series.entries()]
      .map(([name, values]) => ({ name, values }))
      .filter((sr) => sum(sr.values) > 0)
      .sort((a, b) => sum(b.values) - sum(a.values)),
    total,
  };
}

/** A bucket width that gives at most 60 bars over the range, rounded to a readable step. */
export function stepFor(rangeMs: number): number {
  const steps = [60e3, 5 * 60e3, 15 * 60e3, 30 * 60e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 24 * 3600e3];
  return steps.find((s) => rangeMs / s <= 60) ?? 24 * 3600e3;
}
