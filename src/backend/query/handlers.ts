// QueryData: one handler per query type. Each returns frames or throws QueryError; runQueries turns
// every DataQuery into a DataResponse (never a thrown gRPC error).
import { TRACER_TYPES, type TracerType } from '../../../agent/src/events/event';
import type { MergedFlamegraph, NestedFlamegraph } from '../../../agent/src/api/schemas';
import { AgentError, type AgentClient } from '../agents/client';
import { fanOut, type AgentFailure } from '../agents/fanout';
import {
  EVIDENCE_TYPE,
  dstateGroupRows,
  dstateRows,
  ioRows,
  memoryContainerRows,
  memoryRows,
} from '../evidence/shapes';
import {
  FlamegraphShapeError,
  MAX_FRAME_NODES,
  mergeGraphs,
  nestedToRows,
  pruneTree,
  rowsToTree,
  treeToRows,
  type FlameRows,
} from '../flamegraph/nested';
import { frameToArrow } from '../frames/arrow';
import type { Frame } from '../frames/frame';
import type { DatasourceInstance } from '../instance';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { DataQuery, DataResponse } from '../plugin/messages';
import { SettingsError } from '../settings';
import { ensureSomeAnswered, findEvent, gatherCounts, gatherEvents, selectAgents, type EventWithAgent } from './fetch';
import {
  coarsenCounts,
  countsFrames,
  dstateFrame,
  dstateGroupFrame,
  eventsFrame,
  flamegraphFrame,
  ioFrame,
  memoryFrames,
  mergeCounts,
  noteFailures,
} from './frames';
import { QueryError, parseQuery, type ParsedQuery } from './parse';

export const DEFAULT_EVENTS_LIMIT = 500;
export const DEFAULT_EVIDENCE_EVENTS = 20;
export const DEFAULT_MERGE_EVENTS = 100;
export const MAX_MERGE_EVENTS = 500;
/**
 * Budget for one counts result, and the Arrow framing cost of one series frame (measured). A
 * dashboard may send several queries in one request; an alert rule usually one, so it gets more.
 */
const COUNTS_BUDGET_BYTES = 2 * 1024 * 1024;
const COUNTS_ALERT_BUDGET_BYTES = 3.5 * 1024 * 1024;
const COUNTS_FRAME_OVERHEAD = 900;
/**
 * Grafana's plugin client keeps gRPC's default 4 MiB limit on a received message (it reports
 * ResourceExhausted beyond it), and one oversized QueryDataResponse would fail every refId in it.
 */
export const MAX_QUERY_RESPONSE_BYTES = 4 * 1024 * 1024 - 64 * 1024;
/** Grafana's own cap on points per series. */
const MAX_BUCKETS = 11_000;

interface Ctx {
  inst: DatasourceInstance;
  signal?: AbortSignal;
  log: Logger;
  /** the request came from an alert rule (header FromAlert: true) */
  fromAlert?: boolean;
}

/** Bucket width for counts: the panel's interval, enough to stay under maxDataPoints, whole seconds. */
export function countsStep(q: Pick<ParsedQuery, 'from' | 'to' | 'intervalMs' | 'maxDataPoints'>): number {
  const range = Math.max(q.to - q.from, 1);
  let step = Math.max(q.intervalMs, 1000);
  if (q.maxDataPoints > 0) step = Math.max(step, Math.ceil(range / q.maxDataPoints));
  step = Math.max(step, Math.ceil(range / MAX_BUCKETS));
  return Math.ceil(step / 1000) * 1000;
}

async function eventsQuery(q: ParsedQuery, ctx: Ctx): Promise<Frame[]> {
  const g = await gatherEvents(
    ctx.inst,
    {
      from: q.from,
      to: q.to,
      types: q.types,
      hosts: q.hosts,
      container: q.container,
      limit: q.limit ?? DEFAULT_EVENTS_LIMIT,
    },
    ctx.signal
  );
  ensureSomeAnswered(g);
  const frames = [eventsFrame(q.refId, q.eventId ? g.items.filter((r) => r.event.id === q.eventId) : g.items)];
  noteFailures(frames, g.failed, g.agentsAsked);
  return frames;
}

