// The gRPC server Grafana's plugin host talks to: go-plugin's health, controller and stdio services,
// and Grafana's Data, Diagnostics and Resource services. Handlers never let an exception escape: a
// failure becomes a per-query error, an ERROR health result or an HTTP-style error response.
import * as grpc from '@grpc/grpc-js';
import { checkHealth } from '../health';
import { InstanceManager, type DatasourceInstance } from '../instance';
import type { Logger } from '../log';
import { Metrics } from '../metrics';
import { fitResponses, runQuery } from '../query/handlers';
import { callResource, jsonResponse } from '../resources';
import type { DnsLike } from '../agents/discovery';
import { SERVICES, serviceDefinition } from './grpc';
import {
  HealthStatus,
  ServingStatus,
  type CallResourceRequest,
  type CallResourceResponse,
  type CheckHealthRequest,
  type CheckHealthResponse,
  type CollectMetricsRequest,
  type CollectMetricsResponse,
  type Empty,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type PluginContext,
  type QueryDataRequest,
  type QueryDataResponse,
  type StdioData,
} from './messages';

/** Bodies above this are sent as several CallResourceResponse messages (Grafana appends them). */
export const RESOURCE_CHUNK_BYTES = 1024 * 1024;

export interface PluginServerOptions {
  log: Logger;
  /** called once after Shutdown was answered */
  onShutdown: () => void;
  resolver?: DnsLike;
}

type Call = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

/** An AbortSignal that fires when Grafana cancels the call (request context cancelled). */
function callSignal(call: Call): AbortSignal {
  const ac = new AbortController();
  call.on('cancelled', () => ac.abort(new Error('cancelled by Grafana')));
  return ac.signal;
}

export class PluginServer {
  readonly server: grpc.Server;
  readonly metrics = new Metrics();
  readonly instances: InstanceManager;
  private readonly stdioStreams = new Set<grpc.ServerWritableStream<Empty, StdioData>>();
  private shuttingDown = false;

