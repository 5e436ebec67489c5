// Query JSON (DESIGN.md contract): { refId, queryType, types?, hosts?, container?, eventId?, limit? };
// the queryType also arrives in DataQuery.queryType (which wins when both are set). Anything wrong
// becomes a QueryError with status 400 for that refId only.
import { EventIdParamsSchema } from '../../../agent/src/api/schemas';
import { TRACER_TYPES, type TracerType } from '../../../agent/src/events/event';
import type { DataQuery } from '../plugin/messages';

export const QUERY_TYPES = ['events', 'counts', 'flamegraph', 'dstate', 'io', 'memory'] as const;
export type QueryType = (typeof QUERY_TYPES)[number];

export class QueryError extends Error {
  constructor(
    message: string,
    readonly status = 400,
    readonly source: 'plugin' | 'downstream' = 'downstream'
  ) {
    super(message);
  }
}

export interface ParsedQuery {
  refId: string;
  queryType: QueryType;
  types: TracerType[];
  hosts: string[];
  container: string | null;
  eventId: string | null;
  limit: number | null;
  /** optional extensions (not in the contract): profile name for flamegraph, grouping for counts, and
   *  for dstate one row per task (default) or, with `by: "stack"`, one row per stack group */
  profile: string | null;
  by: 'type' | 'container';
  dstateBy: 'task' | 'stack';
  from: number;
  to: number;
  intervalMs: number;
  maxDataPoints: number;
}

/** The agent's event id rule (EventIdParamsSchema: a ULID, 26 letters and digits). */
export const EVENT_ID_PATTERN = new RegExp(EventIdParamsSchema.properties.id.pattern!);
const NAME_PATTERN = /^[^\u0000-\u001f]{1,256}$/;

function stringList(v: unknown, name: string): string[] {
  if (v === undefined || v === null || v === '') return [];
  const list = typeof v === 'string' ? v.split(',') : v;
  if (!Array.isArray(list)) throw new QueryError(`${name} must be a list of strings`);
  const out: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string') throw new QueryError(`${name} must be a list of strings`);
    const t = item.trim();
    if (t === '') continue;
    if (!NAME_PATTERN.test(t)) throw new QueryError(`${name} has an invalid entry`);
    out.push(t);
  }
  return [...new Set(out)];
}

export function parseQuery(q: DataQuery): ParsedQuery {
  const refId = q.refId;
  const text = Buffer.from(q.json ?? new Uint8Array())
    .toString('utf8')
    .trim();
  let json: Record<string, unknown> = {};
  if (text !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new QueryError(`query JSON is malformed: ${(e as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new QueryError('query JSON must be an object');
    json = parsed as Record<string, unknown>;
  }

  const rawType = q.queryType || json.queryType;
  if (rawType === undefined || rawType === null || rawType === '') {
    throw new QueryError(`queryType is missing (one of ${QUERY_TYPES.join(', ')})`);
  }
  if (typeof rawType !== 'string' || !(QUERY_TYPES as readonly string[]).includes(rawType)) {
    throw new QueryError(`unknown queryType ${JSON.stringify(rawType)} (one of ${QUERY_TYPES.join(', ')})`);
  }
  const queryType = rawType as QueryType;

  const types = stringList(json.types, 'types');
  for (const t of types) {
    if (!(TRACER_TYPES as readonly string[]).includes(t))
      throw new QueryError(`unknown type ${JSON.stringify(t)} (one of ${TRACER_TYPES.join(', ')})`);
  }
  const hosts = stringList(json.hosts, 'hosts');

  let container: string | null = null;
  if (json.container !== undefined && json.container !== null && json.container !== '') {
    if (typeof json.container !== 'string' || !NAME_PATTERN.test(json.container))
      throw new QueryError('container must be a string');
    container = json.container.trim();
  }

  let eventId: string | null = null;
  if (json.eventId !== undefined && json.eventId !== null && json.eventId !== '') {
    if (typeof json.eventId !== 'string' || !EVENT_ID_PATTERN.test(json.eventId.trim()))
      throw new QueryError('eventId must be an event id (26 letters and digits)');
    eventId = json.eventId.trim();
  }

  let limit: number | null = null;
  if (json.limit !== undefined && json.limit !== null && json.limit !== '') {
    const n = typeof json.limit === 'string' ? Number(json.limit) : json.limit;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
      throw new QueryError('limit must be a positive integer');
    limit = Math.min(n, 10_000);
  }

  let profile: string | null = null;
  if (typeof json.profile === 'string' && json.profile !== '') {
    if (!/^[a-z0-9_-]{1,64}$/.test(json.profile)) throw new QueryError('profile must be a profile name');
    profile = json.profile;
  }
  const by = json.by === 'container' ? 'container' : 'type';
  const dstateBy = json.by === 'stack' ? 'stack' : 'task';

  let from = q.timeRange?.fromEpochMS ?? 0;
  let to = q.timeRange?.toEpochMS ?? 0;
  if (!(to > 0)) {
    // Grafana always sends a range; a hand-made request without one gets the last hour.
    to = Date.now();
    from = to - 3_600_000;
  }
  if (from > to) throw new QueryError('the time range must have from ≤ to');

  return {
    refId,
    queryType,
    types: types as TracerType[],
    hosts,
    container,
    eventId,
    limit,
    profile,
    by,
    dstateBy,
    from,
    to,
    intervalMs: q.intervalMS > 0 ? q.intervalMS : 0,
    maxDataPoints: q.maxDataPoints > 0 ? q.maxDataPoints : 0,
  };
}
