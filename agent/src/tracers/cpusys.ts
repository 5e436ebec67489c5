// cpusys (host): host CPU sys% from /proc/stat every interval; a jump above sysThreshold and
// sysDeltaThreshold points above the recent baseline, held for holdSamples, triggers a system-wide
// kernel+user profile with the processes, per-CPU sys share and irq/softirq share of the window.
import type { CpusysConfig } from '../config';
import type { CapturePlan } from '../capture/manager';
import { CaptureError } from '../capture/errors';
import { readProcStat, procStatPercent, type ProcStat } from '../host/procStat';
import { SpikeDetector, type Reading } from './detector';
import { Tracer, manualTrigger, type Candidate, type ManualRequest, type TracerEnv } from './tracer';
import { captureCpu, describeTop, round } from './cpu/capture';

/** Detection alone: feed /proc/stat samples, get the sys% reading (null until two samples exist). */
export class CpusysDetector {
  private prev: ProcStat | null = null;
  readonly spike: SpikeDetector;

  constructor(cfg: CpusysConfig) {
    this.spike = new SpikeDetector(CpusysDetector.rule(cfg));
  }

  static rule(cfg: CpusysConfig) {
    return {
      threshold: cfg.sysThreshold,
      deltaThreshold: cfg.sysDeltaThreshold,
      holdSamples: cfg.holdSamples,
      baselineSamples: Math.max(1, Math.round(cfg.baselineWindow / cfg.interval)),
    };
  }

  update(stat: ProcStat): Reading | null {
    const prev = this.prev;
    this.prev = stat;
    if (!prev) return null;
    const pct = procStatPercent(prev, stat).total;
    if (!pct) return null;
    return this.spike.update(pct.system);
  }
}

export class CpusysTracer extends Tracer<CpusysConfig> {
  readonly type = 'cpusys' as const;
  readonly scope = 'host' as const;
  private detector: CpusysDetector;

  constructor(
    config: CpusysConfig,
    env: TracerEnv,
    private readonly readStat: () => ProcStat = () => readProcStat()
  ) {
    super(config, env);
    this.detector = new CpusysDetector(config);
  }

  protected override reconfigured(): void {
    this.detector.spike.rule = CpusysDetector.rule(this.config);
  }

  protected tick(): Candidate[] {
    const r = this.detector.update(this.readStat());
    if (!r) return [];
    this.publish({
      metric: 'sys_percent',
      scope: 'host',
      value: r.value,
      baseline: r.baseline,
      threshold: this.config.sysThreshold,
    });
    if (!r.fired) return [];
    return [
      {
        scope: 'host',
        container: null,
        score: r.delta,
        trigger: {
          metric: 'sys_percent',
          value: round(r.value),
          threshold: this.config.sysThreshold,
          baseline: round(r.baseline),
          delta: round(r.delta),
          reason: `host CPU sys ${round(r.value)}% > ${this.config.sysThreshold}% and ${round(r.delta)} points above its baseline ${round(r.baseline)}% (> ${this.config.sysDeltaThreshold}) for ${this.config.holdSamples} samples`,
        },
      },
    ];
  }

  protected manualCandidate(req: ManualRequest): Candidate {
    if (req.container)
      throw new CaptureError('BAD_REQUEST', 'cpusys profiles the whole host; use cpuidle to profile one container');
    return { scope: 'host', container: null, score: 0, trigger: manualTrigger('cpusys', 'the host') };
  }

  protected plan(c: Candidate, manual: boolean, durationMs: number): CapturePlan {
    const cfg = this.config;
    const env = this.env;
    const hierarchy =
      env.containers.layout.mode === 'v2' || !env.containers.layout.v1.has('cpu') ? 'unified' : 'v1-cpu';
    return {
      type: 'cpusys',
      trigger: c.trigger,
      container: null,
      durationMs,
      manual,
      async run(ctx) {
        const stat0 = readProcStat();
        const t0 = Date.now();
        const lookback = (await env.lookback?.before()) ?? null;
        // a sys spike: rank processes by the time they spent in the kernel
        const r = await captureCpu(ctx, env, {
          frequency: cfg.frequency,
          recordHierarchy: hierarchy,
          rankBy: 'kernelSamples',
          before: lookback && { window: lookback },
        });
        const stat1 = readProcStat();
        const pct = procStatPercent(stat0, stat1, Date.now() - t0);
        const share = (p: typeof pct.total) =>
          p && {
            sysPct: round(p.system),
            userPct: round(p.user + p.nice),
            irqPct: round(p.irq),
            softirqPct: round(p.softirq),
            iowaitPct: round(p.iowait),
            stealPct: round(p.steal),
            idlePct: round(p.idle),
          };
        const perCpu = [...pct.cpus.entries()].sort((a, b) => a[0] - b[0]).map(([cpu, p]) => ({ cpu, ...share(p) }));
        const host = share(pct.total);
        const lead = manual ? 'manual cpusys capture' : `sys ${c.trigger.value}% (baseline ${c.trigger.baseline}%)`;
        return {
          summary: `${lead}: ${describeTop(r, 'kernelSamples')}`,
          data: {
            profile: {
              frequencyHz: cfg.frequency,
              event: r.event,
              samples: r.totalSamples,
              lostSamples: r.lostSamples,
              durationMs: r.durationMs,
            },
            before: r.before ? { samples: r.before.samples, durationMs: r.before.durationMs } : null,
            window: host ? { ...host, ctxtPerSec: pct.ctxtPerSec === null ? null : Math.round(pct.ctxtPerSec) } : null,
            perCpu,
            topProcesses: r.topProcesses,
            topKernelFunctions: r.topKernelFunctions,
            topFunctions: r.topFunctions,
          },
          profiles: [
            { name: 'cpu', title: 'On-CPU, all processes (kernel + user stacks)', profile: r.profile },
            ...(r.before
              ? [
                  {
                    name: 'before',
                    title: `On-CPU in the ${Math.round(r.before.durationMs / 1000)} s before the trigger, all processes`,
                    profile: r.before.profile,
                  },
                ]
              : []),
          ],
        };
      },
    };
  }
}
