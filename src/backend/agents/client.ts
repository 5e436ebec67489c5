// HTTP client for one agent's API (DESIGN.md "HTTP API"): keep-alive connections, bearer token, a
// deadline per call, a response size cap, typed and schema-checked JSON. Every failure becomes an
// AgentError whose `reason` is one short human phrase, used in notices and health messages.
import * as http from 'node:http';
import * as https from 'node:https';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema, Static } from '@sinclair/typebox';
import {
  CountsResponseSchema,
  EventSchema,
  InfoResponseSchema,
  ListEventsResponseSchema,
  MergedFlamegraphSchema,
  NestedFlamegraphSchema,
  type AutotracingEvent,
  type CountsResponse,
  type InfoResponse,
  type ListEventsResponse,
  type MergedFlamegraph,
  type NestedFlamegraph,
} from '../../../agent/src/api/schemas';
import type { AgentConfig } from '../settings';

export type AgentErrorKind =
  'unreachable' | 'timeout' | 'unauthorised' | 'forbidden' | 'not_found' | 'http' | 'bad_response' | 'cancelled';

export class AgentError extends Error {
  constructor(
    readonly agent: string,
    readonly kind: AgentErrorKind,
    readonly reason: string,
    readonly status?: number
  ) {
    super(`${agent}: ${reason}`);
  }
}

export interface RawResponse {
  status: number;
  contentType: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** send the bearer token (everything but /healthz) */
  auth?: boolean;
  accept?: string;
}

export const MAX_RESPONSE_BYTES = 128 * 1024 * 1024;

const checks = new Map<TSchema, TypeCheck<TSchema>>();
function checker<T extends TSchema>(schema: T): TypeCheck<T> {
  let c = checks.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    checks.set(schema, c);
  }
  return c as TypeCheck<T>;
}

/** First schema violation as "path: message", for error text. */
export function firstSchemaError<T extends TSchema>(schema: T, value: unknown): string | null {
  const c = checker(schema);
  if (c.Check(value)) return null;
  const e = c.Errors(value).First();
  return e ? `${e.path || '/'}: ${e.message}` : 'does not match the schema';
}

