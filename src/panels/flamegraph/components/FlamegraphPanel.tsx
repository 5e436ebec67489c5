import React, { useMemo } from 'react';
import { css } from '@emotion/css';
import type { PanelProps, ScopedVars } from '@grafana/data';
import type { DataQuery } from '@grafana/schema';
import { getDataSourceSrv } from '@grafana/runtime';
import { Text, useStyles2 } from '@grafana/ui';

import { CaptureFlameGraph } from '../../../components/CaptureFlameGraph';
import { DATASOURCE_ID } from '../../../constants';
import { useLoad } from '../../../components/useLoad';
import { AutotracingResources } from '../../../datasource/resources';
import type { AutotracingQuery } from '../../../datasource/types';
import { isNestedSetFrame, rowsFromFrame } from '../frame';
import type { FlamegraphOptions } from '../types';

/** What the backend may put in a flamegraph frame's meta.custom (docs/plugin-resources.md). */
export interface FlamegraphFrameContext {
  eventId?: string;
  agent?: string;
  profile?: string;
  unit?: string;
}

export type Props = PanelProps<FlamegraphOptions>;

/** The uid of the query's datasource when it is an AutoTracing one (the only kind with these resources). */
function resolveDatasource(ref: DataQuery['datasource'], scopedVars?: ScopedVars): string | undefined {
  try {
    const settings = getDataSourceSrv().getInstanceSettings(ref ?? null, scopedVars);
    return settings?.type === DATASOURCE_ID ? settings.uid : undefined;
  } catch {
    return undefined;
  }
}

export function FlamegraphPanel({ data, options, width, height, replaceVariables }: Props) {
  const s = useStyles2(getStyles);
  const frame = data.series.find(isNestedSetFrame);
  const targets = (data.request?.targets ?? []) as AutotracingQuery[];
  const target = targets.find((t) => t.queryType === 'flamegraph' && t.refId === frame?.refId) ?? targets[0];
  const custom = (frame?.meta?.custom ?? {}) as FlamegraphFrameContext;
  const eventId = custom.eventId || (target?.eventId ? replaceVariables(target.eventId) : undefined) || undefined;
  const dsUid = resolveDatasource(target?.datasource, data.request?.scopedVars);
  const resources = useMemo(() => (dsUid ? new AutotracingResources(dsUid) : undefined), [dsUid]);
  // the header's event; without it (no event id, not an AutoTracing datasource) the flame graph still shows
  const event = useLoad(
    () => (resources && eventId && options.showHeader ? resources.event(eventId) : undefined),
    [resources, eventId, options.showHeader]
  );

  const rows = useMemo(() => (frame ? rowsFromFrame(frame) : undefined), [frame]);

  if (!frame || !rows || rows.label.length === 0) {
    return (
      <div className={s.empty} data-testid="flamegraph-panel-empty">
        <Text color="secondary">
          No flame graph in the data. Use the AutoTracing datasource with the &quot;Flame graph&quot; query type (an event
          id, or a time range and filters to merge captures).
        </Text>
      </div>
    );
  }

  const unit = custom.unit ?? frame.fields.find((f) => f.name === 'value')?.config.unit;
  return (
    <div className={s.panel} style={{ width, height }} data-testid="flamegraph-panel">
      <CaptureFlameGraph
        rows={rows}
        unit={unit}
        event={event.loading ? undefined : event.value}
        eventId={eventId}
        profile={custom.profile}
        resources={resources}
        showHeader={options.showHeader}
        showExport={options.showExport}
        showFlameGraphOnly={options.showFlameGraphOnly}
        colorMode={options.colorMode}
        compare={options.compareWith}
        compareEventId={options.compareEventId ? replaceVariables(options.compareEventId) : undefined}
        fill
      />
    </div>
  );
}

const getStyles = () => ({
  panel: css({
    overflow: 'auto',
  }),
  empty: css({
    display: 'flex',
    height: '100%',
    alignItems: 'center',
    justifyContent: 'center',
    textAlign: 'center',
    padding: 16,
  }),
});
