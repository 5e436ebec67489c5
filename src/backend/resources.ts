// CallResource: the HTTP-style routes the app pages use (GET /api/plugins/…/resources/<path> or
// /api/datasources/uid/<uid>/resources/<path>). Every route maps to a fixed agent API route on a
// configured (or discovered) agent: nothing in the request can name another host, port or path
// (no SSRF). Errors use the agent API's shape { error: { code, message } }.
//
//   GET agents                                   agents with health, version, capabilities (/api/v1/info)
//   GET events?type=&from=&to=&host=&container=&limit=&cursor=   merged list, newest first, + failed agents;
//                                                nextCursor (opaque) gives the next, older page
//   GET events/:id                               the event, from whichever agent holds it
//   GET events/:id/flamegraph?format=nested|folded|pprof|svg&profile=   proxied bytes
//   GET counts?from=&to=&step=&by=type|container&type=&host=&container=  merged trigger counts
import { FLAMEGRAPH_FORMATS } from '../../agent/src/api/schemas';
import { TRACER_TYPES, type TracerType } from '../../agent/src/events/event';
import { AgentError, errorBodyText } from './agents/client';
import type { AgentFailure } from './agents/fanout';
import { probeAll } from './health';
import type { DatasourceInstance } from './instance';
import type { CallResourceRequest, CallResourceResponse, StringList } from './plugin/messages';
import { decodeEventCursor, encodeEventCursor, findEvent, gatherCounts, gatherEvents } from './query/fetch';
import { mergeCounts } from './query/frames';
import { EVENT_ID_PATTERN, QueryError } from './query/parse';
import { SettingsError } from './settings';

export interface ResourceResult {
  response: CallResourceResponse;
  route: string;
}

const CONTENT_TYPES: Record<string, string> = {
  nested: 'application/json',
  folded: 'text/plain; charset=utf-8',
  pprof: 'application/octet-stream',
  svg: 'image/svg+xml',
};
const FILE_EXT: Record<string, string> = { nested: 'json', folded: 'txt', pprof: 'pb.gz', svg: 'svg' };

function headers(h: Record<string, string>): Record<string, StringList> {
  const out: Record<string, StringList> = {};
  for (const [k, v] of Object.entries(h)) out[k] = { values: [v] };
  return out;
}

export function jsonResponse(code: number, body: unknown, extra: Record<string, string> = {}): CallResourceResponse {
  return {
    code,
    headers: headers({ 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...extra }),
    body: Buffer.from(JSON.stringify(body)),
  };
}

function errorJson(code: number, errCode: string, message: string): CallResourceResponse {
  return jsonResponse(code, { error: { code: errCode, message } });
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** ms since epoch, RFC 3339, `now` or `now-<n><unit>` → ms since epoch. */
export function parseTime(raw: string | null, dflt: number, now = Date.now()): number {
  if (raw === null || raw === '') return dflt;
  if (/^\d{1,16}$/.test(raw)) return Number(raw);
  const rel = /^now(?:-(\d{1,9})(ms|s|m|h|d|w))?$/.exec(raw);
  if (rel) return rel[1] ? now - Number(rel[1]) * DURATION_UNITS[rel[2]!]! : now;
  if (raw.length <= 40) {
    const t = Date.parse(raw);
    if (Number.isFinite(t)) return t;
  }
  throw new QueryError(`bad time ${JSON.stringify(raw.slice(0, 64))}: use ms since epoch, RFC 3339 or now-1h`);
}

function parseTypes(raw: string | null): TracerType[] {
  if (!raw) return [];
  const out: TracerType[] = [];
  for (const t of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(TRACER_TYPES as readonly string[]).includes(t))
      throw new QueryError(`unknown type ${JSON.stringify(t.slice(0, 32))}`);
    out.push(t as TracerType);
  }
  return out;
}

function parseList(raw: string | null): string[] {
  if (!raw) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s.length <= 256);
}

function parseLimit(raw: string | null, dflt: number, max: number): number {
  if (raw === null || raw === '') return dflt;
  if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1) throw new QueryError('limit must be a positive integer');
  return Math.min(Number(raw), max);
}

function parseStep(raw: string | null, from: number, to: number): number {
  if (raw === null || raw === '') return Math.max(1000, Math.ceil((to - from) / 300 / 1000) * 1000);
  const m = /^(\d{1,9})(ms|s|m|h|d)?$/.exec(raw);
  if (!m) throw new QueryError('step must be a number of ms or a duration like 1m');
  const ms = Number(m[1]) * (m[2] ? DURATION_UNITS[m[2]]! : 1);
  if (ms < 1000) throw new QueryError('step must be at least 1s');
  if ((to - from) / ms > 11_000) throw new QueryError('step is too small for this range (more than 11000 buckets)');
  return ms;
}

