// Query results → frames. Mapping (one place):
//   events      table frame, one row per event; also the annotation frame (time, timeEnd, title, text,
//               tags, id) — preferredVisualisationType "table".
//   counts      timeseries-multi: one frame per series, fields time + count (float64) whose labels are
//               host/type(/container); meta.type "timeseries-multi", typeVersion [0,1].
//   flamegraph  nested-set frame: label, level, value, self, kind; preferredVisualisationType "flamegraph".
//   dstate/io/memory  tables of the evidence rows of dload / iotracing / memburst events
//               (src/backend/evidence/shapes.ts reads them; src/backend/README.md lists the columns).
import type { AutotracingEvent } from '../../../agent/src/events/event';
import type { CountsResponse } from '../../../agent/src/api/schemas';
import type { AgentFailure } from '../agents/fanout';
import { failureSummary } from '../agents/fanout';
import type { DStateGroupRow, DStateRow, IoRow, MemoryContainerRow, MemoryRow } from '../evidence/shapes';
import { grafanaUnit, type FlameRows } from '../flamegraph/nested';
import { addNotice, field, type Frame, type FrameMeta } from '../frames/frame';
import type { EventWithAgent } from './fetch';

export function containerLabel(c: AutotracingEvent['container']): string {
  if (!c) return '';
  return c.name ?? c.pod ?? c.id;
}

/** Title, text and tags of an event as Grafana annotations show them. */
export function annotationOf(e: AutotracingEvent): { title: string; text: string; tags: string } {
  const where = containerLabel(e.container);
  const title = `${e.type} on ${e.host}${where ? ` / ${where}` : ''}`;
  const reason = e.trigger.reason && e.trigger.reason !== e.summary ? `\n${e.trigger.reason}` : '';
  const status = e.status === 'complete' ? '' : ` [${e.status}${e.error ? `: ${e.error}` : ''}]`;
  const tags = [e.type, e.host, where].filter((t) => t !== '').map((t) => t.replace(/,/g, ' '));
  return { title, text: `${e.summary}${status}${reason}`, tags: tags.join(',') };
}

export function eventsFrame(refId: string, rows: readonly EventWithAgent[]): Frame {
  const ev = rows.map((r) => r.event);
  const ann = ev.map(annotationOf);
  return {
    name: 'events',
    refId,
    meta: { preferredVisualisationType: 'table', custom: { count: ev.length } },
    fields: [
      field(
        'time',
        'time',
        ev.map((e) => e.time)
      ),
      field(
        'timeEnd',
        'time',
        ev.map((e) => e.timeEnd)
      ),
      field(
        'id',
        'string',
        ev.map((e) => e.id)
      ),
      field(
        'type',
        'string',
        ev.map((e) => e.type)
      ),
      field(
        'host',
        'string',
        ev.map((e) => e.host)
      ),
      field(
        'container',
        'string',
        ev.map((e) => containerLabel(e.container))
      ),
      field(
        'status',
        'string',
        ev.map((e) => e.status)
      ),
      field(
        'title',
        'string',
        ann.map((a) => a.title)
      ),
      field(
        'text',
        'string',
        ann.map((a) => a.text)
      ),
      field(
        'tags',
        'string',
        ann.map((a) => a.tags)
      ),
      field(
        'summary',
        'string',
        ev.map((e) => e.summary)
      ),
      field(
        'reason',
        'string',
        ev.map((e) => e.trigger.reason)
      ),
      field(
        'metric',
        'string',
        ev.map((e) => e.trigger.metric)
      ),
      field(
        'value',
        'float64',
        ev.map((e) => e.trigger.value)
      ),
      field(
        'threshold',
        'float64',
        ev.map((e) => e.trigger.threshold)
      ),
      field(
        'baseline',
        'float64',
        ev.map((e) => e.trigger.baseline)
      ),
      field(
        'containerId',
        'string',
        ev.map((e) => e.container?.id ?? '')
      ),
      field(
        'pod',
        'string',
        ev.map((e) => e.container?.pod ?? '')
      ),
      field(
        'namespace',
        'string',
        ev.map((e) => e.container?.namespace ?? '')
      ),
      field(
        'agent',
        'string',
        rows.map((r) => r.agent)
      ),
      field(
        'error',
        'string',
        ev.map((e) => e.error ?? '')
      ),
    ],
  };
}

export interface CountSeries {
  labels: Record<string, string>;
  values: Map<number, number>;
}

function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]])
  );
}

/**
 * Merges the agents' counts into series keyed by label set (host always, plus type and/or container),
 * summing series that coincide; with `zeroFill` every (host, type) pair gets a series even without
 * events, so an alert rule sees 0 rather than "no data".
 */
