/**
 * Typed client for the datasource backend's resource routes (CallResource, src/backend/resources.ts), used by
 * the app pages and the flame-graph panel. The routes and bodies are written down in docs/plugin-resources.md.
 * Bodies carry the agent API's types (agent/src/api/schemas.ts) plus what fanning out adds: which agent holds
 * an event, which agents failed.
 *
 * Only *types* come from agent/: nothing of the agent (Node code) is bundled into the browser.
 */
import { lastValueFrom } from 'rxjs';
import { getBackendSrv, isFetchError } from '@grafana/runtime';
import type {
  AutotracingEvent,
  ContainerRef,
  FlamegraphRef,
  TracerType as AgentTracerType,
  Trigger,
} from '../../agent/src/events/event';
import type { InfoResponse, NestedFlamegraph, TracerState } from '../../agent/src/api/schemas';
import { TRACER_TYPES, type TracerType, type ValueKind } from './types';

export type { AutotracingEvent, ContainerRef, FlamegraphRef, InfoResponse, NestedFlamegraph };
export type { TracerState, Trigger };

// TRACER_TYPES is repeated in ./types (a value cannot be imported from the agent); keep both equal.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const tracerTypesMatchAgent: Same<TracerType, AgentTracerType> = true;
void tracerTypesMatchAgent;

/** An agent that did not answer (timeout, refused, 401, bad JSON …): the rest of the answer is partial. */
export interface AgentFailure {
  agent: string;
  url?: string;
  reason: string;
}

/** GET agents — one entry per configured or discovered agent (src/backend/health.ts probes /api/v1/info). */
export interface AgentStatus {
  /** configured name, or the address found through DNS discovery */
  name: string;
  url: string;
  /** reachable, authorised and answered /api/v1/info */
  ok: boolean;
  reachable: boolean;
  authorised: boolean;
  /** why not, when !ok */
  error: string | null;
  latencyMs: number | null;
  host: string | null;
  version: string | null;
  kernel: string | null;
  node: string | null;
  startedAt: number | null;
  capabilities: InfoResponse['capabilities'] | null;
  tracers: TracerState[] | null;
}
export interface AgentsResponse {
  agents: AgentStatus[];
  discovery?: string | null;
  discoveryError?: string | null;
}

/** An event with the name of the agent that holds it. */
export type FleetEvent = AutotracingEvent & { agent: string };

/** GET events, as the backend sends it: events newest first, their agents by event id, failed agents. */
export interface EventsWire {
  events: AutotracingEvent[];
  agents: Record<string, string>;
  /** opaque; pass back as `cursor` for the next (older) page. null: no more. */
  nextCursor: string | null;
  failed: AgentFailure[];
}

export interface EventsResponse {
  events: FleetEvent[];
  nextCursor: string | null;
  errors: AgentFailure[];
}

/** GET counts — merged over agents; every series is labelled with `host` and `type` (or `container`). */
export interface FleetCountsResponse {
  from: number;
  to: number;
  stepMs: number;
  by: string;
  /** bucket start times, ms since epoch */
  buckets: number[];
  series: Array<{ labels: Record<string, string>; values: number[] }>;
  failed: AgentFailure[];
}

/** Values for template variables and pickers (built from `agents` and `events`, no route of its own). */
export interface ValuesResponse {
  values: Array<{ text: string; value: string }>;
  errors: AgentFailure[];
}

export interface TimeRangeParams {
  /** ms since epoch */
  from?: number;
  to?: number;
}

export interface EventFilters extends TimeRangeParams {
  types?: string[];
  hosts?: string[];
  container?: string;
  limit?: number;
  cursor?: string;
}

export interface CountsParams extends TimeRangeParams {
  /** bucket width in ms (at least 1000) */
  stepMs?: number;
  by?: 'type' | 'container';
  types?: string[];
  hosts?: string[];
  container?: string;
}

export type ExportFormat = 'folded' | 'pprof' | 'svg';

export const EXPORT_FORMATS: Record<ExportFormat, { label: string; extension: string; mime: string }> = {
  folded: { label: 'Folded stacks', extension: 'folded.txt', mime: 'text/plain' },
  pprof: { label: 'pprof', extension: 'pb.gz', mime: 'application/octet-stream' },
  svg: { label: 'SVG', extension: 'svg', mime: 'image/svg+xml' },
};

/** The error body of the agent API and of the backend: `{ error: { code, message } }`. */
function errorMessage(e: unknown): string {
  if (isFetchError(e)) {
    const data = e.data as { error?: { message?: string } | string; message?: string } | undefined;
    const inner = typeof data?.error === 'object' ? data.error?.message : data?.error;
    return inner || data?.message || e.message || e.statusText || `HTTP ${e.status}`;
  }
  return e instanceof Error ? e.message : String(e);
}

export class ResourceError extends Error {
  constructor(
    message: string,
    readonly status?: number
  ) {
    super(message);
    this.name = 'ResourceError';
  }
}

type Params = Record<string, string | number | undefined>;

function csv(values?: string[]): string | undefined {
  const v = (values ?? []).filter((s) => s !== '');
  return v.length ? v.join(',') : undefined;
}

