import React, { useMemo, useState } from 'react';
import { css, cx } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { FlameGraph } from '@grafana/flamegraph';
import { Alert, Button, ButtonGroup, Input, RadioButtonGroup, Stack, Text, useStyles2, useTheme2 } from '@grafana/ui';

import {
  type AutotracingResources,
  EXPORT_FORMATS,
  type ExportFormat,
  type FleetEvent,
  exportFilename,
  saveBlob,
} from '../datasource/resources';
import {
  type ColorMode,
  FRAME_KINDS,
  KIND_TAGS,
  type NestedRows,
  kindColor,
  diffRows,
  rowsFromNested,
  selfByKind,
  toFlameGraphFrame,
} from '../panels/flamegraph/frame';
import { EventHeader } from './EventHeader';
import { useLoad } from './useLoad';
import { fmt } from './format';

export type CompareMode = 'none' | 'before' | 'event';

export interface CaptureFlameGraphProps {
  rows: NestedRows;
  /** agent unit: samples | nanoseconds | bytes | count */
  unit?: string;
  event?: FleetEvent;
  eventId?: string;
  profile?: string;
  resources?: AutotracingResources;
  showHeader?: boolean;
  showExport?: boolean;
  showFlameGraphOnly?: boolean;
  colorMode?: ColorMode;
  compare?: CompareMode;
  compareEventId?: string;
  /**
   * Fill the parent's height (a panel): the flame graph takes what the header and controls leave. Otherwise
   * (a page) the flame graph area is `graphHeight` pixels high.
   */
  fill?: boolean;
  graphHeight?: number;
}

/** Height of the flame graph area on a page: the graph and its top table scroll inside it. */
export const PAGE_GRAPH_HEIGHT = 640;

const compareOptions: Array<{ label: string; value: CompareMode; description: string }> = [
  { label: 'No diff', value: 'none', description: 'This capture only' },
  { label: 'Before trigger', value: 'before', description: 'Diff against the seconds before the trigger' },
  { label: 'Other event', value: 'event', description: 'Diff against another capture (baseline)' },
];

const colorOptions: Array<{ label: string; value: ColorMode; description: string }> = [
  { label: 'Kernel / user', value: 'kind', description: 'Colour frames by kind: kernel, user, JIT, process' },
  { label: 'Package', value: 'package', description: "Grafana's colours by package name" },
];

export function KindLegend({ rows, unit }: { rows: NestedRows; unit?: string }) {
  const s = useStyles2(getStyles);
  const theme = useTheme2();
  const totals = selfByKind(rows);
  const all = Object.values(totals).reduce((a, b) => a + b, 0) || 1;
  return (
    <span className={s.legend} data-testid="kind-legend">
      {FRAME_KINDS.filter((k) => totals[k] > 0).map((k) => (
        <span key={k} className={s.legendItem} title={`${KIND_TAGS[k].tag}. = ${KIND_TAGS[k].title} frames`}>
          <span className={s.swatch} style={{ background: kindColor(k, theme) }} />
          {KIND_TAGS[k].title} {Math.round((100 * totals[k]) / all)}%
          <Text color="secondary" variant="bodySmall">
            {' '}
            ({fmt(unit === 'nanoseconds' ? 'ns' : unit === 'bytes' ? 'bytes' : 'short', totals[k], 1)})
          </Text>
        </span>
      ))}
    </span>
  );
}

/**
 * A capture's flame graph: @grafana/flamegraph plus the trigger header, kernel/user colours, a diff against the
 * seconds before the trigger or another capture, and export as folded / pprof / SVG through the datasource.
 */
