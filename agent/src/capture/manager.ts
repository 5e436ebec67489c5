// Runs captures: one event row per capture, written as `capturing` first and completed in one
// transaction with its flame graphs. Enforces the global limits — captures at once, and capture time
// per rolling hour — so the tool never becomes the host's problem. On shutdown every capture in
// flight is told to stop and ends `partial` with what it had.
import type { Logger } from 'pino';
import type { Store } from '../store';
import type { AutotracingEvent, ContainerRef, TracerType, Trigger, EventStatus } from '../events/event';
import type { Profile } from '../profiles/model';
import { encode } from '../profiles/codec';
import type { AgentMetrics } from '../metrics/metrics';
import { CaptureError } from './errors';

export interface CaptureContext {
  eventId: string;
  type: TracerType;
  durationMs: number;
  /** aborted when the agent stops: return promptly with what was collected */
  signal: AbortSignal;
  log: Logger;
  /** note why the evidence is incomplete (a process or cgroup vanished, a probe failed): the event ends `partial` */
  degrade(reason: string): void;
  /** wait out (part of) the capture window; false when cut short by shutdown */
  wait(ms: number): Promise<boolean>;
}

export interface CaptureProfile {
  name: string;
  title: string;
  profile: Profile;
}

export interface CaptureOutput {
  summary: string;
  data: Record<string, unknown>;
  profiles?: CaptureProfile[];
  /** optional override of the container attribution found during the capture */
  container?: ContainerRef | null;
}

export interface CapturePlan {
  type: TracerType;
  trigger: Trigger;
  container: ContainerRef | null;
  durationMs: number;
  manual: boolean;
  run(ctx: CaptureContext): Promise<CaptureOutput>;
}

export interface CaptureLimits {
  maxConcurrent: number;
  budgetPerHourMs: number;
}

interface Running {
  id: string;
  type: TracerType;
  abort: AbortController;
  done: Promise<AutotracingEvent>;
}

const HOUR = 3_600_000;

export class CaptureManager {
  private readonly running = new Map<string, Running>();
  /** capture time spent (or reserved) per start time, for the rolling-hour budget */
  private spent: { at: number; ms: number; id: string }[] = [];
  private stopping = false;

  constructor(
    private readonly deps: {
      store: Store;
      metrics: AgentMetrics;
      log: Logger;
      host: () => string;
      limits: () => CaptureLimits;
      now?: () => number;
    }
  ) {}

  private now(): number {
    return this.deps.now ? this.deps.now() : Date.now();
  }

  get inFlight(): number {
    return this.running.size;
  }

  inFlightOf(type: TracerType): number {
    let n = 0;
    for (const r of this.running.values()) if (r.type === type) n++;
    return n;
  }

  budgetUsedMs(now = this.now()): number {
    this.spent = this.spent.filter((s) => now - s.at < HOUR);
    return this.spent.reduce((a, s) => a + s.ms, 0);
  }

  /** Why a capture of this length cannot start now, or null when it can. */
  check(durationMs: number): CaptureError | null {
    if (this.stopping) return new CaptureError('STOPPING', 'the agent is shutting down');
    const { maxConcurrent, budgetPerHourMs } = this.deps.limits();
    if (this.running.size >= maxConcurrent) {
      return new CaptureError(
        'BUSY',
        `${this.running.size} capture(s) already running (capture.maxConcurrent = ${maxConcurrent})`,
        this.now() + 1000
      );
    }
    const now = this.now();
    const used = this.budgetUsedMs(now);
    if (used + durationMs > budgetPerHourMs) {
      // earliest moment enough of the spent time has aged out of the hour
      let free = budgetPerHourMs - used;
      let retryAt = now + HOUR;
      for (const s of [...this.spent].sort((a, b) => a.at - b.at)) {
        free += s.ms;
        if (free >= durationMs) {
          retryAt = s.at + HOUR;
          break;
        }
      }
      return new CaptureError(
        'BUDGET',
        `capture budget spent: ${Math.round(used / 1000)} s of ${Math.round(budgetPerHourMs / 1000)} s used in the last hour, ${Math.round(durationMs / 1000)} s asked (capture.budgetPerHour)`,
        retryAt
      );
    }
    return null;
  }