export function mergeCounts(
  responses: ReadonlyArray<{ counts: CountsResponse }>,
  opts: { by: 'type' | 'container'; types: readonly string[]; container: string | null; zeroFill: boolean }
): { buckets: number[]; series: CountSeries[] } {
  const bucketSet = new Set<number>();
  const series = new Map<string, CountSeries>();
  const ensure = (labels: Record<string, string>): CountSeries => {
    const k = seriesKey(labels);
    let s = series.get(k);
    if (!s) {
      s = { labels, values: new Map() };
      series.set(k, s);
    }
    return s;
  };
  for (const { counts } of responses) {
    counts.buckets.forEach((b) => bucketSet.add(b));
    for (const s of counts.series) {
      const labels: Record<string, string> = { ...s.labels, host: counts.host };
      if (opts.container && labels.container === undefined) labels.container = opts.container;
      if (opts.by === 'container' && opts.types.length === 1 && labels.type === undefined) labels.type = opts.types[0]!;
      const target = ensure(labels);
      s.values.forEach((v, i) => {
        const t = counts.buckets[i];
        if (t === undefined) return;
        target.values.set(t, (target.values.get(t) ?? 0) + (Number.isFinite(v) ? v : 0));
      });
    }
    if (opts.zeroFill && opts.by === 'type') {
      for (const type of opts.types) {
        const labels: Record<string, string> = { type, host: counts.host };
        if (opts.container) labels.container = opts.container;
        ensure(labels);
      }
    }
  }
  const buckets = [...bucketSet].sort((a, b) => a - b);
  const ordered = [...series.values()].sort((a, b) => (seriesKey(a.labels) < seriesKey(b.labels) ? -1 : 1));
  return { buckets, series: ordered };
}

/** Merges every `factor` adjacent buckets into one (counts add up, so totals are unchanged). */
export function coarsenCounts(
  merged: { buckets: number[]; series: CountSeries[] },
  factor: number
): { buckets: number[]; series: CountSeries[] } {
  if (factor <= 1 || merged.buckets.length === 0) return merged;
  const index = new Map<number, number>();
  const buckets: number[] = [];
  merged.buckets.forEach((b, i) => {
    const j = Math.floor(i / factor);
    if (buckets.length <= j) buckets.push(b);
    index.set(b, buckets[j]!);
  });
  const series = merged.series.map((s) => {
    const values = new Map<number, number>();
    for (const [t, v] of s.values) {
      const to = index.get(t);
      if (to !== undefined) values.set(to, (values.get(to) ?? 0) + v);
    }
    return { labels: s.labels, values };
  });
  return { buckets, series };
}

export const TIMESERIES_MULTI: FrameMeta = { type: 'timeseries-multi', typeVersion: [0, 1] };

export function countsFrames(
  refId: string,
  merged: { buckets: number[]; series: CountSeries[] },
  stepMs: number
): Frame[] {
  if (merged.series.length === 0) {
    return [
      {
        name: 'count',
        refId,
        meta: { ...TIMESERIES_MULTI, custom: { stepMs } },
        fields: [field('time', 'time', []), field('count', 'float64', [])],
      },
    ];
  }
  return merged.series.map((s, i) => {
    const display = [s.labels.type, s.labels.container, s.labels.host].filter(Boolean).join(' · ');
    return {
      name: 'count',
      refId,
      meta: i === 0 ? { ...TIMESERIES_MULTI, custom: { stepMs } } : TIMESERIES_MULTI,
      fields: [
        field('time', 'time', merged.buckets),
        field(
          'count',
          'float64',
          merged.buckets.map((b) => s.values.get(b) ?? 0),
          { labels: s.labels, config: { displayNameFromDS: display || 'captures' } }
        ),
      ],
    };
  });
}

export function flamegraphFrame(refId: string, rows: FlameRows, unit: string, custom: Record<string, unknown>): Frame {
  return {
    name: 'flamegraph',
    refId,
    meta: { preferredVisualisationType: 'flamegraph', custom: { unit, ...custom } },
    fields: [
      field('label', 'string', rows.label),
      field('level', 'int64', rows.level),
      field('value', 'float64', rows.value, { config: { unit: grafanaUnit(unit) } }),
      field('self', 'float64', rows.self, { config: { unit: grafanaUnit(unit) } }),
      field('kind', 'string', rows.kind),
    ],
  };
}

interface EvidenceBase {
  event: AutotracingEvent;
}

function baseFields<R>(rows: ReadonlyArray<EvidenceBase & { row: R }>): ReturnType<typeof field>[] {
  return [
    field(
      'time',
      'time',
      rows.map((r) => r.event.time)
    ),
    field(
      'eventId',
      'string',
      rows.map((r) => r.event.id)
    ),
    field(
      'host',
      'string',
      rows.map((r) => r.event.host)
    ),
  ];
}

