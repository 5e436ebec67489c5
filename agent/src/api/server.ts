// The agent's HTTP API (DESIGN.md "HTTP API"; docs/api.md for users): Fastify with TypeBox schemas
// (the same ones the Grafana datasource backend imports), bearer-token scopes, a per-client rate
// limit, body and page limits, all read from the live config on every request so a SIGHUP reload
// applies without a restart. `buildServer` returns the instance ready but not listening; the daemon
// calls listen() and close().
import { readFileSync } from 'node:fs';
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { Transform, type TransformCallback } from 'node:stream';
import { fastify, LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fastifySwagger from '@fastify/swagger';
import fastifyRateLimit from '@fastify/rate-limit';
import { Type, type TSchema } from '@sinclair/typebox';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { AgentConfig } from '../config';
import type { AgentFacade } from '../daemon/facade';
import { TRACER_TYPES } from '../events/event';
import { authorize, type Access } from './auth';
import { ApiError, badRequest, notFound, toHttpFailure } from './errors';
import {
  chooseEventProfile,
  eventTitle,
  loadProfile,
  mergeProfiles,
  render,
  type FlamegraphFormat,
} from './flamegraph';
import {
  CaptureAcceptedSchema,
  CaptureRequestSchema,
  ContainersResponseSchema,
  CountsQuerySchema,
  CountsResponseSchema,
  DEFAULT_MERGED_EVENTS,
  ErrorBodySchema,
  EventIdParamsSchema,
  EventSchema,
  FLAMEGRAPH_FORMATS,
  FlamegraphQuerySchema,
  HealthResponseSchema,
  HostsResponseSchema,
  InfoResponseSchema,
  ListEventsQuerySchema,
  ListEventsResponseSchema,
  MergedFlamegraphQuerySchema,
  MergedFlamegraphSchema,
  NestedFlamegraphSchema,
  StreamQuerySchema,
  TimeRangeQuerySchema,
  TracerPatchSchema,
  TracerStateSchema,
  TracersResponseSchema,
  TracerTypeParamsSchema,
  type CountsResponse,
} from './schemas';
import { StreamRegistry } from './stream';
import { autoStep, parseRange, parseStep } from './time';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** who may call the route (auth.ts); unknown routes need a read token */
    access?: Access;
  }
}

export const API_PREFIX = '/api/v1';
/** Fastify's own body cap; the configured api.bodyLimit (at most 64 MiB) is enforced per request below it. */
const BODY_CEILING = 64 * 1024 * 1024;

export interface HttpsOptions {
  cert: Buffer;
  key: Buffer;
}

export interface BuildOptions {
  /** TLS material; default: httpsOptions(agent.config()) (null: plain HTTP even if the config names files) */
  https?: HttpsOptions | null;
  /** SSE heartbeat interval (default 15 s) */
  heartbeatMs?: number;
  /** concurrent event streams (default 64) */
  maxStreams?: number;
}

/** The TLS key and certificate named by api.tls, read now; null when TLS is not configured. */
export function httpsOptions(config: AgentConfig): HttpsOptions | null {
  const { cert, key } = config.api.tls;
  if (!cert || !key) return null;
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

/**
 * After a SIGHUP with new certificate files at the same paths: load them into the running HTTPS server
 * (new connections use them). Returns false for a plain-HTTP server.
 */
export function reloadTls(app: FastifyInstance, config: AgentConfig): boolean {
  const opts = httpsOptions(config);
  const server = app.server as unknown as { setSecureContext?: (o: SecureContextOptions) => void };
  if (!opts || typeof server.setSecureContext !== 'function') return false;
  server.setSecureContext(opts);
  return true;
}

// ---------------------------------------------------------------------------------------------
// input checks beyond the schemas

/** Container ids, names, pod names and systemd unit names; quotes, spaces, `;`, `/` and friends are refused. */
const CONTAINER_RE = /^[A-Za-z0-9][A-Za-z0-9_.:@+\\-]*$/;
const HOST_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function checkName(param: string, v: string | undefined, re: RegExp): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (!re.test(v)) throw badRequest(`${param}: unexpected characters in "${v.slice(0, 64)}"`);
  return v;
}

