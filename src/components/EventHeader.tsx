import React from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { Alert, Badge, type BadgeColor, Stack, Text, Tooltip, useStyles2 } from '@grafana/ui';

import { containerLabel, cpuShare, parseEvidence } from '../datasource/evidence';
import type { ContainerRef, FleetEvent, Trigger } from '../datasource/resources';
import { fmtDuration, fmtMetric, fmtTime } from './format';

const STATUS_COLORS: Record<string, BadgeColor> = {
  complete: 'green',
  partial: 'orange',
  capturing: 'blue',
  failed: 'red',
};

export const TYPE_BADGE_COLORS: Record<string, BadgeColor> = {
  cpusys: 'orange',
  cpuidle: 'orange',
  dload: 'purple',
  memburst: 'blue',
  iotracing: 'green',
};

/** "sys_percent 62.0% > 45.0% (baseline 8.0%, +54.0)" */
export function TriggerLine({ trigger }: { trigger: Trigger }) {
  const s = useStyles2(getStyles);
  if (trigger.metric === 'manual') {
    // the agent's manual captures (POST /api/v1/captures) carry metric "manual" and zeros: no threshold was crossed
    return (
      <span className={s.trigger} data-testid="trigger-line">
        <code>manual</code> capture <span className={s.weak}>(no detector threshold crossed)</span>
      </span>
    );
  }
  return (
    <span className={s.trigger} data-testid="trigger-line">
      <code>{trigger.metric}</code> <strong>{fmtMetric(trigger.metric, trigger.value)}</strong>
      {' > '}
      {fmtMetric(trigger.metric, trigger.threshold)} threshold
      <span className={s.weak}>
        {' '}
        (baseline {fmtMetric(trigger.metric, trigger.baseline)}, Δ {trigger.delta >= 0 ? '+' : ''}
        {fmtMetric(trigger.metric, trigger.delta)})
      </span>
    </span>
  );
}

export function ContainerInfo({ container }: { container: ContainerRef | null }) {
  if (!container) {
    return <Text color="secondary">host (no container)</Text>;
  }
  const details = [
    container.pod && `pod ${container.namespace ? `${container.namespace}/` : ''}${container.pod}`,
    container.qos && `QoS ${container.qos}`,
    container.runtime,
  ].filter(Boolean);
  return (
    <Tooltip content={`${container.id}\n${container.cgroup}`} placement="bottom">
      <span data-testid="container-info">
        <strong>{containerLabel(container)}</strong>
        {details.length > 0 && <Text color="secondary"> · {details.join(' · ')}</Text>}
      </span>
    </Tooltip>
  );
}

/** Processes behind a capture, from its evidence: who was on CPU, who grew, who did the IO, who was stuck. */
export function processContext(event: FleetEvent): string[] {
  const ev = parseEvidence(event.data);
  const fmtProc = (p: { pid: number; comm: string }) => `${p.comm} (${p.pid})`;
  if (ev.cpuProcesses.length) {
    return [...ev.cpuProcesses]
      .filter((p) => p.samples > 0)
      .sort((a, b) => b.samples - a.samples)
      .slice(0, 3)
      .map((p) => `${fmtProc(p)} ${Math.round(cpuShare(p, ev.cpuProcesses))}%`);
  }
  if (ev.growers.length) {
    return ev.growers.slice(0, 3).map(fmtProc);
  }
  if (ev.ioProcesses.length) {
    return ev.ioProcesses.slice(0, 3).map(fmtProc);
  }
  if (ev.tasks.length) {
    return [...new Set(ev.tasks.map((t) => t.comm))].slice(0, 3);
  }
  return [];
}

/** Why the capture happened, where, and what it holds. */
export function EventHeader({ event, compact = false }: { event: FleetEvent; compact?: boolean }) {
  const s = useStyles2(getStyles);
  const procs = processContext(event);
  return (
    <div className={s.header} data-testid="event-header">
      <Stack direction="row" gap={1} alignItems="center" wrap="wrap">
        <Badge text={event.type} color={TYPE_BADGE_COLORS[event.type] ?? 'blue'} />
        <strong>{event.host}</strong>
        <ContainerInfo container={event.container} />
        <Text color="secondary">
          {fmtTime(event.time)} · {fmtDuration(event.time, event.timeEnd)} window
        </Text>
        {event.status !== 'complete' && <Badge text={event.status} color={STATUS_COLORS[event.status] ?? 'blue'} />}
      </Stack>
      <div className={s.reason} data-testid="trigger-reason">
        {event.trigger.reason}
      </div>
      <Stack direction="row" gap={2} wrap="wrap">
        <TriggerLine trigger={event.trigger} />
        {procs.length > 0 && (
          <span data-testid="process-context">
            <Text color="secondary">processes: </Text>
            {procs.join(', ')}
          </span>
        )}
      </Stack>
      {!compact && event.error && (
        <Alert severity={event.status === 'failed' ? 'error' : 'warning'} title="Capture incomplete">
          {event.error}
        </Alert>
      )}
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  header: css({
    display: 'flex',
    flexDirection: 'column',
    gap: theme.spacing(0.5),
    padding: theme.spacing(1),
    borderBottom: `1px solid ${theme.colors.border.weak}`,
    marginBottom: theme.spacing(1),
  }),
  reason: css({
    fontSize: theme.typography.h5.fontSize,
  }),
  trigger: css({
    code: { fontSize: theme.typography.bodySmall.fontSize },
  }),
  weak: css({
    color: theme.colors.text.secondary,
  }),
});
