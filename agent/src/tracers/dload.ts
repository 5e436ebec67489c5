// dload (containers, and the host's own processes): every interval, every thread's scheduler state
// counted per container and for the host — a BPF task iterator (bpf/dstate.bpf.c) on cgroup v1, v2 and
// hybrid hosts alike, a /proc sweep where BPF cannot load — feeding kernel-style fixed-point load and
// D-load averages (dload/loadavg.ts). A scope fires when its D-load average exceeds dloadThreshold and
// its recent baseline by dloadDeltaThreshold for holdSamples samples. Scopes are disjoint: each
// container, and "host" = threads outside any container (so one stall is not captured twice); the
// whole-host D-load is published too (metric dload_total). Only the worst scope of a tick is captured.
//
// Event data (JSON):
//   source: 'bpf' | 'proc'            where the tasks came from
//   scope: 'container' | 'host'
//   knownIssue: string | null         first knownIssues entry (list order) matching a stack of the scope
//   knownIssueRegex: string | null
//   load, hostLoad: { scope, dloadAverage, counts: {threads, running, uninterruptible, iowait, sleeping,
//                     stopped}, averages: {load1, load5, load15, dload1, dload5, dload15} } | null
//                     (the scope at the trigger; the whole host)
//   tasksInScope, tasksElsewhere: number (D tasks seen in the window, before the maxTasks/hostTasks caps)
//   tasks: [{ pid, tid, comm, command, container: ContainerRef | null, state: 'D', wchan, blockedMs,
//             blockedSource: 'exec_start' | 'last_arrival' | 'observed' | null, stack: string[]
//             (kernel, outermost first, scheduler functions removed), group, knownIssue, inScope,
//             stillBlocked, seen: 'start' | 'end' | 'both', kthread, iowait }]
//             the scope's tasks (longest blocked first), then the longest-blocked others (inScope false)
//   stackGroups: [{ group, count, inScopeCount, stack, wchan, knownIssue, pids, comms, maxBlockedMs }]
//             largest first; group numbers are what tasks[].group refers to
//   offcpu: { durationMs, blockedMs, processes, blockedPeriods, seededTasks, stillBlockedAtEnd, lost,
//             cgroup } | null — and the flame graph "offcpu" (unit nanoseconds): blocked time in D state
//             during the window by process → user frames → kernel frames
import type { DloadConfig } from '../config';
import type { CapturePlan } from '../capture/manager';
import { CaptureError } from '../capture/errors';
import type { ListedCgroup } from '../containers';
import { SpikeDetector, type Reading, type SpikeRule } from './detector';
import { Tracer, manualTrigger, type Candidate, type ManualRequest, type TracerEnv } from './tracer';
import { ScopeLoad, type LoadAverages } from './dload/loadavg';
import { openSweep, ProcSweep, type StateCounts, type SweepSample, type TaskSweep } from './dload/sweep';
import { captureDload, type ScopeLoadSnapshot } from './dload/capture';
import { compileKnownIssues } from './dload/stacks';
import { round } from './cpu/capture';

export const HOST_SCOPE = 'host';

export interface DloadScopeReading {
  /** "host" (threads outside containers) or a container id */
  scope: string;
  listed: ListedCgroup | null;
  counts: StateCounts;
  averages: LoadAverages;
  /** the spike detector's view of the trigger average */
  reading: Reading;
}

export interface DloadReadings {
  source: 'bpf' | 'proc';
  scopes: DloadScopeReading[];
  /** every thread of the host (informative: not a trigger) */
  hostTotal: { counts: StateCounts; dloadAverage: number; averages: LoadAverages };
}

interface ScopeState {
  load: ScopeLoad;
  spike: SpikeDetector;
}

function rule(cfg: DloadConfig): SpikeRule {
  return {
    threshold: cfg.dloadThreshold,
    deltaThreshold: cfg.dloadDeltaThreshold,
    holdSamples: cfg.holdSamples,
    baselineSamples: Math.max(1, Math.round(cfg.baselineWindow / cfg.interval)),
  };
}

/** Detection alone: sweep samples in, per-scope readings out (pure of captures). */
export class DloadDetector {
  private states = new Map<string, ScopeState>();
  private total: ScopeLoad;
  private totalSeeded = false;
  private rule: SpikeRule;

  constructor(private cfg: DloadConfig) {
    this.rule = rule(cfg);
    this.total = new ScopeLoad(cfg.interval, cfg.dloadWindow);
  }