function clean(params: Params): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== '') {
      out[k] = v;
    }
  }
  return out;
}

/** The resource routes of one datasource instance (by uid). */
export class AutotracingResources {
  constructor(readonly datasourceUid: string) {}

  /** `/api/datasources/uid/<uid>/resources/<path>` */
  url(path: string): string {
    return `/api/datasources/uid/${encodeURIComponent(this.datasourceUid)}/resources/${path}`;
  }

  private async fetch<T>(
    path: string,
    params: Params,
    responseType: 'json' | 'text' | 'blob' = 'json'
  ): Promise<{ data: T; headers?: Headers }> {
    try {
      const response = await lastValueFrom(
        getBackendSrv().fetch<T>({
          url: this.url(path),
          method: 'GET',
          params: clean(params),
          responseType,
          showErrorAlert: false,
          showSuccessAlert: false,
        })
      );
      return { data: response.data, headers: response.headers };
    } catch (e) {
      throw new ResourceError(errorMessage(e), isFetchError(e) ? e.status : undefined);
    }
  }

  /** GET agents — every configured/discovered agent with health, version and capabilities. */
  async agents(): Promise<AgentsResponse> {
    return (await this.fetch<AgentsResponse>('agents', {})).data;
  }

  /** GET events — newest first, merged across agents. */
  async events(f: EventFilters = {}): Promise<EventsResponse> {
    const { data } = await this.fetch<EventsWire>('events', {
      type: csv(f.types),
      host: csv(f.hosts),
      container: f.container,
      from: f.from,
      to: f.to,
      limit: f.limit,
      cursor: f.cursor,
    });
    const agents = data.agents ?? {};
    return {
      events: (data.events ?? []).map((e) => ({ ...e, agent: agents[e.id] ?? '' })),
      nextCursor: data.nextCursor ?? null,
      errors: data.failed ?? [],
    };
  }

  /** GET events/:id — the agent that holds it comes back in the X-Autotracing-Agent header. */
  async event(id: string): Promise<FleetEvent> {
    const { data, headers } = await this.fetch<AutotracingEvent>(`events/${encodeURIComponent(id)}`, {});
    return { ...data, agent: headers?.get?.('X-Autotracing-Agent') ?? '' };
  }

  /** GET events/:id/flamegraph?format=nested — the nested-set rows of one stored profile. */
  async flamegraph(id: string, opts: { profile?: string } = {}): Promise<NestedFlamegraph> {
    const path = `events/${encodeURIComponent(id)}/flamegraph`;
    return (await this.fetch<NestedFlamegraph>(path, { format: 'nested', profile: opts.profile })).data;
  }

  /** GET events/:id/flamegraph?format=folded|pprof|svg — a file to download. */
  async flamegraphFile(id: string, format: ExportFormat, opts: { profile?: string } = {}): Promise<Blob> {
    const path = `events/${encodeURIComponent(id)}/flamegraph`;
    return (await this.fetch<Blob>(path, { format, profile: opts.profile }, 'blob')).data;
  }

  /** GET counts — captures per bucket, series labelled with host and type (or container). */
  async counts(p: CountsParams = {}): Promise<FleetCountsResponse> {
    const { data } = await this.fetch<FleetCountsResponse>('counts', {
      from: p.from,
      to: p.to,
      step: p.stepMs,
      by: p.by,
      type: csv(p.types),
      host: csv(p.hosts),
      container: p.container,
    });
    return { ...data, failed: data.failed ?? [] };
  }

  /**
   * Values for template variables and filter pickers: `hosts` (the agents' host names), `types` (the tracer
   * types) or `containers` (containers with captures in the range). Built from `agents` and `events`.
   */
  async values(kind: ValueKind, p: TimeRangeParams & { hosts?: string[] } = {}): Promise<ValuesResponse> {
    const sorted = (m: Map<string, string>) =>
      [...m.entries()].map(([value, text]) => ({ text, value })).sort((a, b) => a.text.localeCompare(b.text));
    switch (kind) {
      case 'types':
        return { values: TRACER_TYPES.map((t) => ({ text: t, value: t })), errors: [] };
      case 'hosts': {
        const res = await this.agents();
        const hosts = new Map<string, string>();
        const errors: AgentFailure[] = [];
        for (const a of res.agents) {
          if (a.host) {
            hosts.set(a.host, a.host);
          } else if (!a.ok) {
            errors.push({ agent: a.name, url: a.url, reason: a.error ?? 'not answering' });
          }
        }
        return { values: sorted(hosts), errors };
      }
      case 'containers': {
        const res = await this.events({ from: p.from, to: p.to, hosts: p.hosts, limit: 1000 });
        const containers = new Map<string, string>();
        for (const e of res.events) {
          if (e.container) {
            containers.set(e.container.id, e.container.name || e.container.pod || e.container.id.slice(0, 12));
          }
        }
        return { values: sorted(containers), errors: res.errors };
      }
    }
  }
}

/** Save a Blob as a file in the browser. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function exportFilename(eventId: string, format: ExportFormat, profile?: string): string {
  return `${eventId}${profile ? `-${profile}` : ''}.${EXPORT_FORMATS[format].extension}`;
}