function failedJson(failed: readonly AgentFailure[]): Array<{ agent: string; url: string; reason: string }> {
  return failed.map((f) => ({ agent: f.agent, url: f.url, reason: f.reason }));
}

async function agentsRoute(inst: DatasourceInstance, signal?: AbortSignal): Promise<CallResourceResponse> {
  const { agents, discoveryError } = await probeAll(inst, signal);
  return jsonResponse(200, {
    agents: agents.map((a) => ({
      name: a.name,
      url: a.url,
      ok: a.ok,
      reachable: a.reachable,
      authorised: a.authorised,
      host: a.host,
      version: a.version,
      kernel: a.kernel,
      node: a.info?.node ?? null,
      startedAt: a.info?.startedAt ?? null,
      latencyMs: a.latencyMs,
      error: a.error,
      capabilities: a.info?.capabilities ?? null,
      tracers: a.info?.tracers ?? null,
    })),
    discovery: inst.settings.discovery,
    discoveryError,
  });
}

async function eventsRoute(
  inst: DatasourceInstance,
  qs: URLSearchParams,
  signal?: AbortSignal
): Promise<CallResourceResponse> {
  const now = Date.now();
  const to = parseTime(qs.get('to'), now, now);
  const from = parseTime(qs.get('from'), to - 86_400_000, now);
  if (from > to) throw new QueryError('from must not be after to');
  const limit = parseLimit(qs.get('limit'), 100, 1000);
  const g = await gatherEvents(
    inst,
    {
      from,
      to,
      types: parseTypes(qs.get('type')),
      hosts: parseList(qs.get('host')),
      container: qs.get('container') || null,
      limit,
      before: qs.get('cursor') ? decodeEventCursor(qs.get('cursor')!) : null,
    },
    signal
  );
  if (g.agentsAsked > 0 && g.agentsAnswered === 0 && g.failed.length > 0) {
    return jsonResponse(502, {
      error: { code: 'AGENTS_FAILED', message: 'no agent answered' },
      failed: failedJson(g.failed),
    });
  }
  return jsonResponse(200, {
    events: g.items.map((r) => r.event),
    agents: Object.fromEntries(g.items.map((r) => [r.event.id, r.agent])),
    nextCursor: g.more && g.items.length > 0 ? encodeEventCursor(g.items[g.items.length - 1]!.event) : null,
    failed: failedJson(g.failed),
  });
}

async function countsRoute(
  inst: DatasourceInstance,
  qs: URLSearchParams,
  signal?: AbortSignal
): Promise<CallResourceResponse> {
  const now = Date.now();
  const to = parseTime(qs.get('to'), now, now);
  const from = parseTime(qs.get('from'), to - 86_400_000, now);
  if (from > to) throw new QueryError('from must not be after to');
  const stepMs = parseStep(qs.get('step'), from, to);
  const byRaw = qs.get('by') ?? 'type';
  if (byRaw !== 'type' && byRaw !== 'container') throw new QueryError('by must be type or container');
  const types = parseTypes(qs.get('type'));
  const container = qs.get('container') || null;
  const g = await gatherCounts(
    inst,
    { from, to, stepMs, by: byRaw, types, hosts: parseList(qs.get('host')), container },
    signal
  );
  if (g.agentsAsked > 0 && g.agentsAnswered === 0 && g.failed.length > 0) {
    return jsonResponse(502, {
      error: { code: 'AGENTS_FAILED', message: 'no agent answered' },
      failed: failedJson(g.failed),
    });
  }
  const merged = mergeCounts(g.items, {
    by: byRaw,
    types: types.length > 0 ? types : TRACER_TYPES,
    container,
    zeroFill: false,
  });
  return jsonResponse(200, {
    from,
    to,
    stepMs,
    by: byRaw,
    buckets: merged.buckets,
    series: merged.series.map((s) => ({ labels: s.labels, values: merged.buckets.map((b) => s.values.get(b) ?? 0) })),
    failed: failedJson(g.failed),
  });
}

async function eventRoute(inst: DatasourceInstance, id: string, signal?: AbortSignal): Promise<CallResourceResponse> {
  const found = await findEvent(inst, id, signal);
  return jsonResponse(200, found.event, { 'X-Autotracing-Agent': found.client.name });
}