function splitTypes(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const types = [...new Set(v.split(','))];
  for (const t of types) {
    if (!(TRACER_TYPES as readonly string[]).includes(t))
      throw badRequest(`type: unknown event type "${t}" (known: ${TRACER_TYPES.join(', ')})`);
  }
  return types;
}

/** Readable messages for schema validation errors (Fastify/Ajv's own name neither the parameter nor the choices). */
interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}
const CHOICES: Record<string, readonly string[]> = {
  format: FLAMEGRAPH_FORMATS,
  type: TRACER_TYPES,
  by: ['type', 'container'],
};
export function validationMessage(context: string, errors: readonly AjvError[]): string {
  const e =
    errors.find((x) => x.keyword === 'additionalProperties') ?? errors.find((x) => x.keyword === 'anyOf') ?? errors[0];
  if (!e) return `invalid ${context}`;
  const where = context === 'body' ? 'body' : context === 'querystring' ? 'query' : context;
  const field = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'additionalProperties') {
    const extra = String(e.params.additionalProperty);
    return context === 'querystring'
      ? `unknown query parameter "${extra.slice(0, 64)}"`
      : `${where}: unknown field "${extra.slice(0, 64)}"`;
  }
  const name = field || where;
  const last = field.split('.').pop() ?? '';
  if ((e.keyword === 'anyOf' || e.keyword === 'const') && CHOICES[last])
    return `${name}: must be one of ${CHOICES[last]!.join(', ')}`;
  if (e.keyword === 'required') return `${where}: missing "${String(e.params.missingProperty)}"`;
  return `${name} ${e.message ?? 'is invalid'}`;
}

// ---------------------------------------------------------------------------------------------
// per-request body limit (the configured value may change on reload; Fastify's is fixed at start)

class LimitStream extends Transform {
  receivedEncodedLength = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.receivedEncodedLength += chunk.length;
    if (this.receivedEncodedLength > this.limit)
      cb(new ApiError(413, 'PAYLOAD_TOO_LARGE', `request body is larger than ${this.limit} bytes`));
    else cb(null, chunk);
  }
}

function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
}

// ---------------------------------------------------------------------------------------------
// metrics of the API itself