export function CaptureFlameGraph(props: CaptureFlameGraphProps) {
  const { rows, unit, event, eventId, profile, resources } = props;
  const theme = useTheme2();
  const s = useStyles2(getStyles);
  // local choices override the props (panel options) until those change
  const [colorChoice, setColorChoice] = useState<{ over?: ColorMode; value: ColorMode }>();
  const colorMode = colorChoice && colorChoice.over === props.colorMode ? colorChoice.value : (props.colorMode ?? 'kind');
  const setColorMode = (value: ColorMode) => setColorChoice({ over: props.colorMode, value });
  const [compareChoice, setCompareChoice] = useState<{ over?: string; mode: CompareMode; id: string }>();
  const propsCompare = `${props.compare ?? 'none'}/${props.compareEventId ?? ''}`;
  const ownCompare = compareChoice && compareChoice.over === propsCompare ? compareChoice : undefined;
  const compare: CompareMode = ownCompare?.mode ?? props.compare ?? 'none';
  const compareId = ownCompare?.id ?? props.compareEventId ?? '';
  const setCompare = (mode: CompareMode, id = compareId) => setCompareChoice({ over: propsCompare, mode, id });
  const [compareInput, setCompareInput] = useState<string>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState<ExportFormat | undefined>();

  const diff = useLoad(() => {
    if (compare === 'none' || !resources || !eventId || (compare === 'event' && !compareId)) {
      return undefined;
    }
    const request =
      compare === 'before'
        ? resources.flamegraph(eventId, { profile: 'before' })
        : resources.flamegraph(compareId, { profile });
    return request.catch((e: Error) => {
      throw new Error(
        compare === 'before'
          ? `No profile of the seconds before the trigger: ${e.message}`
          : `Cannot load event ${compareId}: ${e.message}`
      );
    });
  }, [compare, compareId, resources, eventId, profile]);
  const baseline = useMemo(
    () => (!diff.loading && diff.value ? rowsFromNested(diff.value) : undefined),
    [diff.loading, diff.value]
  );
  const shownError = error ?? (diff.loading ? undefined : diff.error);

  const shown = useMemo(() => (baseline ? diffRows(baseline, rows) : rows), [baseline, rows]);
  const isDiff = Boolean(shown.valueRight);
  const frame = useMemo(
    () => toFlameGraphFrame(shown, { unit, colorMode: isDiff ? 'package' : colorMode }),
    [shown, unit, colorMode, isDiff]
  );

  const onExport = async (format: ExportFormat) => {
    if (!resources || !eventId) {
      return;
    }
    setBusy(format);
    setError(undefined);
    try {
      const blob = await resources.flamegraphFile(eventId, format, { profile });
      saveBlob(blob, exportFilename(eventId, format, profile));
    } catch (e) {
      setError(`Export as ${EXPORT_FORMATS[format].label} failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(undefined);
    }
  };

  const canUseEvent = Boolean(resources && eventId);
  const controls = (
    <Stack direction="row" gap={1} alignItems="center" wrap="wrap">
      {!isDiff && rows.kind && (
        <RadioButtonGroup<ColorMode> size="sm" options={colorOptions} value={colorMode} onChange={setColorMode} />
      )}
      {canUseEvent && (
        <RadioButtonGroup<CompareMode>
          size="sm"
          options={compareOptions}
          value={compare}
          onChange={(m) => setCompare(m)}
        />
      )}
      {canUseEvent && compare === 'event' && (
        <Input
          width={30}
          aria-label="Baseline event id"
          placeholder="baseline event id"
          value={compareInput ?? compareId}
          onChange={(e) => setCompareInput(e.currentTarget.value)}
          onBlur={() => setCompare('event', (compareInput ?? compareId).trim())}
          onKeyDown={(e) => e.key === 'Enter' && setCompare('event', (compareInput ?? compareId).trim())}
        />
      )}
      {props.showExport !== false && (
        <ButtonGroup>
          {(Object.keys(EXPORT_FORMATS) as ExportFormat[]).map((f) => (
            <Button
              key={f}
              size="sm"
              variant="secondary"
              icon={busy === f ? 'spinner' : 'download-alt'}
              disabled={!canUseEvent || busy !== undefined}
              tooltip={canUseEvent ? `Download ${EXPORT_FORMATS[f].label}` : 'Export needs a single event'}
              onClick={() => onExport(f)}
            >
              {f === 'svg' ? 'SVG' : f}
            </Button>
          ))}
        </ButtonGroup>
      )}
    </Stack>
  );

  return (
    <div className={cx(s.wrapper, props.fill && s.fill)} data-testid="capture-flamegraph">
      {props.showHeader !== false && event && <EventHeader event={event} compact />}
      <div className={s.bar}>
        {controls}
        {!isDiff && rows.kind && colorMode === 'kind' && <KindLegend rows={rows} unit={unit} />}
        {isDiff && (
          <Text color="secondary" variant="bodySmall">
            Diff: baseline = {compare === 'before' ? 'before the trigger' : compareId}; red = more in this capture
          </Text>
        )}
      </div>
      {diff.loading && compare !== 'none' && <Text color="secondary">Loading the baseline…</Text>}
      {shownError && (
        <Alert severity="warning" title="" onRemove={error ? () => setError(undefined) : undefined}>
          {shownError}
        </Alert>
      )}
      {/* @grafana/flamegraph's container is `flex: 1 1 0` with overflow hidden: without a parent of definite
          height it collapses to 0 px and nothing shows */}
      <div
        className={s.graph}
        style={props.fill ? undefined : { height: props.graphHeight ?? PAGE_GRAPH_HEIGHT }}
        data-testid="flamegraph-area"
      >
        <FlameGraph
          data={frame}
          getTheme={() => theme}
          showFlameGraphOnly={props.showFlameGraphOnly}
          disableCollapsing={false}
        />
      </div>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  wrapper: css({
    display: 'flex',
    flexDirection: 'column',
    gap: theme.spacing(1),
  }),
  fill: css({
    height: '100%',
  }),
  graph: css({
    display: 'flex',
    flexDirection: 'column',
    flex: '1 1 auto',
    minHeight: 0,
  }),
  bar: css({
    display: 'flex',
    flexWrap: 'wrap',
    alignItems: 'center',
    justifyContent: 'space-between',
    gap: theme.spacing(1),
  }),
  legend: css({
    display: 'flex',
    flexWrap: 'wrap',
    gap: theme.spacing(1.5),
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  legendItem: css({
    display: 'inline-flex',
    alignItems: 'center',
    gap: theme.spacing(0.5),
  }),
  swatch: css({
    display: 'inline-block',
    width: 12,
    height: 12,
    borderRadius: 2,
  }),
});