async function flamegraphRoute(
  inst: DatasourceInstance,
  id: string,
  qs: URLSearchParams,
  signal?: AbortSignal
): Promise<CallResourceResponse> {
  const format = qs.get('format') ?? 'nested';
  if (!(FLAMEGRAPH_FORMATS as readonly string[]).includes(format)) {
    throw new QueryError(`format must be one of ${FLAMEGRAPH_FORMATS.join(', ')}`);
  }
  const profile = qs.get('profile') || undefined;
  if (profile !== undefined && !/^[a-z0-9_-]{1,64}$/.test(profile))
    throw new QueryError('profile must be a profile name');
  const found = await findEvent(inst, id, signal);
  const res = await found.client.flamegraphRaw(id, format, profile, { signal });
  if (res.status < 200 || res.status >= 300) {
    const code = res.status === 404 ? 404 : res.status === 400 ? 400 : 502;
    return errorJson(
      code,
      res.status === 404 ? 'NOT_FOUND' : 'AGENT_ERROR',
      `${found.client.name}: HTTP ${res.status}: ${errorBodyText(res.body)}`
    );
  }
  const name = `${id}${profile ? `-${profile}` : ''}.${FILE_EXT[format]}`;
  const extra: Record<string, string> = {
    'Content-Type': CONTENT_TYPES[format]!,
    'Cache-Control': 'private, max-age=300',
    'X-Autotracing-Agent': found.client.name,
    'X-Content-Type-Options': 'nosniff',
  };
  if (format !== 'nested') extra['Content-Disposition'] = `inline; filename="${name}"`;
  if (format === 'svg')
    extra['Content-Security-Policy'] = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'";
  return { code: 200, headers: headers(extra), body: res.body };
}

/** Routes one resource call; never throws. */
export async function callResource(
  req: CallResourceRequest,
  getInstance: () => DatasourceInstance,
  signal?: AbortSignal
): Promise<ResourceResult> {
  const path = (req.path ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  const segments = path === '' ? [] : path.split('/');
  let qs: URLSearchParams;
  try {
    qs = new URL(req.url || '/', 'http://resource.invalid').searchParams;
  } catch {
    qs = new URLSearchParams();
  }
  let route = 'unknown';
  try {
    if (segments.some((s) => s === '..' || s === '.' || s === '' || s.length > 128)) {
      return { route, response: errorJson(400, 'BAD_PATH', 'invalid resource path') };
    }
    const method = (req.method || 'GET').toUpperCase();
    const [a, b, c] = segments;
    if (a === 'agents' && segments.length === 1) route = 'agents';
    else if (a === 'events' && segments.length === 1) route = 'events';
    else if (a === 'events' && segments.length === 2) route = 'event';
    else if (a === 'events' && segments.length === 3 && c === 'flamegraph') route = 'flamegraph';
    else if (a === 'counts' && segments.length === 1) route = 'counts';
    else return { route, response: errorJson(404, 'NOT_FOUND', `no resource ${JSON.stringify(path.slice(0, 200))}`) };
    if (method !== 'GET' && method !== 'HEAD') {
      return {
        route,
        response: {
          ...errorJson(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here`),
          headers: headers({ 'Content-Type': 'application/json', Allow: 'GET' }),
        },
      };
    }
    if ((route === 'event' || route === 'flamegraph') && !EVENT_ID_PATTERN.test(b!)) {
      return { route, response: errorJson(400, 'BAD_ID', 'invalid event id') };
    }
    const inst = getInstance();
    switch (route) {
      case 'agents':
        return { route, response: await agentsRoute(inst, signal) };
      case 'events':
        return { route, response: await eventsRoute(inst, qs, signal) };
      case 'event':
        return { route, response: await eventRoute(inst, b!, signal) };
      case 'flamegraph':
        return { route, response: await flamegraphRoute(inst, b!, qs, signal) };
      default:
        return { route, response: await countsRoute(inst, qs, signal) };
    }
  } catch (e) {
    if (e instanceof QueryError) {
      return {
        route,
        response: errorJson(
          e.status,
          e.status === 404 ? 'NOT_FOUND' : e.status >= 500 ? 'AGENTS_FAILED' : 'BAD_REQUEST',
          e.message
        ),
      };
    }
    if (e instanceof SettingsError) return { route, response: errorJson(400, 'BAD_SETTINGS', e.message) };
    if (e instanceof AgentError)
      return { route, response: errorJson(e.kind === 'timeout' ? 504 : 502, 'AGENT_ERROR', e.message) };
    return { route, response: errorJson(500, 'INTERNAL', (e as Error).message) };
  }
}