function apiMetrics(registry: Registry): {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'route'>;
} {
  const requests =
    (registry.getSingleMetric('autotracing_api_requests_total') as
      Counter<'method' | 'route' | 'status'> | undefined) ??
    new Counter({
      name: 'autotracing_api_requests_total',
      help: 'HTTP API requests by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric('autotracing_api_request_duration_seconds') as Histogram<'route'> | undefined) ??
    new Histogram({
      name: 'autotracing_api_request_duration_seconds',
      help: 'HTTP API request duration by route pattern',
      labelNames: ['route'],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10],
      registers: [registry],
    });
  return { requests, duration };
}

// ---------------------------------------------------------------------------------------------

const errorResponses = { '4xx': ErrorBodySchema, '5xx': ErrorBodySchema };
const flamegraphResponse = (json: TSchema, what: string) => ({
  200: {
    description: `${what}: nested-set rows (format=nested, default), folded text, gzipped pprof protobuf or an SVG image`,
    content: {
      'application/json': { schema: json },
      'text/plain': { schema: Type.String() },
      'application/octet-stream': { schema: Type.String({ format: 'binary' }) },
      'image/svg+xml': { schema: Type.String() },
    },
  },
  ...errorResponses,
});

/** Requests Node's HTTP parser rejects (malformed, headers too large) get our error shape too. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'BAD_REQUEST', 'request headers too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'BAD_REQUEST', 'request not received in time']
        : [400, 'BAD_REQUEST', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
    );
  }
  socket.destroy();
}

export async function buildServer(agent: AgentFacade, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const tls = opts.https === undefined ? httpsOptions(agent.config()) : opts.https;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const maxStreams = opts.maxStreams ?? 64;
  const log = agent.log.child(
    { component: 'api' },
    {
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'authorization', 'token'],
        censor: '[redacted]',
      },
    }
  );
  const common = {
    loggerInstance: log,
    // request lines are logged at debug level by the onResponse hook below, not at info for every poll
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_CEILING,
    // requests still arriving while the daemon closes the server are served (with our error shapes)
    return503OnClosing: false,
    clientErrorHandler,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array' as const, useDefaults: true, allErrors: false },
    },
  };
  const base = tls
    ? fastify({ ...common, https: { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' as const } })
    : fastify(common);
  const app = (base as unknown as FastifyInstance).withTypeProvider<TypeBoxTypeProvider>();
  const streams = new StreamRegistry();
  const metrics = apiMetrics(agent.metrics);
  const api = (): AgentConfig['api'] => agent.config().api;

  // text/plain bodies are not part of this API: a POST with one is a 415, not a confusing 400
  app.removeContentTypeParser('text/plain');

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'AutoTracing agent API',
        version: '1',
        description:
          'Captures (events) with their evidence and flame graphs, trigger counts, tracer settings. See docs/api.md.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'read or admin token (api.tokens)' },
        },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: 'health', description: 'liveness, readiness, Prometheus metrics' },
        { name: 'events', description: 'captures and their evidence' },
        { name: 'control', description: 'manual captures and tracer settings (admin token)' },
      ],
    },
  });
  await app.register(fastifyRateLimit, { global: false });
  const limiter = app.createRateLimit({
    max: () => Math.max(1, api().rateLimit.max),
    timeWindow: () => api().rateLimit.window,
    allowList: () => api().rateLimit.max === 0,
  });

  // ---- hooks: rate limit (before auth, so guessing tokens is limited too), then auth -------------
  app.addHook('onRequest', async (req, reply) => {
    const access = req.routeOptions.config.access ?? 'read';
    if (access !== 'health') {
      const r = await limiter(req);
      if (!r.isAllowed && r.isExceeded) {
        reply
          .header('x-ratelimit-limit', r.max)
          .header('x-ratelimit-remaining', 0)
          .header('x-ratelimit-reset', r.ttlInSeconds);
        throw new ApiError(
          429,
          'RATE_LIMITED',
          `rate limit exceeded: ${r.max} requests per ${Math.round(r.timeWindow / 1000)}s; retry in ${r.ttlInSeconds}s`,
          {
            'retry-after': String(r.ttlInSeconds),
          }
        );
      }
      if (!r.isAllowed)
        reply
          .header('x-ratelimit-limit', r.max)
          .header('x-ratelimit-remaining', r.remaining)
          .header('x-ratelimit-reset', r.ttlInSeconds);
    }
    authorize(api(), access, req.headers.authorization);
  });

  app.addHook('preParsing', async (req, _reply, payload) => {
    if (!hasBody(req.headers)) return payload;
    const limit = api().bodyLimit;
    if (Number(req.headers['content-length'] ?? 0) > limit)
      throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `request body is larger than ${limit} bytes`);
    const limited = new LimitStream(limit);
    payload.on('error', (e) => limited.destroy(e));
    return payload.pipe(limited);
  });

  // `type=a&type=b` means the same as `type=a,b`
  app.addHook('preValidation', async (req) => {
    const q = req.query as Record<string, unknown> | undefined;
    if (q && Array.isArray(q.type) && q.type.every((t) => typeof t === 'string')) q.type = q.type.join(',');
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ route }, reply.elapsedTime / 1000);
    req.log.debug(
      { method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request'
    );
  });

  app.addHook('preClose', async () => {
    streams.closeAll();
  });

  app.setErrorHandler(async (err, req, reply) => {
    const errObj = err as { validation?: AjvError[]; validationContext?: string };
    const f = Array.isArray(errObj.validation)
      ? {
          status: 400,
          body: {
            error: {
              code: 'BAD_REQUEST',
              message: validationMessage(errObj.validationContext ?? 'request', errObj.validation),
            },
          },
          headers: {},
          internal: false,
        }
      : toHttpFailure(err);
    if (f.internal) req.log.error({ err, method: req.method, url: req.routeOptions.url }, 'request failed');
    else req.log.debug({ status: f.status, code: f.body.error.code }, f.body.error.message);
    for (const [k, v] of Object.entries(f.headers)) reply.header(k, v);
    return reply.status(f.status).type('application/json; charset=utf-8').send(f.body);
  });

  app.setNotFoundHandler(async (req, reply) => {
    return reply
      .status(404)
      .send({
        error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` },
      });
  });

  // ---- health and metrics -------------------------------------------------------------------------
  app.get(
    '/healthz',
    {
      config: { access: 'health' },
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process serves HTTP',
        security: [],
        response: { 200: HealthResponseSchema },
      },
    },
    async () => ({ status: 'ok' })
  );
  app.get(
    '/readyz',
    {
      config: { access: 'health' },
      schema: {
        tags: ['health'],
        summary: 'Readiness: store open and detectors running',
        security: [],
        response: { 200: HealthResponseSchema, 503: ErrorBodySchema },
      },
    },
    async () => {
      if (!agent.isReady()) throw new ApiError(503, 'NOT_READY', 'agent is starting or stopping');
      return { status: 'ready' };
    }
  );
  app.get(
    '/metrics',
    {
      config: { access: 'metrics' },
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics (text exposition format)',
        security: [],
        response: { 200: { description: 'Prometheus text', content: { 'text/plain': { schema: Type.String() } } } },
      },
    },
    async (_req, reply) => {
      const text = await agent.metrics.metrics();
      return reply.type(agent.metrics.contentType).send(text);
    }
  );

  // ---- events -------------------------------------------------------------------------------------
  app.get(
    `${API_PREFIX}/info`,
    {
      config: { access: 'read' },
      schema: {
        tags: ['events'],
        summary: 'Host, versions, kernel capabilities, tracers and thresholds',
        response: { 200: InfoResponseSchema, ...errorResponses },
      },
    },
    async () => agent.info()
  );

  // the shared schema caps limit at 1000; here the configured api.maxPageSize (≤ 10000) decides
  const ListQuery = Type.Object(
    { ...ListEventsQuerySchema.properties, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })) },
    { additionalProperties: false }
  );
  app.get(
    `${API_PREFIX}/events`,
    {
      config: { access: 'read' },
      schema: {
        tags: ['events'],
        summary: 'Events newest first, filtered, paginated with nextCursor',
        querystring: ListQuery,
        response: { 200: ListEventsResponseSchema, ...errorResponses },
      },
    },
    async (req) => {
      const cfg = api();
      const q = req.query;
      // above api.maxPageSize the page is cut to it (clients cannot know the setting; nextCursor continues);
      // above the schema's bound (10000) it is a 400
      const limit = Math.min(q.limit ?? cfg.defaultPageSize, cfg.maxPageSize);
      const { from, to } = parseRange(q);
      return agent.store.listEvents({
        types: splitTypes(q.type),
        from,
        to,
        container: checkName('container', q.container, CONTAINER_RE),
        host: checkName('host', q.host, HOST_RE),
        limit,
        cursor: q.cursor === '' ? undefined : q.cursor,
      });
    }
  );

  app.get(
    `${API_PREFIX}/events/stream`,
    {
      config: { access: 'read' },
      schema: {
        tags: ['events'],
        summary:
          'Server-sent events: an `event` message (data: the Event JSON) each time a capture ends; heartbeat comments',
        querystring: StreamQuerySchema,
        response: {
          200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: Type.String() } } },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      if (streams.size >= maxStreams)
        throw new ApiError(503, 'TOO_MANY_STREAMS', `at most ${maxStreams} event streams at once`, {
          'retry-after': '30',
        });
      const filter = {
        types: splitTypes(req.query.type) ?? null,
        container: checkName('container', req.query.container, CONTAINER_RE) ?? null,
      };
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        // the socket closes with the stream: nothing to keep alive, and shutdown is not held up
        connection: 'close',
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();
      req.log.debug({ open: streams.size + 1 }, 'event stream opened');
      streams.run(res, agent.store, filter, heartbeatMs, (why) =>
        req.log.debug({ why, open: streams.size }, 'event stream closed')
      );
    }
  );

  app.get(
    `${API_PREFIX}/events/:id`,
    {
      config: { access: 'read' },
      schema: {
        tags: ['events'],
        summary: 'One event',
        params: EventIdParamsSchema,
        response: { 200: EventSchema, ...errorResponses },
      },
    },
    async (req) => {
      const e = agent.store.getEvent(req.params.id.toUpperCase());
      if (!e) throw notFound(`no event ${req.params.id}`);
      return e;
    }
  );

  app.get(
    `${API_PREFIX}/events/:id/flamegraph`,
    {
      config: { access: 'read' },
      schema: {
        tags: ['events'],
        summary: "An event's flame graph (default: its first) as nested rows, folded text, pprof or SVG",
        params: EventIdParamsSchema,
        querystring: FlamegraphQuerySchema,
        response: flamegraphResponse(NestedFlamegraphSchema, 'the flame graph'),
      },
    },
    async (req, reply) => {
      const e = agent.store.getEvent(req.params.id.toUpperCase());
      if (!e) throw notFound(`no event ${req.params.id}`);
      const name = chooseEventProfile(agent.store, e, req.query.profile);
      const profile = loadProfile(agent.store, e, name);
      const format: FlamegraphFormat = req.query.format ?? 'nested';
      const out = render(profile, format, { name, title: eventTitle(e, name), fileBase: `${e.type}-${e.id}-${name}` });
      reply.header('x-autotracing-profile', name);
      for (const [k, v] of Object.entries(out.headers)) reply.header(k, v);
      return reply.type(out.contentType).send(out.body);
    }
  );

  app.get(
    `${API_PREFIX}/flamegraph`,
    {
      config: { access: 'read' },
      schema: {
        tags: ['events'],
        summary:
          'The flame graphs of all matching events merged into one (newest first, at most `limit`; X-Autotracing-* headers say how many)',
        querystring: MergedFlamegraphQuerySchema,
        response: flamegraphResponse(MergedFlamegraphSchema, 'the merged flame graph'),
      },
    },
    async (req, reply) => {
      const q = req.query;
      const { from, to } = parseRange(q);
      const limit = q.limit ?? DEFAULT_MERGED_EVENTS;
      // look at more events than we merge: not every event has the chosen profile
      const scan = agent.store.listEvents({
        types: splitTypes(q.type),
        from,
        to,
        container: checkName('container', q.container, CONTAINER_RE),
        host: checkName('host', q.host, HOST_RE),
        limit: Math.min(10_000, Math.max(limit * 4, 200)),
      });
      const events = scan.events.filter((e) => e.status !== 'capturing');
      const { profile, info } = await mergeProfiles(agent.store, events, q.profile, limit, scan.nextCursor !== null);
      const format: FlamegraphFormat = q.format ?? 'nested';
      const span = `${from !== undefined ? new Date(from).toISOString() : 'the oldest event'} to ${to !== undefined ? new Date(to).toISOString() : 'now'}`;
      const title = `${info.profile ?? 'flame graph'} merged over ${info.events} event(s) on ${agent.config().host}, ${span}`;
      const out = render(profile, format, {
        name: info.profile ?? 'merged',
        title,
        fileBase: `merged-${info.profile ?? 'none'}`,
        comments: [title, ...info.eventIds.slice(0, 50).map((id) => `event ${id}`)],
      });
      reply
        .header('x-autotracing-profile', info.profile ?? '')
        .header('x-autotracing-merged-events', String(info.events))
        .header('x-autotracing-matched-events', String(info.matched))
        .header('x-autotracing-skipped-events', String(info.skipped))
        .header('x-autotracing-truncated', String(info.truncated));
      for (const [k, v] of Object.entries(out.headers)) reply.header(k, v);
      const body = format === 'nested' ? { ...(out.body as object), merge: info } : out.body;
      return reply.type(out.contentType).send(body);
    }
  );

  app.get(
    `${API_PREFIX}/stats/counts`,
    {
      config: { access: 'read' },
      schema: {
        tags: ['events'],
        summary: 'Trigger counts per time bucket, one series per type or container (labels include host)',
        querystring: CountsQuerySchema,
        response: { 200: CountsResponseSchema, ...errorResponses },
      },
    },
    async (req): Promise<CountsResponse> => {
      const q = req.query;
      const now = Date.now();
      const r = parseRange(q, now);
      const to = r.to ?? Math.max(now, r.from ?? now);
      const from = r.from ?? Math.min(to, now) - 3_600_000;
      const stepMs = q.step !== undefined ? parseStep(q.step) : autoStep(from, to);
      const by = q.by ?? 'type';
      const host = checkName('host', q.host, HOST_RE);
      const c = agent.store.counts({
        from,
        to,
        stepMs,
        by,
        types: splitTypes(q.type),
        container: checkName('container', q.container, CONTAINER_RE),
        host,
      });
      const hostLabel = host ?? agent.config().host;
      return {
        host: hostLabel,
        from: c.from,
        to: c.to,
        stepMs: c.stepMs,
        by: c.by,
        buckets: c.buckets,
        series: c.series.map((s) => ({ labels: { ...s.labels, host: hostLabel }, values: s.values })),
      };
    }
  );

  app.get(
    `${API_PREFIX}/hosts`,
    {
      config: { access: 'read' },
      schema: {
        tags: ['events'],
        summary: 'Host names of the stored events (for Grafana template variables)',
        response: { 200: HostsResponseSchema, ...errorResponses },
      },
    },
    async () => ({ hosts: [...new Set([agent.config().host, ...agent.store.hosts()])].sort() })
  );

  app.get(
    `${API_PREFIX}/containers`,
    {
      config: { access: 'read' },
      schema: {
        tags: ['events'],
        summary: 'Containers that have events, latest first (for Grafana template variables)',
        querystring: TimeRangeQuerySchema,
        response: { 200: ContainersResponseSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { from, to } = parseRange(req.query);
      return { containers: agent.store.containers({ from, to }) };
    }
  );

  // ---- control ------------------------------------------------------------------------------------
  app.post(
    `${API_PREFIX}/captures`,
    {
      config: { access: 'admin' },
      schema: {
        tags: ['control'],
        summary: 'Start a capture now (admin token); 202 with the new event id',
        body: CaptureRequestSchema,
        response: { 202: CaptureAcceptedSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const body = req.body;
      if (body.container !== undefined) checkName('container', body.container, CONTAINER_RE);
      const accepted = await agent.requestCapture(body);
      return reply.status(202).header('location', `${API_PREFIX}/events/${accepted.id}`).send(accepted);
    }
  );

  app.get(
    `${API_PREFIX}/tracers`,
    {
      config: { access: 'read' },
      schema: {
        tags: ['control'],
        summary: 'Tracer settings and latest detector readings',
        response: { 200: TracersResponseSchema, ...errorResponses },
      },
    },
    async () => ({ tracers: agent.tracers() })
  );

  app.patch(
    `${API_PREFIX}/tracers/:type`,
    {
      config: { access: 'admin' },
      schema: {
        tags: ['control'],
        summary: 'Change a tracer at run time (admin token): enabled, thresholds, durations',
        params: TracerTypeParamsSchema,
        body: TracerPatchSchema,
        response: { 200: TracerStateSchema, ...errorResponses },
      },
    },
    async (req) => {
      const r = agent.patchTracer(req.params.type, req.body);
      if (!r.ok) throw badRequest(r.errors.join('; '));
      return r.state;
    }
  );

  app.get(
    `${API_PREFIX}/openapi.json`,
    { config: { access: 'read' }, schema: { tags: ['health'], summary: 'This API as an OpenAPI 3 document' } },
    async (_req, reply: FastifyReply) => reply.type('application/json; charset=utf-8').send(app.swagger())
  );

  await app.ready();
  return app as unknown as FastifyInstance;
}

export type { FastifyInstance, FastifyRequest };
