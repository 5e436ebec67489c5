// FIXTURE AGENT — a stand-in for the real agent daemon until it exists: a small real HTTP server
// (node:http, in the test process) that implements the documented agent routes (DESIGN.md "HTTP API")
// over fixture events, typed with the shared wire schemas. It is not the agent: a later step swaps in
// real agent daemons holding real captures.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type {
  AutotracingEvent,
  CountsResponse,
  ErrorBody,
  InfoResponse,
  ListEventsResponse,
  MergedFlamegraph,
  NestedFlamegraph,
} from '../../agent/src/api/schemas';
import { foldedToNested, sumFolded, type FixtureEvent } from './fixtures';

export interface FixtureAgentOptions {
  host: string;
  events: FixtureEvent[];
  /** required bearer token; null accepts any request */
  token?: string | null;
  version?: string;
  /** delay before answering API routes (not /healthz) */
  delayMs?: number;
  /** listen address (default 127.0.0.1) */
  listen?: string;
  /** pad SVG flame graphs to at least this many bytes (to exercise chunked resource responses) */
  svgPadBytes?: number;
}

export class FixtureAgent {
  readonly requests: string[] = [];
  private server: http.Server | null = null;
  url = '';
  port = 0;
  delayMs: number;

  constructor(readonly opts: FixtureAgentOptions) {
    this.delayMs = opts.delayMs ?? 0;
  }

