// What every tracer shares: a detector tick on a timer, spike readings published to metrics and the
// API, cooldowns per scope, and the hand-off of a fired trigger to the capture manager. A tracer
// supplies only `tick` (sample → candidates) and `plan` (what to capture). Detection and capture
// stay separate functions so each is testable on its own.
import type { Logger } from 'pino';
import type { CaptureManager, CapturePlan } from '../capture/manager';
import { CaptureError } from '../capture/errors';
import type { AgentMetrics } from '../metrics/metrics';
import type { ContainerRef, TracerType, Trigger } from '../events/event';
import type { TracerState, TracerSupport } from '../api/schemas';
import { Cooldowns } from './detector';
import type { ContainerIndex } from './containerIndex';
import type { Symbolizer } from '../profiles/symbols/symbolizer';
import type { Lookback } from './cpu/lookback';

export interface CommonTracerConfig {
  enabled: boolean;
  interval: number;
  cooldown: number;
  duration: number;
  holdSamples: number;
  baselineWindow: number;
}

export interface TracerEnv {
  manager: CaptureManager;
  metrics: AgentMetrics;
  log: Logger;
  containers: ContainerIndex;
  symbolizer: Symbolizer;
  /** host-wide profile of the last seconds, for "before" flame graphs (absent: off or no BPF) */
  lookback?: Lookback;
}

export interface DetectorReadout {
  metric: string;
  /** "host" or a container id */
  scope: string;
  value: number;
  baseline: number;
  threshold: number;
}

export interface Candidate {
  scope: string;
  container: ContainerRef | null;
  trigger: Trigger;
  /** how far past its thresholds; container tracers capture only the worst candidate of a tick */
  score: number;
  /** tracer-specific details carried from detection to capture */
  detail?: unknown;
}

export interface ManualRequest {
  container?: string;
  durationMs?: number;
}

export abstract class Tracer<C extends CommonTracerConfig = CommonTracerConfig> {
  abstract readonly type: TracerType;
  /** host tracers have one cooldown; container tracers one per container */
  abstract readonly scope: 'host' | 'container';
  readonly implemented: boolean = true;

  protected readonly cooldowns = new Cooldowns();
  protected readouts = new Map<string, DetectorReadout>();
  lastTriggerAt: number | null = null;
  /** what this kernel lets the tracer do (tracers/support.ts); off: the detector runs, captures are refused */
  protected support: TracerSupport = { mode: 'full', missing: [] };
  private timer: NodeJS.Timeout | null = null;
  private errorLoggedAt = 0;

  constructor(
    protected config: C,
    protected readonly env: TracerEnv
  ) {}

  /** Sample the source and return the candidates whose spike held this tick. Pure of side effects on captures. */
  protected abstract tick(now: number): Candidate[];

  /** What to capture for a candidate (automatic) or a manual request. */
  protected abstract plan(c: Candidate, manual: boolean, durationMs: number): CapturePlan;

  /** Resolve a manual request to a candidate (e.g. find the container). Throws CaptureError. */
  protected abstract manualCandidate(req: ManualRequest, now: number): Candidate;

  configure(config: C): void {
    const wasRunning = this.timer !== null;
    this.stop();
    this.config = config;
    this.reconfigured();
    if (wasRunning) this.start();
  }

  setSupport(s: TracerSupport): void {
    this.support = s;
    this.env.metrics.setSupport(this.type, s.mode);
  }

  private unsupported(): CaptureError | null {
    if (this.support.mode !== 'off') return null;
    return new CaptureError(
      'UNAVAILABLE',
      `the ${this.type} tracer cannot capture on this kernel: ${this.support.missing.join('; ')}`
    );
  }

  /** hook: thresholds changed */
  protected reconfigured(): void {}

  get settings(): C {
    return this.config;
  }

  start(): void {
    if (this.timer || !this.config.enabled || !this.implemented) return;
    const loop = () => {
      const t0 = process.hrtime.bigint();
      try {
        this.runTick(Date.now());
      } catch (e) {
        this.env.metrics.detectorErrors.inc({ tracer: this.type });
        if (Date.now() - this.errorLoggedAt > 60_000) {
          this.errorLoggedAt = Date.now();
          this.env.log.warn({ err: e, tracer: this.type }, 'detector tick failed');
        }
      }
      this.env.metrics.tickDuration.observe({ tracer: this.type }, Number(process.hrtime.bigint() - t0) / 1e9);
      this.timer = setTimeout(loop, this.config.interval);
      this.timer.unref();
    };
    this.timer = setTimeout(loop, this.config.interval);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  /** One detector tick: readings, then at most one capture (the worst candidate past its cooldown). */
  runTick(now: number): void {
    const candidates = this.tick(now).sort((a, b) => b.score - a.score);
    this.cooldowns.prune(now);
    for (const c of candidates) {
      this.env.metrics.triggers.inc({ type: this.type });
      const until = this.cooldowns.active(c.scope, now);
      if (until !== null) {
        this.env.metrics.refused.inc({ type: this.type, reason: 'COOLDOWN' });
        continue;
      }
      const off = this.unsupported();
      if (off) {
        this.env.metrics.refused.inc({ type: this.type, reason: off.code });
        break;
      }
      try {
        this.env.manager.start(this.plan(c, false, this.config.duration));
        this.cooldowns.start(c.scope, now, this.config.cooldown);
        this.lastTriggerAt = now;
      } catch (e) {
        if (!(e instanceof CaptureError)) throw e;
        this.env.log.info(
          { tracer: this.type, scope: c.scope, reason: e.code, message: e.message },
          'trigger not captured'
        );
      }
      // container tracers: only the worst container of a tick is captured (Huatuo's rule)
      break;
    }
  }

  /** A capture asked for through the API or CLI: no cooldown, same global limits. */
  manual(req: ManualRequest): { id: string; done: Promise<unknown> } {
    if (!this.implemented)
      throw new CaptureError('NOT_IMPLEMENTED', `the ${this.type} tracer cannot capture on this agent yet`);
    const off = this.unsupported();
    if (off) throw off;
    const now = Date.now();
    const c = this.manualCandidate(req, now);
    return this.env.manager.start(this.plan(c, true, req.durationMs ?? this.config.duration));
  }

  /** Publish a reading: metrics now, the API on request. */
  protected publish(r: DetectorReadout): void {
    this.readouts.set(`${r.metric}\0${r.scope}`, r);
    this.env.metrics.setDetector(this.type, r.metric, r.scope, r.value, r.baseline, r.threshold);
  }

  /** Forget readings of scopes that no longer exist. */
  protected forgetScopes(alive: Set<string>): void {
    for (const [k, r] of this.readouts) {
      if (r.scope !== 'host' && !alive.has(r.scope)) {
        this.readouts.delete(k);
        this.env.metrics.dropScope(this.type, r.scope);
      }
    }
  }

  state(): TracerState {
    const now = Date.now();
    return {
      type: this.type,
      enabled: this.config.enabled,
      implemented: this.implemented,
      config: { ...this.config } as Record<string, unknown>,
      detector: [...this.readouts.values()].map((r) => ({ ...r })),
      lastTriggerAt: this.lastTriggerAt,
      cooldownUntil: this.cooldowns.latest(now),
      support: { mode: this.support.mode, missing: [...this.support.missing] },
    };
  }
}

export function manualTrigger(type: TracerType, what: string): Trigger {
  return {
    metric: 'manual',
    value: 0,
    threshold: 0,
    baseline: 0,
    delta: 0,
    reason: `manual ${type} capture of ${what}, requested through the API`,
  };
}