  /** Start a capture; throws CaptureError when a limit says no. The event row exists on return. */
  start(plan: CapturePlan): { id: string; done: Promise<AutotracingEvent> } {
    const refusal = this.check(plan.durationMs);
    if (refusal) {
      this.deps.metrics.refused.inc({ type: plan.type, reason: refusal.code });
      throw refusal;
    }
    const t0 = this.now();
    const ev = this.deps.store.insertEvent({
      type: plan.type,
      host: this.deps.host(),
      time: t0,
      container: plan.container,
      trigger: plan.trigger,
      summary: `${plan.type} capture in progress: ${plan.trigger.reason}`,
      data: {},
    });
    this.spent.push({ at: t0, ms: plan.durationMs, id: ev.id });
    const abort = new AbortController();
    const log = this.deps.log.child({ capture: ev.id, tracer: plan.type });
    const done = this.execute(ev.id, plan, abort, log, t0);
    const entry: Running = { id: ev.id, type: plan.type, abort, done };
    this.running.set(ev.id, entry);
    this.deps.metrics.capturesInFlight.set({ type: plan.type }, this.inFlightOf(plan.type));
    this.deps.metrics.budgetUsed.set(this.budgetUsedMs() / 1000);
    log.info(
      {
        trigger: plan.trigger,
        container: plan.container?.id ?? null,
        durationMs: plan.durationMs,
        manual: plan.manual,
      },
      'capture started'
    );
    return { id: ev.id, done };
  }

  private async execute(
    id: string,
    plan: CapturePlan,
    abort: AbortController,
    log: Logger,
    t0: number
  ): Promise<AutotracingEvent> {
    const degraded: string[] = [];
    const ctx: CaptureContext = {
      eventId: id,
      type: plan.type,
      durationMs: plan.durationMs,
      signal: abort.signal,
      log,
      degrade: (reason) => {
        if (!degraded.includes(reason)) degraded.push(reason);
        log.warn({ reason }, 'capture degraded');
      },
      wait: (ms) => waitAbortable(ms, abort.signal),
    };
    let status: EventStatus = 'complete';
    let event: AutotracingEvent;
    try {
      const out = await plan.run(ctx);
      if (abort.signal.aborted) degraded.push('the agent stopped during the capture window');
      if (degraded.length) status = 'partial';
      const profiles = (out.profiles ?? []).map((p) => ({
        name: p.name,
        title: p.title,
        unit: p.profile.unit,
        total: p.profile.total,
        stacks: p.profile.stackCount,
        blob: encode(p.profile),
      }));
      if (out.container !== undefined) this.deps.store.updateEvent(id, { container: out.container });
      event = this.deps.store.completeEvent(
        id,
        {
          status,
          summary: out.summary,
          data: out.data,
          timeEnd: this.now(),
          ...(degraded.length ? { error: degraded.join('; ') } : {}),
        },
        profiles
      );
    } catch (e) {
      status = 'failed';
      const msg = e instanceof Error ? e.message : String(e);
      log.error({ err: e }, 'capture failed');
      event = this.deps.store.completeEvent(id, {
        status,
        summary: `${plan.type} capture failed: ${msg}`,
        timeEnd: this.now(),
        error: msg,
      });
    } finally {
      this.running.delete(id);
      this.deps.metrics.capturesInFlight.set({ type: plan.type }, this.inFlightOf(plan.type));
      // charge what the capture really took, not what it planned
      const s = this.spent.find((x) => x.id === id);
      if (s) s.ms = Math.min(plan.durationMs, Math.max(0, this.now() - t0));
    }
    const seconds = (this.now() - t0) / 1000;
    this.deps.metrics.captures.inc({ type: plan.type, status });
    this.deps.metrics.captureDuration.observe({ type: plan.type }, seconds);
    log.info({ status, seconds, summary: event.summary }, 'capture finished');
    return event;
  }

  /** Stop accepting captures, tell the running ones to stop, and wait for them to be stored. */
  async stop(): Promise<void> {
    this.stopping = true;
    const all = [...this.running.values()];
    for (const r of all) r.abort.abort();
    await Promise.allSettled(all.map((r) => r.done));
  }
}

export function waitAbortable(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
