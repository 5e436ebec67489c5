// A test host that behaves like Grafana's plugin manager towards a backend plugin: it (re)builds the
// executable when its sources are newer, spawns it with Grafana's environment and nothing else,
// reads the go-plugin handshake from stdout, talks gRPC (health, pluginv2 services, controller) and
// shuts it down. The message definitions are the backend's own (src/backend/plugin/protos.ts); their
// field numbers are checked against the upstream schema in src/backend/plugin/protos.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { SERVICES, serviceDefinition } from '../../src/backend/plugin/grpc';
import type {
  CallResourceRequest,
  CallResourceResponse,
  CheckHealthResponse,
  CollectMetricsResponse,
  DataQuery,
  DataSourceInstanceSettings,
  HealthCheckResponse,
  PluginContext,
  QueryDataResponse,
} from '../../src/backend/plugin/messages';
import { EXECUTABLE, buildBackend, isBackendBuildFresh } from '../../scripts/build-backend';

export const GRAFANA_ENV = {
  grafana_plugin_type: 'datasource',
  PLUGIN_PROTOCOL_VERSIONS: '2',
  PLUGIN_MIN_PORT: '10000',
  PLUGIN_MAX_PORT: '25000',
};

let building: Promise<string> | null = null;
/** The executable, rebuilt first if any of its sources is newer. */
export function ensureExecutable(): Promise<string> {
  if (!building) building = isBackendBuildFresh() ? Promise.resolve(EXECUTABLE) : buildBackend(() => undefined);
  return building;
}

export interface DsOptions {
  uid?: string;
  agents?: Array<{ name: string; url: string }>;
  discovery?: string;
  timeoutMs?: number;
  concurrency?: number;
  token?: string;
  lastUpdatedMS?: number;
  rawJson?: string;
}

export function dsSettings(o: DsOptions): DataSourceInstanceSettings {
  const json =
    o.rawJson ??
    JSON.stringify({
      agents: o.agents ?? [],
      discovery: o.discovery,
      timeoutMs: o.timeoutMs,
      concurrency: o.concurrency,
    });
  return {
    id: 7,
    name: 'AutoTracing',
    url: '',
    user: '',
    database: '',
    basicAuthEnabled: false,
    basicAuthUser: '',
    jsonData: Buffer.from(json),
    decryptedSecureJsonData: o.token !== undefined ? { token: o.token } : {},
    lastUpdatedMS: o.lastUpdatedMS ?? 1_700_000_000_000,
    uid: o.uid ?? 'ds-autotracing',
    apiVersion: '',
  };
}

export function pluginContext(ds: DataSourceInstanceSettings, withUser = true): PluginContext {
  return {
    orgId: 1,
    pluginId: 'huatuo-autotracing-datasource',
    user: withUser ? { login: 'admin', name: 'Admin', email: 'admin@example.invalid', role: 'Admin' } : null,
    dataSourceInstanceSettings: ds,
    grafanaConfig: {},
    pluginVersion: '0.1.0',
    userAgent: 'Grafana/12.0.0 (linux; amd64)',
    apiVersion: '',
  };
}

export function dataQuery(
  refId: string,
  json: unknown,
  from: number,
  to: number,
  extra: Partial<DataQuery> = {}
): DataQuery {
  const text = typeof json === 'string' ? json : JSON.stringify({ refId, ...(json as object) });
  const queryType =
    typeof json === 'object' && json !== null && typeof (json as { queryType?: unknown }).queryType === 'string'
      ? (json as { queryType: string }).queryType
      : '';
  return {
    refId,
    maxDataPoints: 1000,
    intervalMS: 15_000,
    timeRange: { fromEpochMS: from, toEpochMS: to },
    json: Buffer.from(text),
    queryType,
    ...extra,
  };
}

type GenericClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

function client(service: string, address: string): GenericClient {
  const Ctor = grpc.makeGenericClientConstructor(serviceDefinition(service), service);
  return new Ctor(address, grpc.credentials.createInsecure()) as unknown as GenericClient;
}

function unary<Req, Res>(c: GenericClient, method: string, req: Req, deadlineMs = 30_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    (
      c[method] as (
        r: Req,
        md: grpc.Metadata,
        o: grpc.CallOptions,
        cb: (e: grpc.ServiceError | null, v: Res) => void
      ) => void
    ).call(c, req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, value) =>
      err ? reject(err) : resolve(value)
    );
  });
}

export interface Handshake {
  core: number;
  protocol: number;
  network: string;
  address: string;
  wire: string;
}

export function parseHandshake(line: string): Handshake {
  const parts = line.split('|');
  if (parts.length !== 5) throw new Error(`handshake has ${parts.length} fields: ${JSON.stringify(line)}`);
  return {
    core: Number(parts[0]),
    protocol: Number(parts[1]),
    network: parts[2]!,
    address: parts[3]!,
    wire: parts[4]!,
  };
}

export class PluginProcess {
  stdout = '';
  stderr = '';
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | null = null;
  handshake!: Handshake;
  handshakeLine = '';
  startedAt = 0;
  handshakeMs = 0;
  private clients = new Map<string, GenericClient>();
  private exited!: Promise<void>;