  reconfigure(cfg: DloadConfig): void {
    const windowChanged = cfg.interval !== this.cfg.interval || cfg.dloadWindow !== this.cfg.dloadWindow;
    this.cfg = cfg;
    this.rule = rule(cfg);
    if (windowChanged) {
      // averages with another step or time constant are not comparable: start over (seeded at the next sample)
      this.states.clear();
      this.total = new ScopeLoad(cfg.interval, cfg.dloadWindow);
      this.totalSeeded = false;
    } else for (const s of this.states.values()) s.spike.rule = this.rule;
  }

  private step(scope: string, c: StateCounts): { state: ScopeState; average: number } {
    let st = this.states.get(scope);
    if (!st) {
      // a scope seen for the first time starts at its current level, not at 0: tasks already in D when
      // the agent starts (or a container appears) are not a rise
      st = { load: new ScopeLoad(this.cfg.interval, this.cfg.dloadWindow), spike: new SpikeDetector(this.rule) };
      st.load.seed(c.running, c.uninterruptible);
      this.states.set(scope, st);
    }
    return { state: st, average: st.load.update(c.running, c.uninterruptible) };
  }

  update(sample: SweepSample): DloadReadings {
    const scopes: DloadScopeReading[] = [];
    const seen = new Set<string>([HOST_SCOPE]);
    const one = (scope: string, listed: ListedCgroup | null, counts: StateCounts) => {
      const { state, average } = this.step(scope, counts);
      scopes.push({ scope, listed, counts, averages: state.load.averages(), reading: state.spike.update(average) });
    };
    one(HOST_SCOPE, null, sample.outside);
    for (const [id, c] of sample.containers) {
      seen.add(id);
      one(id, c.listed, c.counts);
    }
    for (const k of [...this.states.keys()]) if (!seen.has(k)) this.states.delete(k);
    if (!this.totalSeeded) {
      this.total.seed(sample.host.running, sample.host.uninterruptible);
      this.totalSeeded = true;
    }
    const avg = this.total.update(sample.host.running, sample.host.uninterruptible);
    return {
      source: sample.source,
      scopes,
      hostTotal: { counts: sample.host, dloadAverage: avg, averages: this.total.averages() },
    };
  }
}

function snapshot(scope: string, average: number, counts: StateCounts, averages: LoadAverages): ScopeLoadSnapshot {
  return { scope, dloadAverage: round(average, 2), counts: { ...counts }, averages };
}

export class DloadTracer extends Tracer<DloadConfig> {
  readonly type = 'dload' as const;
  readonly scope = 'container' as const;
  private detector: DloadDetector;
  private sweep: TaskSweep | null = null;
  private last: DloadReadings | null = null;
  /** why the /proc sweep is used instead of BPF, if it is */
  fallbackReason: string | null = null;

  /** `opts.sweep` replaces the BPF-or-/proc choice and `opts.procRoot` prefixes /proc reads (tests:
   *  a ProcSweep over a fixture tree). */
  constructor(
    config: DloadConfig,
    env: TracerEnv,
    private readonly opts: { sweep?: TaskSweep; procRoot?: string } = {}
  ) {
    super(config, env);
    this.detector = new DloadDetector(config);
    if (opts.sweep) this.sweep = opts.sweep;
  }

  protected override reconfigured(): void {
    this.detector.reconfigure(this.config);
  }

  /** The task source in use (opened on first use). */
  get source(): TaskSweep {
    if (!this.sweep) {
      const { sweep, fallbackReason } = openSweep();
      this.sweep = sweep;
      this.fallbackReason = fallbackReason;
      if (fallbackReason)
        this.env.log.warn(
          { tracer: 'dload', reason: fallbackReason },
          'BPF task iterator unavailable: counting D-state tasks from /proc'
        );
    }
    return this.sweep;
  }

