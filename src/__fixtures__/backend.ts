/**
 * Test helper: the fixtures recorded from a real agent and the real datasource backend by
 * scripts/record-fixtures.ts (see README.md), and a fake of Grafana's backendSrv.fetch that answers the
 * datasource's resource routes (/api/datasources/uid/<uid>/resources/...) from them, recording the calls.
 */
import { Observable, of, throwError } from 'rxjs';
import type { BackendSrvRequest, FetchResponse } from '@grafana/runtime';

import agents from './agents.json';
import captures from './captures.json';
import counts from './counts.json';
import events from './events.json';
import flamegraphs from './flamegraphs.json';
import recorded from './recorded.json';
import type {
  AgentsResponse,
  AutotracingEvent,
  EventsWire,
  FleetCountsResponse,
  FleetEvent,
  NestedFlamegraph,
} from '../datasource/resources';

type Captured = Record<string, { how: 'manual' | 'detector'; agent: string; event: AutotracingEvent }>;
const captured = captures as unknown as Captured;
const byKey = (key: string): AutotracingEvent => {
  const c = captured[key];
  if (!c) {
    throw new Error(`no recorded capture "${key}" in captures.json (re-record: scripts/record-fixtures.ts)`);
  }
  return c.event;
};

/** Flame graphs by event id, then profile name (cpu, before, offcpu, alloc). */
const flamegraphsByEvent = flamegraphs as unknown as Record<string, Record<string, NestedFlamegraph>>;

export const fixtures = {
  recorded,
  agents: agents as AgentsResponse,
  counts: counts as FleetCountsResponse,
  events: events as EventsWire,
  /** one manual capture per tracer type (POST /api/v1/captures during a workload) */
  event: {
    cpusys: byKey('cpusys'),
    cpuidle: byKey('cpuidle'),
    dload: byKey('dload'),
    memburst: byKey('memburst'),
    iotracing: byKey('iotracing'),
  },
  /** captures a detector triggered during the recording (a real trigger: metric, value, threshold, baseline) */
  triggered: Object.values(captured)
    .filter((c) => c.how === 'detector')
    .map((c) => c.event),
  flamegraphs: flamegraphsByEvent,
  /** the profiles of the cpusys capture, and the other types' own */
  flamegraph: {
    cpu: flamegraphsByEvent[byKey('cpusys').id].cpu,
    before: flamegraphsByEvent[byKey('cpusys').id].before,
    offcpu: flamegraphsByEvent[byKey('dload').id].offcpu,
    alloc: flamegraphsByEvent[byKey('memburst').id].alloc,
  } as Record<string, NestedFlamegraph>,
};

/** Every recorded capture (manual and detector-triggered). */
export const allEvents: AutotracingEvent[] = Object.values(captured).map((c) => c.event);

export function agentOf(id: string): string {
  return fixtures.events.agents[id] ?? Object.values(captured).find((c) => c.event.id === id)?.agent ?? 'local';
}

export function fleetEvent(e: AutotracingEvent): FleetEvent {
  return { ...e, agent: agentOf(e.id) };
}

/** The process with the most samples in a cpusys/cpuidle capture's data.topProcesses. */
export function topProcess(e: AutotracingEvent): { pid: number; comm: string; samples: number; samplePct: number } {
  const list = (e.data.topProcesses ?? []) as Array<{ pid: number; comm: string; samples: number; samplePct: number }>;
  const top = [...list].sort((a, b) => b.samples - a.samples)[0];
  if (!top) {
    throw new Error(`event ${e.id} lists no processes`);
  }
  return top;
}

export const DS_UID = 'autotracing-uid';

export interface FakeCall {
  path: string;
  params: Record<string, unknown>;
  responseType?: string;
}

type Handler = (path: string, params: Record<string, unknown>) => unknown;

class HttpError {
  constructor(
    readonly status: number,
    readonly data: unknown
  ) {}
}

/** Throw from an override to answer with an HTTP error in the backend's error shape. */
export function httpError(status: number, message: string, code = 'ERROR'): never {
  throw new HttpError(status, { error: { code, message } });
}

function headers(h: Record<string, string>): Headers {
  const lower = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name: string) => lower[name.toLowerCase()] ?? null } as unknown as Headers;
}

function route(path: string, params: Record<string, unknown>): { data: unknown; headers?: Record<string, string> } {
  if (path === 'agents') {
    return { data: fixtures.agents };
  }
  if (path === 'events') {
    const types = typeof params.type === 'string' ? params.type.split(',') : undefined;
    const list = fixtures.events.events.filter((e) => !types || types.includes(e.type));
    return { data: { ...fixtures.events, events: list } };
  }
  if (path === 'counts') {
    return { data: fixtures.counts };
  }
  const m = /^events\/([^/]+)(\/flamegraph)?$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1]);
    const event = allEvents.find((e) => e.id === id) ?? fixtures.events.events.find((e) => e.id === id);
    if (!event) {
      // the backend's answer for an id no agent knows
      return httpError(404, `event ${id} not found on any agent`, 'NOT_FOUND');
    }
    if (!m[2]) {
      return { data: event, headers: { 'X-Autotracing-Agent': agentOf(id) } };
    }
    const format = params.format ?? 'nested';
    const refs = ((event.data.flamegraphs ?? []) as Array<{ name: string }>).map((f) => f.name);
    const profile = (params.profile as string | undefined) ?? refs[0];
    const fg = profile ? flamegraphsByEvent[id]?.[profile] : undefined;
    if (!fg) {
      return httpError(404, `event ${id} has no flame graph${profile ? ` "${profile}"` : ''}`, 'NOT_FOUND');
    }
    if (format === 'nested') {
      return { data: fg };
    }
    return { data: new Blob([`${format} of ${id}/${profile}`]) };
  }
  return httpError(404, `no resource ${path}`, 'NOT_FOUND');
}

/** A backendSrv whose fetch serves the fixtures; `overrides` replace single routes. */
export function fakeBackendSrv(overrides: Record<string, Handler> = {}) {
  const calls: FakeCall[] = [];
  const fetch = jest.fn(<T>(req: BackendSrvRequest): Observable<FetchResponse<T>> => {
    const m = /^\/api\/datasources\/uid\/([^/]+)\/resources\/(.*)$/.exec(req.url);
    const path = m ? m[2] : req.url;
    const params = (req.params ?? {}) as Record<string, unknown>;
    calls.push({ path, params, responseType: req.responseType });
    try {
      const handler = overrides[path];
      const res = handler ? { data: handler(path, params) } : route(path, params);
      return of({
        data: res.data as T,
        status: 200,
        statusText: 'OK',
        ok: true,
        headers: headers('headers' in res && res.headers ? res.headers : {}),
        redirected: false,
        type: 'basic',
        url: req.url,
        config: req,
      } as FetchResponse<T>);
    } catch (e) {
      if (e instanceof HttpError) {
        return throwError(() => ({ status: e.status, data: e.data, config: req }));
      }
      return throwError(() => e);
    }
  });
  return { fetch, calls, srv: { fetch } };
}