  constructor(readonly child: ChildProcess) {}

  /** `executable` is a path, or a command line ending in one (an emulator running another CPU's build). */
  static async start(
    executable: string | string[],
    env: Record<string, string> = GRAFANA_ENV,
    timeoutMs = 15_000
  ): Promise<PluginProcess> {
    const startedAt = performance.now();
    const [cmd, ...args] = typeof executable === 'string' ? [executable] : executable;
    const child = spawn(cmd!, args, { env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new PluginProcess(child);
    p.startedAt = startedAt;
    p.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        p.exit = { code, signal, at: performance.now() };
        resolve();
      });
    });
    child.stderr!.on('data', (d: Buffer) => (p.stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no handshake within ${timeoutMs} ms; stderr: ${p.stderr}`)),
        timeoutMs
      );
      child.stdout!.on('data', (d: Buffer) => {
        p.stdout += d.toString();
        const nl = p.stdout.indexOf('\n');
        if (nl >= 0 && !p.handshakeLine) {
          p.handshakeLine = p.stdout.slice(0, nl + 1);
          p.handshakeMs = performance.now() - startedAt;
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`plugin exited (${code}) before the handshake; stderr: ${p.stderr}`));
      });
    });
    p.handshake = parseHandshake(p.handshakeLine.trimEnd());
    return p;
  }

  private c(service: string): GenericClient {
    let c = this.clients.get(service);
    if (!c) {
      c = client(service, this.handshake.address);
      this.clients.set(service, c);
    }
    return c;
  }

  health(service = 'plugin'): Promise<HealthCheckResponse> {
    return unary(this.c(SERVICES.health), 'Check', { service });
  }

  checkHealth(ds: DataSourceInstanceSettings): Promise<CheckHealthResponse> {
    return unary(this.c(SERVICES.diagnostics), 'CheckHealth', { pluginContext: pluginContext(ds), headers: {} });
  }

  collectMetrics(): Promise<CollectMetricsResponse> {
    return unary(this.c(SERVICES.diagnostics), 'CollectMetrics', { pluginContext: null });
  }

  queryData(
    ds: DataSourceInstanceSettings,
    queries: DataQuery[],
    opts: { fromAlert?: boolean } = {}
  ): Promise<QueryDataResponse> {
    return unary(this.c(SERVICES.data), 'QueryData', {
      pluginContext: pluginContext(ds, !opts.fromAlert),
      headers: opts.fromAlert ? { FromAlert: 'true' } : {},
      queries,
    });
  }

  /** CallResource, with the streamed messages joined as Grafana does (first carries code and headers). */
  callResource(
    ds: DataSourceInstanceSettings,
    path: string,
    query = '',
    method = 'GET'
  ): Promise<{ code: number; headers: Record<string, string[]>; body: Buffer; messages: number }> {
    const req: CallResourceRequest = {
      pluginContext: pluginContext(ds),
      path,
      method,
      url: `${path}${query ? `?${query}` : ''}`,
      headers: { Accept: { values: ['*/*'] } },
      body: new Uint8Array(),
    };
    return new Promise((resolve, reject) => {
      const stream = (
        this.c(SERVICES.resource).CallResource as (
          r: CallResourceRequest,
          o: grpc.CallOptions
        ) => grpc.ClientReadableStream<CallResourceResponse>
      ).call(this.c(SERVICES.resource), req, { deadline: Date.now() + 30_000 });
      const parts: CallResourceResponse[] = [];
      stream.on('data', (m: CallResourceResponse) => parts.push(m));
      stream.on('error', reject);
      stream.on('end', () => {
        if (parts.length === 0) return reject(new Error('no CallResource response'));
        const headers: Record<string, string[]> = {};
        for (const [k, v] of Object.entries(parts[0]!.headers)) headers[k.toLowerCase()] = v.values;
        resolve({
          code: parts[0]!.code,
          headers,
          body: Buffer.concat(parts.map((p) => Buffer.from(p.body))),
          messages: parts.length,
        });
      });
    });
  }

  /** plugin.GRPCController/Shutdown, then the time until the process exited (ms) and whether it answered. */
  async shutdown(): Promise<{ exitMs: number; code: number | null; answered: boolean; error?: string }> {
    const t0 = performance.now();
    let error: string | undefined;
    const answered = await unary(this.c(SERVICES.controller), 'Shutdown', {}).then(
      () => true,
      (e: unknown) => ((error = e instanceof Error ? e.message : String(e)), false)
    );
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
    this.closeClients();
    return { exitMs: this.exit!.at - t0, code: this.exit!.code, answered, error };
  }

  closeClients(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  async kill(): Promise<void> {
    this.closeClients();
    if (!this.exit) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /** Waits until a log line's @message matches. */
  async waitForLog(re: RegExp, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logLines().find((l) => re.test(String(l['@message'])));
      if (hit) return hit;
      if (Date.now() > until)
        throw new Error(`no log line matching ${re} within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Every stderr line parsed as JSON (throws on a line that is not). */
  logLines(): Array<Record<string, unknown>> {
    return this.stderr
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