  async start(port = 0): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) =>
        this.send(res, 500, { error: { code: 'INTERNAL', message: String(e) } })
      );
    });
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => this.server!.listen(port, this.opts.listen ?? '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const s = this.server;
    this.server = null;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private send(res: http.ServerResponse, code: number, body: unknown, type = 'application/json'): void {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    res.writeHead(code, { 'content-type': type, 'content-length': buf.length });
    res.end(buf);
  }

  private error(res: http.ServerResponse, code: number, errCode: string, message: string): void {
    const body: ErrorBody = { error: { code: errCode, message } };
    this.send(res, code, body);
  }

  private info(): InfoResponse {
    return {
      host: this.opts.host,
      version: this.opts.version ?? '0.1.0-fixture',
      kernel: '6.1.0-fixture',
      node: process.version,
      startedAt: Date.now() - 3_600_000,
      capabilities: { bpf: true, btf: true, cgroup: 'v2', psi: true },
      tracers: [],
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fixture');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (url.pathname === '/healthz' || url.pathname === '/readyz') return this.send(res, 200, { status: 'ok' });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const token = this.opts.token ?? null;
    if (token !== null && req.headers.authorization !== `Bearer ${token}`) {
      return this.error(res, 401, 'UNAUTHORIZED', 'missing or invalid bearer token');
    }
    if (req.method !== 'GET') return this.error(res, 405, 'METHOD_NOT_ALLOWED', 'GET only');
    const q = url.searchParams;
    const parts = url.pathname.split('/').filter(Boolean);
    if (url.pathname === '/api/v1/info') return this.send(res, 200, this.info());
    if (url.pathname === '/api/v1/events') return this.send(res, 200, this.list(q));
    if (url.pathname === '/api/v1/stats/counts') return this.send(res, 200, this.counts(q));
    if (url.pathname === '/api/v1/flamegraph') return this.send(res, 200, this.merged(q));
    if (parts[0] === 'api' && parts[1] === 'v1' && parts[2] === 'events' && parts.length >= 4) {
      const fx = this.opts.events.find((e) => e.event.id === parts[3]);
      if (!fx) return this.error(res, 404, 'NOT_FOUND', `no event ${parts[3]}`);
      if (parts.length === 4) return this.send(res, 200, fx.event);
      if (parts.length === 5 && parts[4] === 'flamegraph') return this.flamegraph(res, fx, q);
    }
    return this.error(res, 404, 'NOT_FOUND', `no route ${url.pathname}`);
  }

  private filtered(q: URLSearchParams): AutotracingEvent[] {
    const types = q.get('type')?.split(',');
    const from = q.get('from') ? Number(q.get('from')) : -Infinity;
    const to = q.get('to') ? Number(q.get('to')) : Infinity;
    const container = q.get('container');
    const host = q.get('host');
    return this.opts.events
      .map((f) => f.event)
      .filter((e) => (!types || types.includes(e.type)) && e.time >= from && e.time <= to)
      .filter((e) => !container || e.container?.id === container || e.container?.name === container)
      .filter((e) => !host || e.host === host)
      .sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1));
  }

  private list(q: URLSearchParams): ListEventsResponse {
    const all = this.filtered(q);
    const limit = Math.min(Number(q.get('limit') ?? 100), 1000);
    const start = q.get('cursor') ? Number(q.get('cursor')) : 0;
    const events = all.slice(start, start + limit);
    const next = start + limit < all.length ? String(start + limit) : null;
    return { events, nextCursor: next };
  }

  private counts(q: URLSearchParams): CountsResponse {
    const from = Number(q.get('from'));
    const to = Number(q.get('to'));
    const step = Number(q.get('step') ?? 60_000);
    const by = q.get('by') === 'container' ? 'container' : 'type';
    const start = Math.floor(from / step) * step;
    const buckets: number[] = [];
    for (let t = start; t <= to; t += step) buckets.push(t);
    const series = new Map<string, number[]>();
    for (const e of this.filtered(q)) {
      const key = by === 'type' ? e.type : (e.container?.name ?? e.container?.id ?? '');
      if (by === 'container' && key === '') continue;
      const i = Math.floor((e.time - start) / step);
      if (i < 0 || i >= buckets.length) continue;
      if (!series.has(key)) series.set(key, new Array<number>(buckets.length).fill(0));
      series.get(key)![i]! += 1;
    }
    return {
      host: this.opts.host,
      from,
      to,
      stepMs: step,
      by,
      buckets,
      series: [...series.entries()].map(([k, values]) => ({ labels: { [by]: k }, values })),
    };
  }

  /** GET /api/v1/flamegraph (nested): matching events' graphs merged, as the agent documents it. */
  private merged(q: URLSearchParams): MergedFlamegraph {
    const limit = Number(q.get('limit') ?? 100);
    const byId = new Map(this.opts.events.map((f) => [f.event.id, f]));
    const events = this.filtered(q).map((e) => byId.get(e.id)!);
    let profile = q.get('profile');
    if (!profile) {
      const names = new Map<string, number>();
      for (const f of events) for (const n of Object.keys(f.profiles)) names.set(n, (names.get(n) ?? 0) + 1);
      profile = names.has('cpu') ? 'cpu' : ([...names.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null);
    }
    const withProfile = profile ? events.filter((f) => f.profiles[profile!]) : [];
    const used = withProfile.slice(0, limit);
    const unit = used[0]?.profiles[profile!]!.unit ?? 'samples';
    const nested = foldedToNested(
      sumFolded(...used.map((f) => f.profiles[profile!]!.folded)),
      profile ?? 'merged',
      unit
    );
    return {
      ...nested,
      merge: {
        profile,
        events: used.length,
        matched: withProfile.length,
        skipped: 0,
        truncated: withProfile.length > used.length,
        eventIds: used.map((f) => f.event.id),
      },
    };
  }

  private flamegraph(res: http.ServerResponse, fx: FixtureEvent, q: URLSearchParams): void {
    const names = Object.keys(fx.profiles);
    const name = q.get('profile') ?? names[0];
    const p = name ? fx.profiles[name] : undefined;
    if (!p || !name) return this.error(res, 404, 'NOT_FOUND', 'no flame graph for this event');
    const format = q.get('format') ?? 'nested';
    const folded = Object.entries(p.folded)
      .map(([k, v]) => `${k} ${v}`)
      .join('\n');
    switch (format) {
      case 'nested': {
        const nested: NestedFlamegraph = foldedToNested(p.folded, name, p.unit);
        return this.send(res, 200, nested);
      }
      case 'folded':
        return this.send(res, 200, `${folded}\n`, 'text/plain; charset=utf-8');
      case 'pprof':
        return this.send(res, 200, gzipSync(Buffer.from(`fixture-pprof:${folded}`)), 'application/octet-stream');
      case 'svg':
        return this.send(
          res,
          200,
          `<svg xmlns="http://www.w3.org/2000/svg"><text>${name}</text><!--${'x'.repeat(this.opts.svgPadBytes ?? 0)}--></svg>`,
          'image/svg+xml'
        );
      default:
        return this.error(res, 400, 'BAD_REQUEST', `bad format ${format}`);
    }
  }
}

/** A port on loopback where nothing listens (for "agent down"). */
export async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