async function countsQuery(q: ParsedQuery, ctx: Ctx): Promise<Frame[]> {
  const requestedStepMs = countsStep(q);
  const g = await gatherCounts(
    ctx.inst,
    {
      from: q.from,
      to: q.to,
      stepMs: requestedStepMs,
      by: q.by,
      types: q.types,
      hosts: q.hosts,
      container: q.container,
    },
    ctx.signal
  );
  ensureSomeAnswered(g);
  const mergedAll = mergeCounts(g.items, {
    by: q.by,
    types: q.types.length > 0 ? q.types : TRACER_TYPES,
    container: q.container,
    zeroFill: true,
  });
  // One frame per series costs about 0.9 KiB of Arrow framing plus 16 bytes a bucket. When a large
  // fleet (or an alert rule's 1 s interval) would pass the budget, two things give: the all-zero
  // series added by zero-filling are left out, and adjacent buckets are merged (counts add up, so
  // totals stay exact). Dashboards keep resolution first (zero series go first); alert rules keep
  // every label set first (buckets widen first), so no instance flips to "no data".
  const budget = ctx.fromAlert ? COUNTS_ALERT_BUDGET_BYTES : COUNTS_BUDGET_BYTES;
  const estimate = (m: { buckets: number[]; series: unknown[] }): number =>
    m.series.length * (COUNTS_FRAME_OVERHEAD + m.buckets.length * 16);
  let dropped = 0;
  let merged = mergedAll;
  let stepMs = requestedStepMs;
  const dropZeroSeries = (): void => {
    if (estimate(merged) <= budget) return;
    const kept = merged.series.filter((s) => [...s.values.values()].some((v) => v !== 0));
    dropped += merged.series.length - kept.length;
    merged = { buckets: merged.buckets, series: kept };
  };
  const widenBuckets = (): void => {
    if (estimate(merged) <= budget || merged.series.length === 0) return;
    const perSeries = budget / merged.series.length - COUNTS_FRAME_OVERHEAD;
    const maxBuckets = Math.max(1, Math.floor(perSeries / 16));
    const factor = Math.ceil(merged.buckets.length / maxBuckets);
    if (factor > 1) {
      merged = coarsenCounts(merged, factor);
      stepMs *= factor;
    }
  };
  if (ctx.fromAlert) {
    widenBuckets();
    dropZeroSeries();
  } else {
    dropZeroSeries();
    widenBuckets();
  }
  const frames = countsFrames(q.refId, merged, stepMs);
  noteFailures(frames, g.failed, g.agentsAsked);
  const infos: string[] = [];
  if (dropped > 0)
    infos.push(`${dropped} series with no captures in this range were left out to keep the response small`);
  if (stepMs !== requestedStepMs)
    infos.push(
      `buckets widened from ${requestedStepMs / 1000} s to ${stepMs / 1000} s to keep ${merged.series.length} series within the response size limit`
    );
  if (infos.length > 0) {
    frames[0]!.meta = {
      ...(frames[0]!.meta ?? {}),
      notices: [...(frames[0]!.meta?.notices ?? []), ...infos.map((text) => ({ severity: 'info' as const, text }))],
    };
  }
  return frames;
}

function notePruned(frame: Frame, pruned: { removed: number; removedValue: number }, total: number): void {
  if (pruned.removed === 0) return;
  const share = total > 0 ? ` (${((100 * pruned.removedValue) / total).toFixed(2)}% of the total)` : '';
  frame.meta = {
    ...(frame.meta ?? {}),
    notices: [
      ...(frame.meta?.notices ?? []),
      {
        severity: 'info',
        text: `${pruned.removed} small nodes folded into their parents${share} to keep the graph under ${MAX_FRAME_NODES} nodes`,
      },
    ],
  };
}

