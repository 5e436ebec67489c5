/**
 * Test helper: a fake of Grafana's backendSrv.fetch that answers the datasource's resource routes
 * (/api/datasources/uid/<uid>/resources/...) from the fixtures in this folder, and records the calls.
 */
import { Observable, of, throwError } from 'rxjs';
import type { BackendSrvRequest, FetchResponse } from '@grafana/runtime';

import agents from './agents.json';
import counts from './counts.json';
import eventCpuidle from './event-cpuidle.json';
import eventCpusys from './event-cpusys.json';
import eventDload from './event-dload.json';
import eventIotracing from './event-iotracing.json';
import eventMemburst from './event-memburst.json';
import events from './events.json';
import flamegraphBefore from './flamegraph-before.json';
import flamegraphCpu from './flamegraph-cpu.json';
import flamegraphOffcpu from './flamegraph-offcpu.json';
import type {
  AgentsResponse,
  AutotracingEvent,
  EventsWire,
  FleetCountsResponse,
  FleetEvent,
  NestedFlamegraph,
} from '../datasource/resources';

export const fixtures = {
  agents: agents as AgentsResponse,
  counts: counts as FleetCountsResponse,
  events: events as EventsWire,
  event: {
    cpusys: eventCpusys as AutotracingEvent,
    cpuidle: eventCpuidle as AutotracingEvent,
    dload: eventDload as AutotracingEvent,
    memburst: eventMemburst as AutotracingEvent,
    iotracing: eventIotracing as AutotracingEvent,
  },
  flamegraph: {
    cpu: flamegraphCpu as NestedFlamegraph,
    before: flamegraphBefore as NestedFlamegraph,
    offcpu: flamegraphOffcpu as NestedFlamegraph,
  } as Record<string, NestedFlamegraph>,
};

export function fleetEvent(e: AutotracingEvent): FleetEvent {
  return { ...e, agent: fixtures.events.agents[e.id] ?? 'node-a' };
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

const allEvents = Object.values(fixtures.event);

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
    const event = allEvents.find((e) => e.id === decodeURIComponent(m[1]));
    if (!event) {
      return httpError(404, `event ${m[1]} not found on any agent`, 'NOT_FOUND');
    }
    const agent = fixtures.events.agents[event.id] ?? 'node-a';
    if (!m[2]) {
      return { data: event, headers: { 'X-Autotracing-Agent': agent } };
    }
    const format = params.format ?? 'nested';
    const profile = (params.profile as string | undefined) ?? 'cpu';
    const fg = fixtures.flamegraph[profile];
    if (!fg) {
      return httpError(404, `no profile ${profile} in event ${event.id}`, 'NOT_FOUND');
    }
    if (format === 'nested') {
      return { data: fg };
    }
    return { data: new Blob([`${format} of ${event.id}/${profile}`]) };
  }
  return httpError(404, `no resource ${path}`, 'NOT_FOUND');
}

/** A backendSrv whose fetch serves the fixtures; `overrides` replace single routes. */
export function fakeBackendSrv(overrides: Record<string, Handler> = {}) {
  const calls: FakeCall[] = [];
  const fetch = jest.fn(<T,>(req: BackendSrvRequest): Observable<FetchResponse<T>> => {
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
