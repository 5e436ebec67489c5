// Fetching from the fleet: choose the agents a query concerns, list events across them (paginated,
// merged newest first), find which agent holds an event, fetch counts. Shared by queries and resources.
import type { AutotracingEvent, TracerType } from '../../../agent/src/events/event';
import type { CountsResponse } from '../../../agent/src/api/schemas';
import { AgentError, type AgentClient } from '../agents/client';
import { fanOut, failureOf, type AgentFailure } from '../agents/fanout';
import type { DatasourceInstance } from '../instance';
import { EVENT_ID_PATTERN, QueryError } from './parse';

export interface Fleet {
  clients: AgentClient[];
  /** agents that failed before any data request (discovery) */
  failed: AgentFailure[];
  /** every agent configured or discovered, before host filtering */
  total: number;
}

/** Agents a query with `hosts` concerns: named so, known to serve such a host, or not known yet. */
export async function selectAgents(inst: DatasourceInstance, hosts: readonly string[] = []): Promise<Fleet> {
  const set = await inst.agents();
  const failed: AgentFailure[] = [];
  if (set.discoveryError)
    failed.push({ agent: 'discovery', url: inst.settings.discovery ?? '', kind: 'dns', reason: set.discoveryError });
  if (set.clients.length === 0 && !set.discoveryError) {
    throw new QueryError('no agents are configured for this datasource (jsonData.agents or discovery)', 400);
  }
  let clients = set.clients;
  if (hosts.length > 0) {
    const wanted = new Set(hosts);
    clients = clients.filter((c) => {
      const known = inst.hostOf.get(c.name);
      return wanted.has(c.name) || known === undefined || wanted.has(known);
    });
  }
  return { clients, failed, total: set.clients.length };
}

export interface EventWithAgent {
  agent: string;
  event: AutotracingEvent;
}

export interface EventsFilter {
  from: number;
  to: number;
  types?: readonly TracerType[];
  hosts?: readonly string[];
  container?: string | null;
  limit: number;
  /** only events strictly older than this position (time desc, then id desc): the next page */
  before?: EventPosition | null;
}

export interface EventPosition {
  time: number;
  id: string;
}

export interface Gathered<T> {
  items: T;
  failed: AgentFailure[];
  agentsAsked: number;
  agentsAnswered: number;
  /** events lists only: some agent has more events than were returned */
  more?: boolean;
}

/** Opaque cursor of the merged event list: the position of the last event of a page. */
export function encodeEventCursor(p: EventPosition): string {
  return Buffer.from(JSON.stringify([p.time, p.id])).toString('base64url');
}

export function decodeEventCursor(raw: string): EventPosition {
  const bad = (): never => {
    throw new QueryError('cursor is not one this datasource gave out');
  };
  if (raw.length > 512 || !/^[A-Za-z0-9_-]+$/.test(raw)) return bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    return bad();
  }
  if (
    !Array.isArray(v) ||
    v.length !== 2 ||
    typeof v[0] !== 'number' ||
    !Number.isFinite(v[0]) ||
    typeof v[1] !== 'string' ||
    !EVENT_ID_PATTERN.test(v[1])
  ) {
    return bad();
  }
  return { time: v[0], id: v[1] };
}

function isBefore(e: AutotracingEvent, p: EventPosition): boolean {
  return e.time < p.time || (e.time === p.time && e.id < p.id);
}

const PAGE_MAX = 1000;

function compareEvents(a: EventWithAgent, b: EventWithAgent): number {
  if (a.event.time !== b.event.time) return b.event.time - a.event.time;
  return a.event.id < b.event.id ? 1 : a.event.id > b.event.id ? -1 : 0;
}

/** Lists events from every selected agent, following cursors until `limit`; merged newest first. */
export async function gatherEvents(
  inst: DatasourceInstance,
  f: EventsFilter,
  signal?: AbortSignal
): Promise<Gathered<EventWithAgent[]>> {
  const hosts = f.hosts ?? [];
  const fleet = await selectAgents(inst, hosts);
  const hostSet = new Set(hosts);
  const before = f.before ?? null;
  const res = await fanOut(
    fleet.clients,
    async (client, sig) => {
      const out: AutotracingEvent[] = [];
      let cursor: string | undefined;
      let more = false;
      do {
        const page = await client.listEvents(
          {
            type: f.types && f.types.length > 0 ? f.types.join(',') : undefined,
            from: Math.floor(f.from),
            to: Math.ceil(before ? Math.min(f.to, before.time) : f.to),
            container: f.container ?? undefined,
            host: hosts.length === 1 ? hosts[0] : undefined,
            limit: Math.min(PAGE_MAX, f.limit - out.length + 1),
            cursor,
          },
          { signal: sig }
        );
        for (const e of page.events) {
          inst.hostOf.set(client.name, e.host);
          if (before && !isBefore(e, before)) continue;
          out.push(e);
        }
        cursor = page.nextCursor ?? undefined;
        if (page.events.length === 0) break;
      } while (cursor && out.length <= f.limit);
      if (cursor || out.length > f.limit) more = true;
      return { events: out, more };
    },
    { semaphore: inst.semaphore, timeoutMs: inst.settings.timeoutMs, signal }
  );
  const merged: EventWithAgent[] = [];
  let more = false;
  for (const { agent, value } of res.ok) {
    more ||= value.more;
    for (const event of value.events) {
      if (hostSet.size > 0 && !hostSet.has(event.host)) continue;
      if (f.types && f.types.length > 0 && !f.types.includes(event.type)) continue;
      inst.rememberEvent(event.id, agent);
      merged.push({ agent, event });
    }
  }
  merged.sort(compareEvents);
  return {
    items: merged.slice(0, f.limit),
    failed: [...fleet.failed, ...res.failed],
    agentsAsked: fleet.clients.length,
    agentsAnswered: res.ok.length,
    more: more || merged.length > f.limit,
  };
}