export function dstateFrame(refId: string, rows: ReadonlyArray<EvidenceBase & { row: DStateRow }>): Frame {
  const x = rows.map((r) => r.row);
  return {
    name: 'dstate',
    refId,
    meta: { preferredVisualisationType: 'table' },
    fields: [
      ...baseFields(rows),
      field(
        'container',
        'string',
        x.map((r) => r.container)
      ),
      field(
        'pid',
        'int64',
        x.map((r) => r.pid)
      ),
      field(
        'tid',
        'int64',
        x.map((r) => r.tid)
      ),
      field(
        'comm',
        'string',
        x.map((r) => r.comm)
      ),
      field(
        'state',
        'string',
        x.map((r) => r.state)
      ),
      field(
        'wchan',
        'string',
        x.map((r) => r.wchan)
      ),
      field(
        'blocked',
        'float64',
        x.map((r) => r.blockedMs),
        { config: { unit: 'ms' } }
      ),
      field(
        'knownIssue',
        'string',
        x.map((r) => r.knownIssue)
      ),
      field(
        'group',
        'int64',
        x.map((r) => r.group)
      ),
      field(
        'sameStack',
        'int64',
        x.map((r) => r.sameStack)
      ),
      field(
        'inScope',
        'bool',
        x.map((r) => r.inScope)
      ),
      field(
        'stillBlocked',
        'bool',
        x.map((r) => r.stillBlocked)
      ),
      field(
        'iowait',
        'bool',
        x.map((r) => r.iowait)
      ),
      field(
        'stack',
        'string',
        x.map((r) => r.stack)
      ),
      field(
        'command',
        'string',
        x.map((r) => r.command)
      ),
      field(
        'blockedSource',
        'string',
        x.map((r) => r.blockedSource)
      ),
      field(
        'containerId',
        'string',
        x.map((r) => r.containerId)
      ),
    ],
  };
}

/** dstate with `by: "stack"`: one row per stack group of each capture. */
export function dstateGroupFrame(refId: string, rows: ReadonlyArray<EvidenceBase & { row: DStateGroupRow }>): Frame {
  const x = rows.map((r) => r.row);
  return {
    name: 'dstate stacks',
    refId,
    meta: { preferredVisualisationType: 'table' },
    fields: [
      ...baseFields(rows),
      field(
        'scope',
        'string',
        rows.map((r) => containerLabel(r.event.container) || 'host')
      ),
      field(
        'group',
        'int64',
        x.map((r) => r.group)
      ),
      field(
        'count',
        'int64',
        x.map((r) => r.count)
      ),
      field(
        'inScopeCount',
        'int64',
        x.map((r) => r.inScopeCount)
      ),
      field(
        'wchan',
        'string',
        x.map((r) => r.wchan)
      ),
      field(
        'knownIssue',
        'string',
        x.map((r) => r.knownIssue)
      ),
      field(
        'maxBlocked',
        'float64',
        x.map((r) => r.maxBlockedMs),
        { config: { unit: 'ms' } }
      ),
      field(
        'comms',
        'string',
        x.map((r) => r.comms)
      ),
      field(
        'pids',
        'string',
        x.map((r) => r.pids)
      ),
      field(
        'stack',
        'string',
        x.map((r) => r.stack)
      ),
    ],
  };
}

export function memoryFrames(
  refId: string,
  procs: ReadonlyArray<EvidenceBase & { row: MemoryRow }>,
  containers: ReadonlyArray<EvidenceBase & { row: MemoryContainerRow }>
): Frame[] {
  const x = procs.map((r) => r.row);
  const bytes = { config: { unit: 'bytes' } };
  const frames: Frame[] = [
    {
      name: 'memory',
      refId,
      meta: { preferredVisualisationType: 'table' },
      fields: [
        ...baseFields(procs),
        field(
          'rank',
          'int64',
          x.map((r) => r.rank)
        ),
        field(
          'pid',
          'int64',
          x.map((r) => r.pid)
        ),
        field(
          'comm',
          'string',
          x.map((r) => r.comm)
        ),
        field(
          'container',
          'string',
          x.map((r) => r.container)
        ),
        field(
          'growth',
          'float64',
          x.map((r) => r.growthBytes),
          bytes
        ),
        field(
          'rss',
          'float64',
          x.map((r) => r.rssBytes),
          bytes
        ),
        field(
          'growthAtTrigger',
          'float64',
          x.map((r) => r.growthAtTriggerBytes),
          bytes
        ),
        field(
          'startRss',
          'float64',
          x.map((r) => r.startRssBytes),
          bytes
        ),
        field(
          'anon',
          'float64',
          x.map((r) => r.anonBytes),
          bytes
        ),
        field(
          'anonGrowth',
          'float64',
          x.map((r) => r.anonGrowthBytes),
          bytes
        ),
        field(
          'alloc',
          'float64',
          x.map((r) => r.allocBytes),
          bytes
        ),
        field(
          'exited',
          'bool',
          x.map((r) => r.exited)
        ),
        field(
          'command',
          'string',
          x.map((r) => r.command)
        ),
        field(
          'containerId',
          'string',
          x.map((r) => r.containerId)
        ),
      ],
    },
  ];
  if (containers.length > 0) {
    const c = containers.map((r) => r.row);
    frames.push({
      name: 'memory containers',
      refId,
      meta: { preferredVisualisationType: 'table' },
      fields: [
        ...baseFields(containers),
        field(
          'container',
          'string',
          c.map((r) => r.container)
        ),
        field(
          'processes',
          'int64',
          c.map((r) => r.processes)
        ),
        field(
          'growth',
          'float64',
          c.map((r) => r.growthBytes),
          bytes
        ),
        field(
          'rss',
          'float64',
          c.map((r) => r.rssBytes),
          bytes
        ),
        field(
          'usage',
          'float64',
          c.map((r) => r.usageBytes),
          bytes
        ),
        field(
          'usageGrowth',
          'float64',
          c.map((r) => r.usageGrowthBytes),
          bytes
        ),
        field(
          'limit',
          'float64',
          c.map((r) => r.limitBytes),
          bytes
        ),
        field(
          'containerId',
          'string',
          c.map((r) => r.containerId)
        ),
      ],
    });
  }
  return frames;
}

