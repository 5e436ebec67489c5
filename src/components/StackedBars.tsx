import React from 'react';
import { css } from '@emotion/css';
import { type GrafanaTheme2, dateTimeFormat } from '@grafana/data';
import { useStyles2, useTheme2 } from '@grafana/ui';

export interface BarSeries {
  name: string;
  values: number[];
  color?: string;
}

export interface StackedBarsProps {
  title: string;
  /** bucket labels: start times (ms) or category names */
  buckets: Array<number | string>;
  series: BarSeries[];
  height?: number;
  /** format of the y values in tooltips */
  formatValue?: (v: number) => string;
  /** x-axis tick text for a bucket */
  formatBucket?: (b: number | string) => string;
}

const PALETTE = ['orange', 'yellow', 'purple', 'blue', 'green', 'red', 'light-blue', 'dark-orange', 'super-light-green'];

const defaultBucket = (b: number | string) =>
  typeof b === 'number' ? dateTimeFormat(b, { format: 'MM-DD HH:mm' }) : String(b);

/**
 * A small stacked bar chart in SVG (captures per bucket). Self-contained on purpose: it needs nothing from
 * Grafana's runtime, so the pages render the same in Grafana, in jest and in the browser test harness.
 */
export function StackedBars({ title, buckets, series, height = 180, formatValue = String, formatBucket = defaultBucket }: StackedBarsProps) {
  const theme = useTheme2();
  const s = useStyles2(getStyles);
  const colors = series.map(
    (sr, i) => sr.color ?? theme.visualization.getColorByName(PALETTE[i % PALETTE.length])
  );
  const totals = buckets.map((_, b) => series.reduce((a, sr) => a + (sr.values[b] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const width = 1000;
  const pad = { left: 36, right: 8, top: 8, bottom: 22 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const bw = buckets.length ? plotW / buckets.length : plotW;
  const tickEvery = Math.max(1, Math.ceil(buckets.length / 8));
  const sum = (sr: BarSeries) => sr.values.reduce((a, v) => a + (v ?? 0), 0);

  return (
    <figure className={s.figure} aria-label={title} data-testid="stacked-bars">
      <figcaption className={s.caption}>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" className={s.svg} style={{ height }} role="img" aria-label={title}>
        <line x1={pad.left} x2={width - pad.right} y1={pad.top + plotH} y2={pad.top + plotH} className={s.axis} />
        <text x={pad.left - 4} y={pad.top + 10} textAnchor="end" className={s.tick}>
          {formatValue(max)}
        </text>
        <text x={pad.left - 4} y={pad.top + plotH} textAnchor="end" className={s.tick}>
          0
        </text>
        {buckets.map((b, bi) => {
          let y = pad.top + plotH;
          return (
            <g key={bi}>
              {series.map((sr, si) => {
                const v = sr.values[bi] ?? 0;
                if (v <= 0) {
                  return null;
                }
                const h = (v / max) * plotH;
                y -= h;
                return (
                  <rect
                    key={si}
                    x={pad.left + bi * bw + bw * 0.1}
                    y={y}
                    width={Math.max(1, bw * 0.8)}
                    height={h}
                    fill={colors[si]}
                  >
                    <title>{`${formatBucket(b)} · ${sr.name}: ${formatValue(v)}`}</title>
                  </rect>
                );
              })}
              {bi % tickEvery === 0 && (
                <text x={pad.left + bi * bw + bw / 2} y={height - 6} textAnchor="middle" className={s.tick}>
                  {formatBucket(b)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <div className={s.legend}>
        {series.map((sr, i) => (
          <span key={sr.name} className={s.legendItem} data-testid="legend-item">
            <span className={s.swatch} style={{ background: colors[i] }} />
            {sr.name} <strong>{formatValue(sum(sr))}</strong>
          </span>
        ))}
        {series.length === 0 && <span className={s.tick}>No captures in this range</span>}
      </div>
    </figure>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  figure: css({ margin: 0, width: '100%' }),
  caption: css({ fontWeight: theme.typography.fontWeightMedium, marginBottom: theme.spacing(0.5) }),
  svg: css({ width: '100%', display: 'block' }),
  axis: css({ stroke: theme.colors.border.medium }),
  tick: css({ fill: theme.colors.text.secondary, fontSize: 11, color: theme.colors.text.secondary }),
  legend: css({
    display: 'flex',
    flexWrap: 'wrap',
    gap: theme.spacing(1.5),
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  legendItem: css({ display: 'inline-flex', alignItems: 'center', gap: theme.spacing(0.5) }),
  swatch: css({ display: 'inline-block', width: 10, height: 10, borderRadius: 2 }),
});