async function flamegraphQuery(q: ParsedQuery, ctx: Ctx): Promise<Frame[]> {
  if (q.eventId) {
    const found = await findEvent(ctx.inst, q.eventId, ctx.signal);
    const profile = q.profile ?? undefined;
    let nested: NestedFlamegraph;
    try {
      nested = await found.client.nestedFlamegraph(q.eventId, profile, { signal: ctx.signal });
    } catch (e) {
      if (e instanceof AgentError && e.kind === 'not_found') {
        throw new QueryError(`event ${q.eventId} has no flame graph${profile ? ` named ${profile}` : ''}`, 404);
      }
      throw e;
    }
    // validate the structure (throws on a malformed graph); keep the agent's own rows unless too many
    let rows: FlameRows = nestedToRows(nested);
    let pruned = { removed: 0, removedValue: 0 };
    try {
      const tree = rowsToTree(rows);
      if (rows.label.length > MAX_FRAME_NODES) {
        pruned = pruneTree(tree, MAX_FRAME_NODES);
        rows = treeToRows(tree);
      }
    } catch (e) {
      if (e instanceof FlamegraphShapeError)
        throw new QueryError(`${found.client.name}: malformed flame graph: ${e.message}`, 502);
      throw e;
    }
    const frames = [
      flamegraphFrame(q.refId, rows, nested.unit, {
        eventId: found.event.id,
        host: found.event.host,
        type: found.event.type,
        profile: profile ?? nested.name,
        total: nested.total,
        agent: found.client.name,
      }),
    ];
    notePruned(frames[0]!, pruned, rows.value[0] ?? 0);
    return frames;
  }

  return mergedFlamegraphQuery(q, ctx);
}

/**
 * Merged over the time range and filters, across events and agents: every agent merges its own
 * matching captures (GET /api/v1/flamegraph, newest first, at most `limit`), then the agents' graphs
 * are merged here by call path. The profile is the one asked for; otherwise each agent picks ("cpu"
 * when it has it, else its most common) and, when they disagree, the fleet's choice ("cpu" if any
 * agent has it, else the one with most events) is asked again from the others.
 */