  constructor(private readonly opts: PluginServerOptions) {
    this.instances = new InstanceManager(opts.log, opts.resolver, (outcome) => this.metrics.agentRequest(outcome));
    // grpc-js logs plain text to stderr (e.g. "No address added out of total 1 resolved" while we try
    // ports); route it through our JSON logger so Grafana's host can parse every stderr line.
    const glog = opts.log.child({ component: 'grpc-js' });
    grpc.setLogger({
      // a taken port while we walk the range is expected; anything else is worth a warning
      error: (...a: unknown[]) => {
        const msg = a.map(String).join(' ');
        if (/No address added|EADDRINUSE/.test(msg)) glog.debug(msg);
        else glog.warn(msg);
      },
      info: (...a: unknown[]) => glog.debug(a.map(String).join(' ')),
      debug: (...a: unknown[]) => glog.trace(a.map(String).join(' ')),
    } as unknown as Console);
    grpc.setLogVerbosity(grpc.logVerbosity.ERROR);
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': -1,
    });
    this.register();
  }

  private instanceFor(ctx: PluginContext | null | undefined): () => DatasourceInstance {
    return () => {
      const inst = this.instances.get(ctx?.dataSourceInstanceSettings);
      this.metrics.instances.set(this.instances.size);
      return inst;
    };
  }

  private register(): void {
    const log = this.opts.log;

    this.server.addService(serviceDefinition(SERVICES.health), {
      Check: (
        call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
        cb: grpc.sendUnaryData<HealthCheckResponse>
      ) => {
        const svc = call.request.service;
        if (svc === '' || svc === 'plugin')
          cb(null, { status: this.shuttingDown ? ServingStatus.NOT_SERVING : ServingStatus.SERVING });
        else cb({ code: grpc.status.NOT_FOUND, details: `unknown service ${svc}` });
      },
      Watch: (call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        call.write({ status: ServingStatus.SERVING });
      },
    });

    this.server.addService(serviceDefinition(SERVICES.controller), {
      Shutdown: (_call: grpc.ServerUnaryCall<Empty, Empty>, cb: grpc.sendUnaryData<Empty>) => {
        log.info('shutdown requested by the plugin host');
        this.shuttingDown = true;
        cb(null, {});
        // answer first, then leave: stop() waits for this reply to go out before the server closes
        // (the host waits for the exit, and kills us after 2 s otherwise)
        setImmediate(() => this.opts.onShutdown());
      },
    });

    this.server.addService(serviceDefinition(SERVICES.stdio), {
      // We never write to stdout after the handshake and our logs go to stderr, which the host reads
      // directly; the stream is held open (empty) until shutdown, as go-plugin expects.
      StreamStdio: (call: grpc.ServerWritableStream<Empty, StdioData>) => {
        this.stdioStreams.add(call);
        call.on('cancelled', () => this.stdioStreams.delete(call));
      },
    });

    this.server.addService(serviceDefinition(SERVICES.data), {
      QueryData: (
        call: grpc.ServerUnaryCall<QueryDataRequest, QueryDataResponse>,
        cb: grpc.sendUnaryData<QueryDataResponse>
      ) => {
        const req = call.request;
        const signal = callSignal(call);
        const getInstance = this.instanceFor(req.pluginContext);
        const fromAlert = Object.entries(req.headers ?? {}).some(
          ([k, v]) => k.toLowerCase() === 'fromalert' && v === 'true'
        );
        const qlog = log.child({ fromAlert, queries: req.queries.length });
        Promise.all(
          req.queries.map((q) =>
            runQuery(q, getInstance, { signal, log: qlog, metrics: this.metrics, fromAlert }).then(
              (r) => [q.refId, r] as const
            )
          )
        )
          .then((entries) => {
            const responses = Object.fromEntries(entries);
            const tooLarge = fitResponses(responses);
            if (tooLarge.length > 0)
              qlog.warn('results too large for one QueryData response', { refIds: tooLarge.join(',') });
            cb(null, { responses });
          })
          .catch((err: unknown) => {
            // runQuery never rejects; this is a last line of defence that still answers every refId
            log.error('QueryData failed unexpectedly', { error: err });
            const responses = Object.fromEntries(
              req.queries.map((q) => [
                q.refId,
                { frames: [], error: `internal error: ${String(err)}`, status: 500, errorSource: 'plugin' },
              ])
            );
            cb(null, { responses });
          });
      },
    });

    this.server.addService(serviceDefinition(SERVICES.diagnostics), {
      CheckHealth: (
        call: grpc.ServerUnaryCall<CheckHealthRequest, CheckHealthResponse>,
        cb: grpc.sendUnaryData<CheckHealthResponse>
      ) => {
        checkHealth(this.instanceFor(call.request.pluginContext), callSignal(call))
          .then((res) => {
            this.metrics.healthCheck(res.status === HealthStatus.OK ? 'ok' : 'error');
            cb(null, res);
          })
          .catch((err: unknown) => {
            log.error('CheckHealth failed unexpectedly', { error: err });
            this.metrics.healthCheck('error');
            cb(null, {
              status: HealthStatus.ERROR,
              message: `internal error: ${String(err)}`,
              jsonDetails: Buffer.from('{}'),
            });
          });
      },
      CollectMetrics: (
        _call: grpc.ServerUnaryCall<CollectMetricsRequest, CollectMetricsResponse>,
        cb: grpc.sendUnaryData<CollectMetricsResponse>
      ) => {
        this.metrics
          .text()
          .then((text) => cb(null, { metrics: { prometheus: Buffer.from(text) } }))
          .catch((err: unknown) => cb({ code: grpc.status.INTERNAL, details: String(err) }));
      },
    });

    this.server.addService(serviceDefinition(SERVICES.resource), {
      CallResource: (call: grpc.ServerWritableStream<CallResourceRequest, CallResourceResponse>) => {
        const req = call.request;
        const started = Date.now();
        callResource(req, this.instanceFor(req.pluginContext), callSignal(call))
          .catch((err: unknown) => ({
            route: 'unknown',
            response: jsonResponse(500, { error: { code: 'INTERNAL', message: String(err) } }),
          }))
          .then(({ route, response }) => {
            this.metrics.resourceCall(route, response.code);
            log.debug('resource call', { path: req.path, route, code: response.code, ms: Date.now() - started });
            const body = Buffer.from(response.body ?? new Uint8Array());
            call.write({
              code: response.code,
              headers: response.headers,
              body: body.subarray(0, RESOURCE_CHUNK_BYTES),
            });
            for (let at = RESOURCE_CHUNK_BYTES; at < body.length; at += RESOURCE_CHUNK_BYTES) {
              call.write({ code: 0, headers: {}, body: body.subarray(at, at + RESOURCE_CHUNK_BYTES) });
            }
            call.end();
          });
      },
    });
  }

  /** Binds 127.0.0.1:port; resolves the bound port or rejects if the port is taken. */
  bind(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
        if (err) reject(err);
        else resolve(bound);
      });
    });
  }

  /**
   * Ends the held stdio streams, lets calls in flight (the Shutdown reply among them) finish, then
   * closes; a call that does not finish within `graceMs` is cut.
   */
  stop(graceMs = 500): Promise<void> {
    this.shuttingDown = true;
    for (const s of this.stdioStreams) s.end();
    this.stdioStreams.clear();
    this.instances.disposeAll();
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      force.unref();
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}