export interface FoundEvent {
  client: AgentClient;
  event: AutotracingEvent;
  failed: AgentFailure[];
}

/** Finds the agent that holds event `id`: the remembered one first, else ask every agent. */
export async function findEvent(inst: DatasourceInstance, id: string, signal?: AbortSignal): Promise<FoundEvent> {
  const set = await inst.agents();
  const known = inst.agentOfEvent(id);
  const cached = known ? set.clients.find((c) => c.name === known) : undefined;
  if (cached) {
    try {
      const event = await cached.event(id, { signal });
      return { client: cached, event, failed: [] };
    } catch (e) {
      if (!(e instanceof AgentError)) throw e;
      // moved, expired or agent down: fall through to asking everyone
    }
  }
  if (set.clients.length === 0) {
    if (set.discoveryError) throw new QueryError(set.discoveryError, 502);
    throw new QueryError('no agents are configured for this datasource', 400);
  }
  const res = await fanOut(
    set.clients,
    async (client, sig) => {
      try {
        return await client.event(id, { signal: sig });
      } catch (e) {
        if (e instanceof AgentError && e.kind === 'not_found') return null;
        throw e;
      }
    },
    { semaphore: inst.semaphore, timeoutMs: inst.settings.timeoutMs, signal }
  );
  const hit = res.ok.find((r) => r.value !== null);
  if (hit) {
    const client = set.clients.find((c) => c.name === hit.agent)!;
    inst.rememberEvent(id, client.name);
    inst.hostOf.set(client.name, hit.value!.host);
    return { client, event: hit.value!, failed: res.failed };
  }
  const why =
    res.failed.length > 0
      ? `; ${res.failed.length} agent(s) could not be asked: ${res.failed.map((f) => `${f.agent}: ${f.reason}`).join('; ')}`
      : '';
  throw new QueryError(
    `event ${id} was not found on any agent${why}`,
    res.failed.length > 0 && res.ok.length === 0 ? 502 : 404
  );
}

export interface CountsFilter {
  from: number;
  to: number;
  stepMs: number;
  by: 'type' | 'container';
  types?: readonly TracerType[];
  hosts?: readonly string[];
  container?: string | null;
}

export async function gatherCounts(
  inst: DatasourceInstance,
  f: CountsFilter,
  signal?: AbortSignal
): Promise<Gathered<Array<{ agent: string; counts: CountsResponse }>>> {
  const hosts = f.hosts ?? [];
  const fleet = await selectAgents(inst, hosts);
  const res = await fanOut(
    fleet.clients,
    (client, sig) =>
      client
        .counts(
          {
            from: Math.floor(f.from),
            to: Math.ceil(f.to),
            step: f.stepMs,
            by: f.by,
            type: f.types && f.types.length > 0 ? f.types.join(',') : undefined,
            container: f.container ?? undefined,
            host: hosts.length === 1 ? hosts[0] : undefined,
          },
          { signal: sig }
        )
        .then((counts) => {
          inst.hostOf.set(client.name, counts.host);
          return counts;
        }),
    { semaphore: inst.semaphore, timeoutMs: inst.settings.timeoutMs, signal }
  );
  const hostSet = new Set(hosts);
  const items = res.ok
    .filter((r) => hostSet.size === 0 || hostSet.has(r.value.host))
    .map((r) => ({ agent: r.agent, counts: r.value }));
  return {
    items,
    failed: [...fleet.failed, ...res.failed],
    agentsAsked: fleet.clients.length,
    agentsAnswered: res.ok.length,
  };
}

/** When every asked agent failed there is no partial result to show: that is an error. */
export function ensureSomeAnswered(g: Gathered<unknown>): void {
  if (g.agentsAsked > 0 && g.agentsAnswered === 0 && g.failed.length > 0) {
    throw new QueryError(
      `no agent answered: ${g.failed.map((f) => `${f.agent} (${f.url}): ${f.reason}`).join('; ')}`,
      502,
      'downstream'
    );
  }
  if (g.agentsAsked === 0 && g.failed.length > 0) {
    throw new QueryError(g.failed.map((f) => `${f.agent}: ${f.reason}`).join('; '), 502, 'downstream');
  }
}

export { failureOf };
