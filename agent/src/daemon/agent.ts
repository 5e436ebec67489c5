// The agent as a service: config → store → tracers (detectors + captures) → API. One instance per
// process. stop() ends captures in flight as `partial`, closes the API, then the database.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { loadConfig, reloadConfig, applyTracerPatch, type AgentConfig } from '../config';
import { openStore, storePath, type Store } from '../store';
import { AgentMetrics } from '../metrics/metrics';
import { CaptureManager } from '../capture/manager';
import { CaptureError } from '../capture/errors';
import { TracerRegistry } from '../tracers/registry';
import { ContainerIndex } from '../tracers/containerIndex';
import { Symbolizer } from '../profiles/symbols/symbolizer';
import { Lookback } from '../tracers/cpu/lookback';
import { detectCapabilities, type Capabilities } from '../bpf/capabilities';
import { tracerSupport } from '../tracers/support';
import { createLogger } from './log';
import type { AgentFacade } from './facade';
import type { CaptureAccepted, CaptureRequest, InfoResponse, TracerState } from '../api/schemas';
import type { TracerType } from '../events/event';
import { buildServer, httpsOptions, reloadTls } from '../api/server';
import { repoRoot } from '../bpf/native';

const RETENTION_EVERY_MS = 10 * 60_000;

export interface AgentOptions {
  configFile?: string;
  /** pre-built config (tests); wins over configFile */
  config?: AgentConfig;
  log?: Logger;
}