export function ioFrame(refId: string, rows: ReadonlyArray<EvidenceBase & { row: IoRow }>): Frame {
  const x = rows.map((r) => r.row);
  const bps = { config: { unit: 'Bps' } };
  const us = { config: { unit: 'µs' } };
  return {
    name: 'io',
    refId,
    meta: { preferredVisualisationType: 'table' },
    fields: [
      ...baseFields(rows),
      field(
        'device',
        'string',
        x.map((r) => r.device)
      ),
      field(
        'pid',
        'int64',
        x.map((r) => r.pid)
      ),
      field(
        'comm',
        'string',
        x.map((r) => r.comm)
      ),
      field(
        'container',
        'string',
        x.map((r) => r.container)
      ),
      field(
        'path',
        'string',
        x.map((r) => r.path)
      ),
      field(
        'readBps',
        'float64',
        x.map((r) => r.readBps),
        bps
      ),
      field(
        'writeBps',
        'float64',
        x.map((r) => r.writeBps),
        bps
      ),
      field(
        'diskReadBps',
        'float64',
        x.map((r) => r.diskReadBps),
        bps
      ),
      field(
        'diskWriteBps',
        'float64',
        x.map((r) => r.diskWriteBps),
        bps
      ),
      field(
        'q2c',
        'float64',
        x.map((r) => r.q2cUs),
        us
      ),
      field(
        'maxQ2c',
        'float64',
        x.map((r) => r.maxQ2cUs),
        us
      ),
      field(
        'd2c',
        'float64',
        x.map((r) => r.d2cUs),
        us
      ),
      field(
        'maxD2c',
        'float64',
        x.map((r) => r.maxD2cUs),
        us
      ),
      field(
        'direct',
        'bool',
        x.map((r) => r.direct)
      ),
      field(
        'writeback',
        'bool',
        x.map((r) => r.writeback)
      ),
      field(
        'label',
        'string',
        x.map((r) => r.label)
      ),
      field(
        'owner',
        'string',
        x.map((r) => r.owner)
      ),
      field(
        'chargedVia',
        'string',
        x.map((r) => r.chargedVia)
      ),
      field(
        'submittedBy',
        'string',
        x.map((r) => r.submittedBy)
      ),
      field(
        'kind',
        'string',
        x.map((r) => r.kind)
      ),
      field(
        'inode',
        'int64',
        x.map((r) => r.inode)
      ),
      field(
        'readOps',
        'int64',
        x.map((r) => r.readOps)
      ),
      field(
        'writeOps',
        'int64',
        x.map((r) => r.writeOps)
      ),
      field(
        'exited',
        'bool',
        x.map((r) => r.exited)
      ),
      field(
        'command',
        'string',
        x.map((r) => r.command)
      ),
      field(
        'containerId',
        'string',
        x.map((r) => r.containerId)
      ),
    ],
  };
}

/** Puts a warning naming the failed agents on the first frame (Grafana shows frame notices). */
export function noteFailures(frames: Frame[], failed: readonly AgentFailure[], total: number): void {
  if (failed.length === 0 || frames.length === 0) return;
  addNotice(frames[0]!, { severity: 'warning', text: failureSummary(failed, total) });
  frames[0]!.meta = {
    ...(frames[0]!.meta ?? {}),
    custom: {
      ...(frames[0]!.meta?.custom ?? {}),
      failedAgents: failed.map((f) => ({ agent: f.agent, url: f.url, reason: f.reason })),
    },
  };
}
