import type { DataSourceJsonData } from '@grafana/data';
import type { DataQuery } from '@grafana/schema';

/** Tracer (event) types: the contract names of DESIGN.md. Mirrors TRACER_TYPES in agent/src/events/event.ts. */
export const TRACER_TYPES = ['cpusys', 'cpuidle', 'dload', 'memburst', 'iotracing'] as const;
export type TracerType = (typeof TRACER_TYPES)[number];

export const TRACER_LABELS: Record<TracerType, string> = {
  cpusys: 'CPU sys spike (host)',
  cpuidle: 'CPU burst (container)',
  dload: 'Stuck tasks / D-load',
  memburst: 'Memory burst',
  iotracing: 'Disk latency / IO',
};

/** Query types (contract, DESIGN.md "The Grafana plugin"). */
export const QUERY_TYPES = ['events', 'counts', 'flamegraph', 'dstate', 'io', 'memory'] as const;
export type QueryType = (typeof QUERY_TYPES)[number];

export const QUERY_TYPE_INFO: Record<QueryType, { label: string; description: string }> = {
  events: { label: 'Events', description: 'One row per capture (table); also the source of annotations.' },
  counts: {
    label: 'Trigger counts',
    description: 'Captures per time bucket as time series labelled by host, type and container; use it for alert rules.',
  },
  flamegraph: {
    label: 'Flame graph',
    description: 'The flame graph of one event, or merged over the time range and filters when no event is given.',
  },
  dstate: { label: 'Stuck tasks', description: 'D-state tasks with their kernel stacks (dload captures).' },
  io: { label: 'IO by process / file', description: 'Per-process and per-file IO with latencies (iotracing captures).' },
  memory: { label: 'Memory growers', description: 'Processes that grew most during memory bursts (memburst captures).' },
};

/** Which filters each query type uses (others are hidden in the editor and ignored by the backend). */
export const QUERY_FILTERS: Record<QueryType, ReadonlyArray<'types' | 'hosts' | 'container' | 'eventId' | 'limit'>> = {
  events: ['types', 'hosts', 'container', 'limit'],
  counts: ['types', 'hosts', 'container'],
  flamegraph: ['eventId', 'types', 'hosts', 'container'],
  dstate: ['eventId', 'hosts', 'container', 'limit'],
  io: ['eventId', 'hosts', 'container', 'limit'],
  memory: ['eventId', 'hosts', 'container', 'limit'],
};

/**
 * The query JSON (contract): `{ refId, queryType, types?, hosts?, container?, eventId?, limit? }`.
 * String values may hold template variables; they are interpolated before the query leaves the browser.
 */
export interface AutotracingQuery extends DataQuery {
  queryType: QueryType;
  types?: string[];
  hosts?: string[];
  container?: string;
  eventId?: string;
  limit?: number;
  /**
   * Extension of the contract, read by the backend per query type: dstate rows per 'task' (default) or
   * per distinct 'stack'; counts series per 'type' (default) or per 'container'.
   */
  by?: 'task' | 'stack' | 'type' | 'container';
}

export const DEFAULT_QUERY: Partial<AutotracingQuery> = {
  queryType: 'events',
  limit: 100,
};

export interface AgentEndpoint {
  name: string;
  url: string;
}

/** Datasource settings, jsonData part (contract). */
export interface AutotracingOptions extends DataSourceJsonData {
  agents?: AgentEndpoint[];
  /** DNS name (e.g. a Kubernetes headless service) whose A/AAAA records are agents */
  discovery?: string;
  timeoutMs?: number;
  concurrency?: number;
}

/** Datasource settings, secureJsonData part (contract). */
export interface AutotracingSecureJsonData {
  token?: string;
}

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_CONCURRENCY = 16;

/** Template-variable query: which list of values to return. */
export const VALUE_KINDS = ['hosts', 'types', 'containers'] as const;
export type ValueKind = (typeof VALUE_KINDS)[number];

export interface AutotracingVariableQuery extends DataQuery {
  kind: ValueKind;
}