export function agentVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export class Agent implements AgentFacade {
  readonly store: Store;
  readonly log: Logger;
  readonly metricsHub: AgentMetrics;
  private cfg: AgentConfig;
  private readonly manager: CaptureManager;
  private readonly tracerRegistry: TracerRegistry;
  private readonly lookback: Lookback;
  private readonly caps: Capabilities;
  private server: FastifyInstance | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private readonly startedAt = Date.now();
  private ready = false;
  private stopping: Promise<void> | null = null;
  private readonly hostName: string;

  private constructor(
    config: AgentConfig,
    private readonly configFile: string | undefined,
    log: Logger
  ) {
    this.cfg = config;
    this.log = log;
    this.hostName = config.host === 'auto' ? process.env.AUTOTRACING_HOST?.trim() || os.hostname() : config.host;
    fs.mkdirSync(config.dataDir, { recursive: true });
    this.store = openStore(storePath(config.dataDir));
    if (this.store.recovered)
      log.warn(
        { recovered: this.store.recovered },
        'store recovered after an unclean stop: interrupted captures marked partial'
      );
    this.metricsHub = new AgentMetrics(() => this.store, this.hostName);
    this.caps = detectCapabilities();
    for (const c of this.caps.checks.filter((x) => !x.ok && x.required))
      log.error({ check: c.name, detail: c.detail }, 'required capability missing');
    const support = tracerSupport(this.caps);
    this.manager = new CaptureManager({
      store: this.store,
      metrics: this.metricsHub,
      log,
      host: () => this.hostName,
      limits: () => ({
        maxConcurrent: this.cfg.capture.maxConcurrent,
        budgetPerHourMs: this.cfg.capture.budgetPerHour,
      }),
    });
    const containers = new ContainerIndex();
    const symbolizer = new Symbolizer();
    this.lookback = new Lookback({
      keepMs: config.capture.lookback,
      frequency: config.tracers.cpusys.frequency,
      // cgroup ids recorded in the hierarchy where containers' CPU lives: v1 cpu, else unified
      hierarchy: containers.layout.mode === 'v2' || !containers.layout.v1.has('cpu') ? 'unified' : 'v1-cpu',
      symbolizer,
      log,
    });
    this.tracerRegistry = new TracerRegistry(config.tracers, {
      manager: this.manager,
      metrics: this.metricsHub,
      log,
      containers,
      symbolizer,
      lookback: this.lookback,
    });
    this.tracerRegistry.setSupport(support);
    for (const [type, s] of Object.entries(support)) {
      if (s.mode === 'off') log.error({ tracer: type, missing: s.missing }, 'tracer cannot capture on this kernel');
      else if (s.mode === 'degraded')
        log.warn({ tracer: type, missing: s.missing }, 'tracer runs with less evidence on this kernel');
    }
  }

  static async start(opts: AgentOptions = {}): Promise<Agent> {
    const config = opts.config ?? loadConfig(opts.configFile);
    const log = opts.log ?? createLogger(config.log.level);
    const agent = new Agent(config, opts.configFile, log);
    try {
      await agent.listen();
    } catch (e) {
      agent.store.close();
      throw e;
    }
    agent.tracerRegistry.startAll();
    agent.syncLookback();
    agent.applyRetention();
    agent.retentionTimer = setInterval(() => agent.applyRetention(), RETENTION_EVERY_MS);
    agent.retentionTimer.unref();
    agent.ready = true;
    log.info(
      { host: agent.hostName, listen: agent.address(), dataDir: config.dataDir, version: agentVersion() },
      'agent started'
    );
    return agent;
  }

  private async listen(): Promise<void> {
    this.server = await buildServer(this, { https: httpsOptions(this.cfg) });
    const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(this.cfg.api.listen);
    if (!m) throw new Error(`api.listen: cannot parse "${this.cfg.api.listen}"`);
    await this.server.listen({ host: m[1], port: Number(m[2]) });
  }

  /** host:port actually listened on (port 0 in the config picks a free one) */
  address(): string {
    const a = this.server?.server.address();
    if (!a || typeof a === 'string') return String(a);
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  private applyRetention(): void {
    try {
      const r = this.store.applyRetention({ maxAgeMs: this.cfg.store.retention, maxBytes: this.cfg.store.maxSize });
      if (r.deletedByAge || r.deletedBySize) this.log.info(r, 'retention applied');
    } catch (e) {
      this.log.error({ err: e }, 'retention failed');
    }
  }

  /** The look-back profiler runs only when a tracer that uses it is enabled. */
  private syncLookback(): void {
    const t = this.cfg.tracers;
    this.lookback.configure({ keepMs: this.cfg.capture.lookback, frequency: t.cpusys.frequency });
    if ((t.cpusys.enabled || t.cpuidle.enabled) && this.cfg.capture.lookback > 0) this.lookback.start();
    else this.lookback.stop();
  }

  // --- AgentFacade ---
  config(): AgentConfig {
    return this.cfg;
  }

  get metrics() {
    return this.metricsHub.registry;
  }

  info(): InfoResponse {
    return {
      host: this.hostName,
      version: agentVersion(),
      kernel: this.caps.kernel,
      node: process.version,
      startedAt: this.startedAt,
      capabilities: { ...this.caps.features, cgroupMode: this.caps.cgroupMode, checks: this.caps.checks },
      tracers: this.tracers(),
    };
  }

  tracers(): TracerState[] {
    return this.tracerRegistry.states();
  }

  patchTracer(type: TracerType, patch: unknown): { ok: true; state: TracerState } | { ok: false; errors: string[] } {
    const r = applyTracerPatch(this.cfg, type, patch);
    if (!r.ok) return r;
    this.cfg = r.config;
    this.tracerRegistry.reconfigure(this.cfg.tracers);
    this.syncLookback();
    this.log.info({ tracer: type, patch }, 'tracer settings changed through the API');
    return { ok: true, state: this.tracerRegistry.get(type).state() };
  }

  async requestCapture(req: CaptureRequest): Promise<CaptureAccepted> {
    if (this.stopping) throw new CaptureError('STOPPING', 'the agent is shutting down');
    const { id } = this.tracerRegistry.get(req.type).manual({ container: req.container, durationMs: req.durationMs });
    return { id, status: 'capturing' };
  }

  isReady(): boolean {
    return this.ready && !this.stopping;
  }

  // --- lifecycle ---
  /** SIGHUP: re-read the config file; a bad file keeps the running config and says why. */
  reload(): boolean {
    const r = reloadConfig(this.configFile, this.cfg);
    if (!r.ok) {
      this.log.error({ errors: r.errors }, 'config reload rejected: keeping the running config');
      return false;
    }
    for (const w of r.warnings) this.log.warn(w);
    if (r.restartRequired.length)
      this.log.warn({ keys: r.restartRequired }, 'these changes take effect after a restart');
    this.cfg = r.config;
    this.log.level = r.config.log.level;
    this.tracerRegistry.reconfigure(r.config.tracers);
    this.syncLookback();
    if (this.server && reloadTls(this.server, r.config)) this.log.info('TLS certificate reloaded');
    this.log.info({ changed: r.changed }, 'config reloaded');
    return true;
  }

  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.ready = false;
    this.log.info('stopping: ending captures in flight');
    this.tracerRegistry.stopAll();
    this.lookback.stop();
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.manager.stop();
    await this.server?.close();
    this.store.close();
    this.log.info('stopped');
  }
}