  /** BPF worked at first but a sweep failed (e.g. the program was unloaded by policy): use /proc from now on. */
  private fallBack(e: unknown): TaskSweep {
    this.sweep?.close();
    this.fallbackReason = `BPF sweep failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
    this.env.log.warn(
      { tracer: 'dload', reason: this.fallbackReason },
      'counting D-state tasks from /proc from now on'
    );
    this.sweep = new ProcSweep({ root: this.opts.procRoot });
    return this.sweep;
  }

  override stop(): void {
    super.stop();
    // a capture in flight keeps its reference; the BPF iterators reopen if it needs them again
    this.sweep?.close();
  }

  /** The last readings (for tests and the manual capture). */
  get readings(): DloadReadings | null {
    return this.last;
  }

  protected tick(now: number): Candidate[] {
    const cfg = this.config;
    const list = this.env.containers.list(now);
    let sample: SweepSample;
    try {
      sample = this.source.sample(list, now);
    } catch (e) {
      if (this.source.source !== 'bpf') throw e;
      sample = this.fallBack(e).sample(list, now);
    }
    const r = this.detector.update(sample);
    this.last = r;
    this.publish({
      metric: 'dload_total',
      scope: HOST_SCOPE,
      value: r.hostTotal.dloadAverage,
      baseline: 0,
      threshold: cfg.dloadThreshold,
    });
    const out: Candidate[] = [];
    for (const s of r.scopes) {
      const x = s.reading;
      this.publish({
        metric: 'dload',
        scope: s.scope,
        value: x.value,
        baseline: x.baseline,
        threshold: cfg.dloadThreshold,
      });
      if (!x.fired) continue;
      const who = s.listed
        ? `container ${s.listed.ref.name ?? s.listed.ref.id.slice(0, 12)}`
        : 'host processes (outside containers)';
      out.push({
        scope: s.scope,
        container: s.listed?.ref ?? null,
        score: x.value - cfg.dloadThreshold,
        detail: {
          listed: s.listed,
          trigger: snapshot(s.scope, x.value, s.counts, s.averages),
          hostTotal: snapshot(HOST_SCOPE, r.hostTotal.dloadAverage, r.hostTotal.counts, r.hostTotal.averages),
        },
        trigger: {
          metric: 'dload',
          value: round(x.value, 2),
          threshold: cfg.dloadThreshold,
          baseline: round(x.baseline, 2),
          delta: round(x.delta, 2),
          reason: `${who}: D-load average ${round(x.value, 2)} (${s.counts.uninterruptible} tasks in D now) > ${cfg.dloadThreshold} and ${round(x.delta, 2)} above its baseline ${round(x.baseline, 2)} (> ${cfg.dloadDeltaThreshold}) for ${cfg.holdSamples} samples`,
        },
      });
    }
    this.forgetScopes(new Set(r.scopes.map((s) => s.scope)));
    return out;
  }

  protected manualCandidate(req: ManualRequest, now: number): Candidate {
    const last = this.last;
    const hostTotal = last
      ? snapshot(HOST_SCOPE, last.hostTotal.dloadAverage, last.hostTotal.counts, last.hostTotal.averages)
      : null;
    if (!req.container) {
      const s = last?.scopes.find((x) => x.scope === HOST_SCOPE);
      return {
        scope: HOST_SCOPE,
        container: null,
        score: 0,
        detail: {
          listed: null,
          trigger: s ? snapshot(HOST_SCOPE, s.reading.value, s.counts, s.averages) : null,
          hostTotal,
        },
        trigger: manualTrigger('dload', 'the host'),
      };
    }
    const c = this.env.containers.find(req.container, now);
    if (!c) throw new CaptureError('NOT_FOUND', `no container "${req.container}" on this host`);
    const s = last?.scopes.find((x) => x.scope === c.ref.id);
    return {
      scope: c.ref.id,
      container: c.ref,
      score: 0,
      detail: { listed: c, trigger: s ? snapshot(c.ref.id, s.reading.value, s.counts, s.averages) : null, hostTotal },
      trigger: manualTrigger('dload', `container ${c.ref.name ?? c.ref.id.slice(0, 12)}`),
    };
  }

  protected plan(c: Candidate, manual: boolean, durationMs: number): CapturePlan {
    const detail = c.detail as {
      listed: ListedCgroup | null;
      trigger: ScopeLoadSnapshot | null;
      hostTotal: ScopeLoadSnapshot | null;
    };
    const env = this.env;
    const cfg = this.config;
    const sweep = this.source;
    return {
      type: 'dload',
      trigger: c.trigger,
      container: c.container,
      durationMs,
      manual,
      run: (ctx) =>
        captureDload(ctx, env, {
          sweep,
          target: detail.listed,
          knownIssues: compileKnownIssues(cfg.knownIssues),
          hostTasks: cfg.hostTasks,
          maxTasks: cfg.maxTasks,
          trigger: detail.trigger,
          hostTotal: detail.hostTotal,
          manual,
          root: this.opts.procRoot,
        }),
    };
  }
}
