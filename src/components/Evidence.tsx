import React, { useState } from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { Alert, Badge, Collapse, LoadingPlaceholder, RadioButtonGroup, Stack, Text, useStyles2 } from '@grafana/ui';

import {
  type ContainerMemory,
  type CpuProcess,
  type IoDevice,
  type IoProcess,
  type IoStall,
  type LatencyHistogram,
  type MemoryGrower,
  type StuckTask,
  containerLabel,
  cpuShare,
  groupByStack,
} from '../datasource/evidence';
import type { AutotracingResources, FleetEvent, FlamegraphRef } from '../datasource/resources';
import { rowsFromNested } from '../panels/flamegraph/frame';
import { CaptureFlameGraph } from './CaptureFlameGraph';
import { getTableStyles } from './EventsTable';
import { fmt, fmtBps, fmtBytes, fmtMs, fmtUs } from './format';
import { StackedBars } from './StackedBars';
import { useLoad } from './useLoad';

export function Section({ title, children, testId }: { title: string; children: React.ReactNode; testId?: string }) {
  const s = useStyles2(getStyles);
  return (
    <section className={s.section} data-testid={testId}>
      <Text element="h3">{title}</Text>
      {children}
    </section>
  );
}

/** The event's stored flame graphs (cpu, offcpu, alloc, …); `before` is offered as a diff baseline instead. */
export function FlameGraphSection({
  event,
  refs,
  resources,
}: {
  event: FleetEvent;
  refs: FlamegraphRef[];
  resources: AutotracingResources;
}) {
  const shown = refs.filter((r) => r.name !== 'before');
  const [profile, setProfile] = useState(shown[0]?.name);
  const ref = shown.find((r) => r.name === profile) ?? shown[0];
  const nested = useLoad(
    () => (ref ? resources.flamegraph(event.id, { profile: ref.name }) : undefined),
    [resources, event.id, ref?.name]
  );
  if (!ref) {
    return null;
  }
  return (
    <Section title="Flame graph" testId="flamegraph-section">
      {shown.length > 1 && (
        <RadioButtonGroup<string>
          size="sm"
          options={shown.map((r) => ({ label: r.title, value: r.name, description: `${r.stacks} stacks` }))}
          value={ref.name}
          onChange={setProfile}
        />
      )}
      <Text color="secondary" variant="bodySmall">
        {ref.title}: {fmt(ref.unit === 'nanoseconds' ? 'ns' : ref.unit === 'bytes' ? 'bytes' : 'short', ref.total, 1)}{' '}
        {ref.unit === 'samples' ? 'samples' : ''} in {ref.stacks} distinct stacks
      </Text>
      {nested.error && <Alert title="Flame graph could not be loaded">{nested.error}</Alert>}
      {nested.loading && !nested.value && <LoadingPlaceholder text="Loading flame graph…" />}
      {nested.value && (
        <CaptureFlameGraph
          rows={rowsFromNested(nested.value)}
          unit={nested.value.unit}
          eventId={event.id}
          profile={ref.name}
          resources={resources}
          showHeader={false}
        />
      )}
    </Section>
  );
}

function Proc({ p }: { p: { pid: number; comm: string; cmdline?: string } }) {
  return (
    <span title={p.cmdline}>
      <strong>{p.comm}</strong> <Text color="secondary">({p.pid})</Text>
    </span>
  );
}