function describeNetError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${err.code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable (${err.code})`;
    case 'ECONNRESET':
      return 'connection reset';
    case 'EPIPE':
      return 'connection closed';
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message;
  }
}

export class AgentClient {
  private readonly base: URL;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;

  constructor(
    readonly config: AgentConfig,
    private readonly token: string | null,
    private readonly defaultTimeoutMs: number,
    maxSockets = 16,
    /** told the outcome of every request: "2xx", "4xx", "5xx" or the failure kind */
    private readonly observe: (outcome: string) => void = () => undefined
  ) {
    this.base = new URL(config.url);
    this.transport = this.base.protocol === 'https:' ? https : http;
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets, maxFreeSockets: 4, timeout: 60_000 })
        : new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: 4, timeout: 60_000 });
  }

  get name(): string {
    return this.config.name;
  }

  get url(): string {
    return this.config.url;
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * GET `path` (a fixed API route built by this backend; never user-supplied) with encoded query
   * parameters. Resolves for any HTTP status; rejects with AgentError for transport failures.
   */
  get(
    path: string,
    query: Record<string, string | number | undefined> = {},
    opts: RequestOptions = {}
  ): Promise<RawResponse> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: http.OutgoingHttpHeaders = {
      accept: opts.accept ?? 'application/json',
      'user-agent': 'huatuo-autotracing-datasource',
    };
    if (opts.auth !== false && this.token) headers.authorization = `Bearer ${this.token}`;
    const name = this.config.name;

    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const fail = (kind: AgentErrorKind, reason: string, status?: number): void => {
        if (settled) return;
        settled = true;
        cleanup();
        req.destroy();
        this.observe(kind);
        reject(new AgentError(name, kind, reason, status));
      };
      const timer = setTimeout(
        () => fail('timeout', `timed out after ${this.defaultTimeoutMs} ms`),
        this.defaultTimeoutMs
      );
      const onAbort = (): void => {
        const r: unknown = opts.signal?.reason;
        if (r instanceof AgentError) fail(r.kind, r.reason);
        else fail('cancelled', r instanceof Error ? r.message : 'request cancelled');
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      if (opts.signal?.aborted) {
        clearTimeout(timer);
        const r: unknown = opts.signal.reason;
        reject(
          r instanceof AgentError
            ? new AgentError(name, r.kind, r.reason)
            : new AgentError(name, 'cancelled', 'request cancelled')
        );
        return;
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });

      const req = this.transport.request(url, { method: 'GET', headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            fail('bad_response', `response larger than ${MAX_RESPONSE_BYTES} bytes`);
            res.destroy();
            return;
          }
          chunks.push(c);
        });
        res.on('error', (err) => fail('unreachable', describeNetError(err)));
        res.on('aborted', () => fail('unreachable', 'response aborted'));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          cleanup();
          this.observe(`${Math.floor((res.statusCode ?? 0) / 100)}xx`);
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            headers: res.headers,
            body: Buffer.concat(chunks),
          });
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => fail('unreachable', describeNetError(err)));
      req.end();
    });
  }

  /** GET a JSON route, check the status and the body against `schema`. */
  async getJson<T extends TSchema>(
    path: string,
    schema: T,
    query: Record<string, string | number | undefined> = {},
    opts: RequestOptions = {}
  ): Promise<Static<T>> {
    const res = await this.get(path, query, opts);
    ensureOk(this.config.name, res);
    let body: unknown;
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new AgentError(this.config.name, 'bad_response', `${path} did not return JSON`, res.status);
    }
    const problem = firstSchemaError(schema, body);
    if (problem)
      throw new AgentError(
        this.config.name,
        'bad_response',
        `${path} returned an unexpected shape (${problem})`,
        res.status
      );
    return body as Static<T>;
  }

  health(opts: RequestOptions = {}): Promise<RawResponse> {
    return this.get('/healthz', {}, { ...opts, auth: false, accept: '*/*' });
  }

  info(opts: RequestOptions = {}): Promise<InfoResponse> {
    return this.getJson('/api/v1/info', InfoResponseSchema, {}, opts);
  }

  listEvents(
    query: Record<string, string | number | undefined>,
    opts: RequestOptions = {}
  ): Promise<ListEventsResponse> {
    return this.getJson('/api/v1/events', ListEventsResponseSchema, query, opts);
  }

  event(id: string, opts: RequestOptions = {}): Promise<AutotracingEvent> {
    return this.getJson(`/api/v1/events/${encodeURIComponent(id)}`, EventSchema, {}, opts);
  }

  nestedFlamegraph(id: string, profile: string | undefined, opts: RequestOptions = {}): Promise<NestedFlamegraph> {
    return this.getJson(
      `/api/v1/events/${encodeURIComponent(id)}/flamegraph`,
      NestedFlamegraphSchema,
      { format: 'nested', profile },
      opts
    );
  }

  flamegraphRaw(
    id: string,
    format: string,
    profile: string | undefined,
    opts: RequestOptions = {}
  ): Promise<RawResponse> {
    return this.get(
      `/api/v1/events/${encodeURIComponent(id)}/flamegraph`,
      { format, profile },
      { ...opts, accept: '*/*' }
    );
  }

  /** GET /api/v1/flamegraph?format=nested: the agent's matching captures merged into one graph. */
  mergedFlamegraph(
    query: Record<string, string | number | undefined>,
    opts: RequestOptions = {}
  ): Promise<MergedFlamegraph> {
    return this.getJson('/api/v1/flamegraph', MergedFlamegraphSchema, { ...query, format: 'nested' }, opts);
  }

  counts(query: Record<string, string | number | undefined>, opts: RequestOptions = {}): Promise<CountsResponse> {
    return this.getJson('/api/v1/stats/counts', CountsResponseSchema, query, opts);
  }
}

/** The agent's `{ error: { code, message } }` text, or a short excerpt of the body. */
export function errorBodyText(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (parsed && parsed.error && typeof parsed.error.message === 'string') {
      return typeof parsed.error.code === 'string'
        ? `${parsed.error.code}: ${parsed.error.message}`
        : parsed.error.message;
    }
  } catch {
    /* not JSON */
  }
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}

/** Throws the right AgentError for a non-2xx response. */
export function ensureOk(agent: string, res: RawResponse): void {
  if (res.status >= 200 && res.status < 300) return;
  const detail = errorBodyText(res.body);
  const suffix = detail ? `: ${detail}` : '';
  if (res.status === 401) throw new AgentError(agent, 'unauthorised', `token rejected (HTTP 401${suffix})`, 401);
  if (res.status === 403) throw new AgentError(agent, 'forbidden', `token not allowed (HTTP 403${suffix})`, 403);
  if (res.status === 404) throw new AgentError(agent, 'not_found', `not found (HTTP 404${suffix})`, 404);
  throw new AgentError(agent, 'http', `HTTP ${res.status}${suffix}`, res.status);
}