async function mergedFlamegraphQuery(q: ParsedQuery, ctx: Ctx): Promise<Frame[]> {
  const limit = Math.min(q.limit ?? DEFAULT_MERGE_EVENTS, MAX_MERGE_EVENTS);
  const fleet = await selectAgents(ctx.inst, q.hosts);
  const ask = (client: AgentClient, profile: string | null, signal: AbortSignal): Promise<MergedFlamegraph> =>
    client.mergedFlamegraph(
      {
        from: Math.floor(q.from),
        to: Math.ceil(q.to),
        type: q.types.length > 0 ? q.types.join(',') : undefined,
        container: q.container ?? undefined,
        host: q.hosts.length === 1 ? q.hosts[0] : undefined,
        profile: profile ?? undefined,
        limit,
      },
      { signal }
    );
  const opts = { semaphore: ctx.inst.semaphore, timeoutMs: ctx.inst.settings.timeoutMs, signal: ctx.signal };
  const first = await fanOut(fleet.clients, (c, sig) => ask(c, q.profile, sig), opts);
  const g = {
    failed: [...fleet.failed, ...first.failed],
    agentsAsked: fleet.clients.length,
    agentsAnswered: first.ok.length,
    items: null,
  };
  ensureSomeAnswered(g);

  const hostSet = new Set(q.hosts);
  const got = new Map<string, MergedFlamegraph>();
  for (const r of first.ok) if (r.value.merge.events > 0) got.set(r.agent, r.value);
  let profile = q.profile;
  if (!profile) {
    const byProfile = new Map<string, number>();
    for (const m of got.values())
      if (m.merge.profile) byProfile.set(m.merge.profile, (byProfile.get(m.merge.profile) ?? 0) + m.merge.events);
    profile = byProfile.has('cpu')
      ? 'cpu'
      : ([...byProfile.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? null);
    const again = profile
      ? fleet.clients.filter((c) => got.has(c.name) && got.get(c.name)!.merge.profile !== profile)
      : [];
    for (const c of again) got.delete(c.name);
    if (again.length > 0) {
      const second = await fanOut(again, (c, sig) => ask(c, profile, sig), opts);
      g.failed.push(...second.failed);
      for (const r of second.ok) if (r.value.merge.events > 0) got.set(r.agent, r.value);
    }
  }
  // an agent's events belong to its own host: with a host filter, keep the agents that serve it
  const graphs = [...got.entries()].filter(
    ([agent]) => hostSet.size === 0 || !ctx.inst.hostOf.has(agent) || hostSet.has(ctx.inst.hostOf.get(agent)!)
  );

  // keep the majority unit (one profile name should have one unit), note the rest
  const unitCount = new Map<string, number>();
  for (const [, m] of graphs) unitCount.set(m.unit, (unitCount.get(m.unit) ?? 0) + m.merge.events);
  const unit = [...unitCount.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'samples';
  const usable = graphs.filter(([, m]) => m.unit === unit);
  const otherUnit = graphs.filter(([, m]) => m.unit !== unit).map(([a]) => a);

  let rows: FlameRows;
  let pruned = { removed: 0, removedValue: 0 };
  try {
    const { root } = mergeGraphs(usable.map(([, m]) => m));
    pruned = pruneTree(root, MAX_FRAME_NODES);
    rows = treeToRows(root);
  } catch (e) {
    if (e instanceof FlamegraphShapeError)
      throw new QueryError(`malformed flame graph from an agent: ${e.message}`, 502);
    throw e;
  }
  const events = usable.reduce((a, [, m]) => a + m.merge.events, 0);
  const skipped = usable.reduce((a, [, m]) => a + m.merge.skipped, 0);
  const truncated = usable.filter(([, m]) => m.merge.truncated).map(([a]) => a);
  const frames = [
    flamegraphFrame(q.refId, rows, unit, {
      merged: true,
      profile,
      events,
      agents: usable.map(([a]) => a),
      eventIds: usable.flatMap(([, m]) => m.merge.eventIds).slice(0, 50),
    }),
  ];
  noteFailures(frames, g.failed, g.agentsAsked);
  notePruned(frames[0]!, pruned, rows.value[0] ?? 0);
  const info = (text: string): void => {
    frames[0]!.meta!.notices = [...(frames[0]!.meta!.notices ?? []), { severity: 'info', text }];
  };
  if (otherUnit.length > 0)
    info(`left out of the merge, their ${profile ?? ''} profiles are not in ${unit}: ${otherUnit.join(', ')}`);
  if (skipped > 0)
    info(`${skipped} flame graph(s) were left out by the agents (another unit or sampling period, or unreadable)`);
  if (truncated.length > 0)
    info(
      `more captures matched than the ${limit} merged per agent on ${truncated.join(', ')}: raise limit or narrow the range`
    );
  if (events === 0) info('no captures with a flame graph in this time range');
  return frames;
}

async function evidenceEvents(
  q: ParsedQuery,
  type: TracerType,
  ctx: Ctx
): Promise<{ rows: EventWithAgent[]; failed: AgentFailure[]; asked: number }> {
  if (q.eventId) {
    const found = await findEvent(ctx.inst, q.eventId, ctx.signal);
    if (found.event.type !== type) {
      throw new QueryError(
        `event ${q.eventId} is a ${found.event.type} capture; ${q.queryType} needs a ${type} capture`,
        400
      );
    }
    return { rows: [{ agent: found.client.name, event: found.event }], failed: [], asked: 1 };
  }
  const g = await gatherEvents(
    ctx.inst,
    {
      from: q.from,
      to: q.to,
      types: [type],
      hosts: q.hosts,
      container: q.container,
      limit: q.limit ?? DEFAULT_EVIDENCE_EVENTS,
    },
    ctx.signal
  );
  ensureSomeAnswered(g);
  return { rows: g.items, failed: g.failed, asked: g.agentsAsked };
}

async function dstateQuery(q: ParsedQuery, ctx: Ctx): Promise<Frame[]> {
  const ev = await evidenceEvents(q, EVIDENCE_TYPE.dstate, ctx);
  const frames =
    q.dstateBy === 'stack'
      ? [
          dstateGroupFrame(
            q.refId,
            ev.rows.flatMap(({ event }) => dstateGroupRows(event).map((row) => ({ event, row })))
          ),
        ]
      : [
          dstateFrame(
            q.refId,
            ev.rows.flatMap(({ event }) => dstateRows(event).map((row) => ({ event, row })))
          ),
        ];
  noteFailures(frames, ev.failed, ev.asked);
  return frames;
}

async function memoryQuery(q: ParsedQuery, ctx: Ctx): Promise<Frame[]> {
  const ev = await evidenceEvents(q, EVIDENCE_TYPE.memory, ctx);
  const procs = ev.rows.flatMap(({ event }) => memoryRows(event).map((row) => ({ event, row })));
  const containers = ev.rows.flatMap(({ event }) => memoryContainerRows(event).map((row) => ({ event, row })));
  const frames = memoryFrames(q.refId, procs, containers);
  noteFailures(frames, ev.failed, ev.asked);
  return frames;
}

async function ioQuery(q: ParsedQuery, ctx: Ctx): Promise<Frame[]> {
  const ev = await evidenceEvents(q, EVIDENCE_TYPE.io, ctx);
  const rows = ev.rows.flatMap(({ event }) => ioRows(event).map((row) => ({ event, row })));
  const frames = [ioFrame(q.refId, rows)];
  noteFailures(frames, ev.failed, ev.asked);
  return frames;
}

const HANDLERS: Record<ParsedQuery['queryType'], (q: ParsedQuery, ctx: Ctx) => Promise<Frame[]>> = {
  events: eventsQuery,
  counts: countsQuery,
  flamegraph: flamegraphQuery,
  dstate: dstateQuery,
  memory: memoryQuery,
  io: ioQuery,
};

export function errorResponse(err: unknown): DataResponse {
  if (err instanceof SettingsError)
    return { frames: [], error: `datasource settings: ${err.message}`, status: 400, errorSource: 'downstream' };
  if (err instanceof QueryError) return { frames: [], error: err.message, status: err.status, errorSource: err.source };
  if (err instanceof AgentError) {
    const status = err.kind === 'timeout' ? 504 : err.kind === 'not_found' ? 404 : 502;
    return { frames: [], error: err.message, status, errorSource: 'downstream' };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { frames: [], error: `internal error: ${message}`, status: 500, errorSource: 'plugin' };
}

/** Runs one DataQuery to a DataResponse; never throws. */
export async function runQuery(
  dq: DataQuery,
  getInstance: () => DatasourceInstance,
  ctx: { signal?: AbortSignal; log: Logger; metrics?: Metrics; fromAlert?: boolean }
): Promise<DataResponse> {
  const started = process.hrtime.bigint();
  let queryType = dq.queryType || 'unknown';
  let response: DataResponse;
  try {
    const q = parseQuery(dq);
    queryType = q.queryType;
    const inst = getInstance();
    const frames = await HANDLERS[q.queryType](q, { inst, signal: ctx.signal, log: ctx.log, fromAlert: ctx.fromAlert });
    response = { frames: frames.map(frameToArrow), status: 200 };
  } catch (err) {
    response = errorResponse(err);
    const level = (response.status ?? 500) >= 500 ? 'warn' : 'debug';
    ctx.log[level]('query failed', { refId: dq.refId, queryType, status: response.status, error: response.error });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  ctx.metrics?.observeQuery(queryType, response.status ?? 200, seconds);
  return response;
}

function responseBytes(r: DataResponse): number {
  return r.frames.reduce((a, f) => a + f.byteLength + 8, 0) + (r.error?.length ?? 0) + 32;
}

/**
 * Keeps the whole QueryDataResponse under `maxBytes`: the largest results are replaced by an error
 * for their refId (status 413) until it fits, so the other refIds still arrive.
 */
export function fitResponses(responses: Record<string, DataResponse>, maxBytes = MAX_QUERY_RESPONSE_BYTES): string[] {
  const sizes = Object.entries(responses).map(([refId, r]) => ({ refId, bytes: responseBytes(r) }));
  let total = sizes.reduce((a, s) => a + s.bytes + refIdOverhead(s.refId), 0);
  const replaced: string[] = [];
  sizes.sort((a, b) => b.bytes - a.bytes);
  for (const s of sizes) {
    if (total <= maxBytes) break;
    const mib = (s.bytes / 1024 / 1024).toFixed(1);
    const err: DataResponse = {
      frames: [],
      status: 413,
      errorSource: 'downstream',
      error:
        `the result is too large for Grafana's plugin connection (${mib} MiB of frames, limit 4 MiB): ` +
        'narrow the query (fewer hosts or types, a shorter range, a larger interval or a lower limit)',
    };
    responses[s.refId] = err;
    total -= s.bytes - responseBytes(err);
    replaced.push(s.refId);
  }
  return replaced;
}

function refIdOverhead(refId: string): number {
  return refId.length + 16;
}