export function CpuProcesses({ processes }: { processes: CpuProcess[] }) {
  const s = useStyles2(getStyles);
  return (
    <Section title="Processes on CPU" testId="cpu-processes">
      <table className={s.table}>
        <thead>
          <tr>
            <th>Process</th>
            <th>Container</th>
            <th className="num">Samples</th>
            <th className="num">Share</th>
            <th>Command line</th>
          </tr>
        </thead>
        <tbody>
          {[...processes]
            .sort((a, b) => b.samples - a.samples)
            .map((p) => (
              <tr key={p.pid}>
                <td>
                  <Proc p={p} />
                </td>
                <td>{containerLabel(p.container)}</td>
                <td className="num">{p.samples}</td>
                <td className="num">{fmt('percent', cpuShare(p, processes), 1)}</td>
                <td className={s.cmd}>{p.cmdline}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </Section>
  );
}

/** dload: D-state tasks grouped by identical kernel stack, biggest group first. */
export function StuckTasks({ tasks, knownIssue }: { tasks: StuckTask[]; knownIssue: string | null }) {
  const s = useStyles2(getStyles);
  const groups = groupByStack(tasks);
  const [open, setOpen] = useState<Record<number, boolean>>({ 0: true });
  return (
    <Section title={`Stuck tasks: ${tasks.length} in ${groups.length} distinct stacks`} testId="stuck-tasks">
      {knownIssue && (
        <div>
          <Badge color="purple" icon="bug" text={`known issue: ${knownIssue}`} />
        </div>
      )}
      {groups.map((g, i) => {
        const comms = [...new Set(g.tasks.map((t) => t.comm))];
        const containers = [...new Set(g.tasks.map((t) => containerLabel(t.container)).filter(Boolean))];
        return (
          <Collapse
            key={i}
            isOpen={Boolean(open[i])}
            onToggle={() => setOpen((o) => ({ ...o, [i]: !o[i] }))}
            label={
              <span data-testid="stack-group">
                <strong>{g.tasks.length}</strong> task{g.tasks.length === 1 ? '' : 's'} in{' '}
                <code>{g.stack[0] ?? '(no stack)'}</code> — {comms.slice(0, 4).join(', ')}
                {comms.length > 4 ? ` +${comms.length - 4}` : ''}
                {g.maxBlockedMs !== undefined && <Text color="secondary"> · blocked up to {fmtMs(g.maxBlockedMs)}</Text>}
              </span>
            }
          >
            <Stack direction="row" gap={2} wrap="wrap">
              <pre className={s.stack} data-testid="stack-text">
                {g.stack.join('\n')}
              </pre>
              <table className={s.table}>
                <thead>
                  <tr>
                    <th>Task</th>
                    <th>Container</th>
                    <th>Wait channel</th>
                    <th className="num">Blocked</th>
                  </tr>
                </thead>
                <tbody>
                  {g.tasks.map((t) => (
                    <tr key={t.tid}>
                      <td>
                        <Proc p={t} />
                        {t.tid !== t.pid && <Text color="secondary"> tid {t.tid}</Text>}
                      </td>
                      <td>{containerLabel(t.container)}</td>
                      <td>{t.wchan}</td>
                      <td className="num">{fmtMs(t.blockedMs)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Stack>
            {containers.length > 0 && <Text color="secondary">containers: {containers.join(', ')}</Text>}
          </Collapse>
        );
      })}
    </Section>
  );
}

/** memburst: who grew most during the burst (not who is biggest). */
export function MemoryGrowers({ growers, containers }: { growers: MemoryGrower[]; containers: ContainerMemory[] }) {
  const s = useStyles2(getStyles);
  const sorted = [...growers].sort((a, b) => b.growthBytes - a.growthBytes);
  return (
    <Section title="Top memory growers" testId="memory-growers">
      <table className={s.table}>
        <thead>
          <tr>
            <th>#</th>
            <th>Process</th>
            <th>Container</th>
            <th className="num">Growth</th>
            <th className="num">RSS now</th>
            <th>Command line</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((g, i) => (
            <tr key={g.pid} data-testid="grower-row">
              <td>{i + 1}</td>
              <td>
                <Proc p={g} />
              </td>
              <td>{containerLabel(g.container)}</td>
              <td className="num">+{fmtBytes(g.growthBytes)}</td>
              <td className="num">{fmtBytes(g.rssBytes)}</td>
              <td className={s.cmd}>{g.cmdline}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {containers.length > 0 && (
        <table className={s.table}>
          <thead>
            <tr>
              <th>Container</th>
              <th className="num">Growth</th>
              <th className="num">Usage</th>
            </tr>
          </thead>
          <tbody>
            {[...containers]
              .sort((a, b) => b.growthBytes - a.growthBytes)
              .map((c, i) => (
                <tr key={i}>
                  <td>{containerLabel(c.container) || 'host'}</td>
                  <td className="num">+{fmtBytes(c.growthBytes)}</td>
                  <td className="num">{fmtBytes(c.usageBytes)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

const rate = (x: { readBps?: number; writeBps?: number }) => (x.readBps ?? 0) + (x.writeBps ?? 0);

function histogramLabel(le: number, unit: string): string {
  if (!Number.isFinite(le)) {
    return '+Inf';
  }
  return fmt(unit === 'ms' ? 'ms' : unit === 'ns' ? 'ns' : 'µs', le, 0);
}

/** A latency histogram (one series per operation: read, write, …) as bars over the bucket bounds. */
export function LatencyChart({ latency }: { latency: Record<string, LatencyHistogram> }) {
  const ops = Object.keys(latency);
  const first = latency[ops[0]];
  if (!first) {
    return null;
  }
  const bounds = [...new Set(ops.flatMap((op) => latency[op].buckets.map((b) => b.le)))].sort((a, b) => a - b);
  return (
    <StackedBars
      title="IO latency histogram (requests per latency bucket, ≤ bound)"
      buckets={bounds.map((le) => histogramLabel(le, first.unit))}
      formatBucket={(b) => `≤ ${b}`}
      series={ops.map((op) => ({
        name: op === 'all' ? 'requests' : op,
        values: bounds.map((le) => latency[op].buckets.find((b) => b.le === le)?.count ?? 0),
      }))}
    />
  );
}

export function IoEvidence({
  device,
  processes,
  latency,
  stalls,
}: {
  device: IoDevice | null;
  processes: IoProcess[];
  latency: Record<string, LatencyHistogram>;
  stalls: IoStall[];
}) {
  const s = useStyles2(getStyles);
  const files = processes
    .flatMap((p) => p.files.map((f) => ({ ...f, proc: p })))
    .sort((a, b) => rate(b) - rate(a));
  return (
    <>
      {device && (
        <Section title={`Device ${device.name}${device.major !== undefined ? ` (${device.major}:${device.minor})` : ''}`} testId="io-device">
          <Stack direction="row" gap={3} wrap="wrap">
            <span>util {fmt('percent', device.util, 1)}</span>
            <span>r_await {fmtMs(device.readAwaitMs)}</span>
            <span>w_await {fmtMs(device.writeAwaitMs)}</span>
            <span>read {fmtBps(device.readBps)}</span>
            <span>write {fmtBps(device.writeBps)}</span>
            <span>queue {fmt('none', device.queueSize, 1)}</span>
          </Stack>
        </Section>
      )}
      {Object.keys(latency).length > 0 && (
        <Section title="Latency" testId="io-latency">
          <LatencyChart latency={latency} />
        </Section>
      )}
      <Section title="IO by process" testId="io-processes">
        <table className={s.table}>
          <thead>
            <tr>
              <th>Process</th>
              <th>Container</th>
              <th className="num">Read</th>
              <th className="num">Written</th>
              <th className="num">Disk read</th>
              <th className="num">Disk written</th>
              <th className="num">Files</th>
            </tr>
          </thead>
          <tbody>
            {[...processes]
              .sort((a, b) => rate(b) - rate(a))
              .map((p) => (
                <tr key={p.pid} data-testid="io-process-row">
                  <td>
                    <Proc p={p} /> {p.writeback && <Badge color="blue" text="writeback" />}
                  </td>
                  <td>{containerLabel(p.container)}</td>
                  <td className="num">{fmtBps(p.readBps)}</td>
                  <td className="num">{fmtBps(p.writeBps)}</td>
                  <td className="num">{fmtBps(p.diskReadBps)}</td>
                  <td className="num">{fmtBps(p.diskWriteBps)}</td>
                  <td className="num">{p.files.length}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </Section>
      <Section title="IO by file" testId="io-files">
        <table className={s.table}>
          <thead>
            <tr>
              <th>File</th>
              <th>Process</th>
              <th>Device</th>
              <th className="num">Read</th>
              <th className="num">Written</th>
              <th className="num" title="queue to completion, average / max">Q2C</th>
              <th className="num" title="device (dispatch to completion), average / max">D2C</th>
            </tr>
          </thead>
          <tbody>
            {files.map((f, i) => (
              <tr key={i} data-testid="io-file-row">
                <td className={s.path}>
                  {f.path} {f.direct && <Badge color="purple" text="direct" />}
                </td>
                <td>
                  <Proc p={f.proc} />
                </td>
                <td>
                  {f.device}
                  {f.inode !== undefined && <Text color="secondary"> ino {f.inode}</Text>}
                </td>
                <td className="num">{fmtBps(f.readBps)}</td>
                <td className="num">{fmtBps(f.writeBps)}</td>
                <td className="num">
                  {fmtUs(f.q2cUs)} / {fmtUs(f.maxQ2cUs)}
                </td>
                <td className="num">
                  {fmtUs(f.d2cUs)} / {fmtUs(f.maxD2cUs)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      {stalls.length > 0 && (
        <Section title={`Tasks waiting on IO: ${stalls.length}`} testId="io-stalls">
          {stalls.map((st, i) => (
            <div key={i}>
              <Proc p={st} /> waited {fmtMs(st.latencyMs)} {containerLabel(st.container)}
              <pre className={s.stack}>{st.stack.join('\n')}</pre>
            </div>
          ))}
        </Section>
      )}
    </>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  section: css({
    display: 'flex',
    flexDirection: 'column',
    gap: theme.spacing(1),
    marginBottom: theme.spacing(3),
  }),
  table: getTableStyles(theme),
  stack: css({
    fontSize: theme.typography.bodySmall.fontSize,
    margin: 0,
    maxHeight: 360,
    overflow: 'auto',
    minWidth: 320,
  }),
  cmd: css({
    fontFamily: theme.typography.fontFamilyMonospace,
    maxWidth: 480,
    overflow: 'hidden',
    textOverflow: 'ellipsis',
    whiteSpace: 'nowrap',
  }),
  path: css({ fontFamily: theme.typography.fontFamilyMonospace, wordBreak: 'break-all' }),
});
