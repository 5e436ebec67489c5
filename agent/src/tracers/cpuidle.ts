// cpuidle (containers): each container's user, sys and total CPU as a percent of its capacity
// (min of cpuset size, quota/period and online CPUs), with Huatuo's three rules as defaults. Only the
// worst container of a tick is captured: a profile filtered in the kernel to its cgroup, plus its
// quota, cpuset, throttling over the window and the processes inside.
import fs from 'node:fs';
import path from 'node:path';
import type { CpuidleConfig } from '../config';
import type { CapturePlan } from '../capture/manager';
import { CaptureError } from '../capture/errors';
import type { ContainerRef } from '../events/event';
import type { ListedCgroup } from '../containers';
import {
  readCgroupCpuUsage,
  readCgroupCpuCapacity,
  readCgroupBandwidth,
  readCgroupCpuset,
  readCpuStat,
  readOnlineCpus,
  cgroupCpuPercent,
  type CgroupCpuUsage,
  type CgroupDirs,
} from '../host/cgroupFiles';
import { readCgroupProcs } from '../host/cgroupFiles';
import type { CgroupFilter } from '../bpf/profiler';
import { SpikeDetector, type Reading, type SpikeRule } from './detector';
import { Tracer, manualTrigger, type Candidate, type ManualRequest, type TracerEnv } from './tracer';
import { captureCpu, containerOfCgroupId, describeTop, round } from './cpu/capture';

type Rule = 'user' | 'sys' | 'total';
const RULES: Rule[] = ['total', 'user', 'sys'];

interface ContainerState {
  prev: CgroupCpuUsage;
  prevAt: number;
  spikes: Record<Rule, SpikeDetector>;
}

export interface CpuidleReading {
  container: ListedCgroup;
  capacity: number;
  readings: Record<Rule, Reading>;
}

function rules(cfg: CpuidleConfig): Record<Rule, SpikeRule> {
  const baselineSamples = Math.max(1, Math.round(cfg.baselineWindow / cfg.interval));
  const r = (threshold: number, deltaThreshold: number): SpikeRule => ({
    threshold,
    deltaThreshold,
    holdSamples: cfg.holdSamples,
    baselineSamples,
  });
  return {
    user: r(cfg.userThreshold, cfg.userDeltaThreshold),
    sys: r(cfg.sysThreshold, cfg.sysDeltaThreshold),
    total: r(cfg.totalThreshold, cfg.totalDeltaThreshold),
  };
}

/** Detection alone: per-container usage → readings for the three rules (pure of captures). */
export class CpuidleDetector {
  private states = new Map<string, ContainerState>();
  private rules: Record<Rule, SpikeRule>;

  constructor(cfg: CpuidleConfig) {
    this.rules = rules(cfg);
  }

  reconfigure(cfg: CpuidleConfig): void {
    this.rules = rules(cfg);
    for (const s of this.states.values()) for (const r of RULES) s.spikes[r].rule = this.rules[r];
  }

  update(containers: ListedCgroup[], now: number, onlineCpus: number): CpuidleReading[] {
    const out: CpuidleReading[] = [];
    const seen = new Set<string>();
    for (const c of containers) {
      const key = c.ref.id;
      seen.add(key);
      const usage = readCgroupCpuUsage(c.dirs);
      if (!usage) continue;
      const st = this.states.get(key);
      if (!st) {
        this.states.set(key, {
          prev: usage,
          prevAt: now,
          spikes: {
            user: new SpikeDetector(this.rules.user),
            sys: new SpikeDetector(this.rules.sys),
            total: new SpikeDetector(this.rules.total),
          },
        });
        continue;
      }
      const capacity = readCgroupCpuCapacity(c.dirs, onlineCpus);
      const pct = cgroupCpuPercent(st.prev, usage, now - st.prevAt, capacity);
      st.prev = usage;
      st.prevAt = now;
      if (!pct) continue;
      out.push({
        container: c,
        capacity,
        readings: {
          user: st.spikes.user.update(pct.user),
          sys: st.spikes.sys.update(pct.system),
          total: st.spikes.total.update(pct.total),
        },
      });
    }
    for (const k of [...this.states.keys()]) if (!seen.has(k)) this.states.delete(k);
    return out;
  }
}

/** Every pid in a cgroup directory and its descendants. */
export function cgroupPids(dir: string): number[] {
  const out: number[] = [];
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    out.push(...(readCgroupProcs(d) ?? []));
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) if (e.isDirectory()) stack.push(path.join(d, e.name));
  }
  return out;
}

function profilerCgroup(dirs: CgroupDirs): CgroupFilter | null {
  if (dirs.cpu && fs.existsSync(dirs.cpu)) return { dir: dirs.cpu, hierarchy: 'v1-cpu' };
  if (dirs.unified && fs.existsSync(dirs.unified)) return { dir: dirs.unified, hierarchy: 'unified' };
  return null;
}

export class CpuidleTracer extends Tracer<CpuidleConfig> {
  readonly type = 'cpuidle' as const;
  readonly scope = 'container' as const;
  private detector: CpuidleDetector;

  constructor(config: CpuidleConfig, env: TracerEnv) {
    super(config, env);
    this.detector = new CpuidleDetector(config);
  }

  protected override reconfigured(): void {
    this.detector.reconfigure(this.config);
  }

  protected tick(now: number): Candidate[] {
    const cfg = this.config;
    const readings = this.detector.update(this.env.containers.list(now), now, readOnlineCpus().length);
    const thresholds: Record<Rule, [number, number]> = {
      user: [cfg.userThreshold, cfg.userDeltaThreshold],
      sys: [cfg.sysThreshold, cfg.sysDeltaThreshold],
      total: [cfg.totalThreshold, cfg.totalDeltaThreshold],
    };
    const out: Candidate[] = [];
    for (const r of readings) {
      const scope = r.container.ref.id;
      for (const rule of RULES) {
        const x = r.readings[rule];
        this.publish({
          metric: `${rule}_percent`,
          scope,
          value: x.value,
          baseline: x.baseline,
          threshold: thresholds[rule][0],
        });
      }
      const fired = RULES.filter((rule) => r.readings[rule].fired);
      if (!fired.length) continue;
      // the rule furthest past its threshold names the trigger
      const rule = fired.sort(
        (a, b) => r.readings[b].value - thresholds[b][0] - (r.readings[a].value - thresholds[a][0])
      )[0]!;
      const x = r.readings[rule];
      const [thr, dthr] = thresholds[rule];
      const ref = r.container.ref;
      out.push({
        scope,
        container: ref,
        score: x.value - thr,
        detail: r.container,
        trigger: {
          metric: `${rule}_percent`,
          value: round(x.value),
          threshold: thr,
          baseline: round(x.baseline),
          delta: round(x.delta),
          reason: `container ${ref.name ?? ref.id.slice(0, 12)} ${rule} CPU ${round(x.value)}% of its ${round(r.capacity, 2)} CPUs > ${thr}% and ${round(x.delta)} points above its baseline ${round(x.baseline)}% (> ${dthr}) for ${cfg.holdSamples} samples`,
        },
      });
    }
    this.forgetScopes(new Set(readings.map((r) => r.container.ref.id)));
    return out;
  }

  protected manualCandidate(req: ManualRequest, now: number): Candidate {
    if (!req.container)
      throw new CaptureError('BAD_REQUEST', 'cpuidle profiles one container: give its id, id prefix or name');
    const c = this.env.containers.find(req.container, now);
    if (!c) throw new CaptureError('NOT_FOUND', `no container "${req.container}" on this host`);
    return {
      scope: c.ref.id,
      container: c.ref,
      score: 0,
      detail: c,
      trigger: manualTrigger('cpuidle', `container ${c.ref.name ?? c.ref.id.slice(0, 12)}`),
    };
  }

  protected plan(c: Candidate, manual: boolean, durationMs: number): CapturePlan {
    const listed = c.detail as ListedCgroup;
    const env = this.env;
    const cfg = this.config;
    const ref: ContainerRef = listed.ref;
    return {
      type: 'cpuidle',
      trigger: c.trigger,
      container: ref,
      durationMs,
      manual,
      async run(ctx) {
        const filter = profilerCgroup(listed.dirs);
        if (!filter) throw new Error(`the cgroup of container ${ref.id.slice(0, 12)} is gone`);
        const online = readOnlineCpus().length;
        const capacity = readCgroupCpuCapacity(listed.dirs, online);
        const bandwidth = readCgroupBandwidth(listed.dirs);
        const cpuset = readCgroupCpuset(listed.dirs);
        const throttleDir = listed.dirs.cpu ?? listed.dirs.unified;
        const thr0 = throttleDir ? readCpuStat(throttleDir) : null;
        const use0 = readCgroupCpuUsage(listed.dirs);
        const t0 = Date.now();
        // the host-wide look-back, narrowed to this container's cgroups (ids in the hierarchy it recorded)
        const lookback = (await env.lookback?.before()) ?? null;
        const owner = lookback && env.lookback ? containerOfCgroupId(env, env.lookback.hierarchy) : null;
        const r = await captureCpu(ctx, env, {
          frequency: cfg.frequency,
          cgroup: filter,
          recordHierarchy: filter.hierarchy,
          pids: () => (fs.existsSync(filter.dir) ? cgroupPids(filter.dir) : null),
          before: lookback && owner ? { window: lookback, filter: (s) => owner(s.cgroupId)?.ref.id === ref.id } : null,
        });
        const elapsed = Date.now() - t0;
        const thr1 = throttleDir ? readCpuStat(throttleDir) : null;
        const use1 = readCgroupCpuUsage(listed.dirs);
        if (!fs.existsSync(filter.dir) || !use1)
          ctx.degrade(`the cgroup of container ${ref.id.slice(0, 12)} vanished during the capture (${filter.dir})`);
        const pct = use0 && use1 ? cgroupCpuPercent(use0, use1, elapsed, capacity) : null;
        const d = (a: number | null | undefined, b: number | null | undefined) =>
          a != null && b != null ? b - a : null;
        const periods = d(thr0?.nrPeriods, thr1?.nrPeriods);
        const throttled = d(thr0?.nrThrottled, thr1?.nrThrottled);
        const throttledNs = d(thr0?.throttledNs, thr1?.throttledNs);
        const lead = manual
          ? 'manual cpuidle capture'
          : `${c.trigger.metric.replace('_percent', '')} CPU ${c.trigger.value}% of capacity (baseline ${c.trigger.baseline}%)`;
        return {
          summary: `${lead} in ${ref.name ?? ref.id.slice(0, 12)}: ${describeTop(r)}`,
          data: {
            profile: {
              frequencyHz: cfg.frequency,
              event: r.event,
              samples: r.totalSamples,
              lostSamples: r.lostSamples,
              durationMs: r.durationMs,
              cgroup: filter.dir,
            },
            before: r.before ? { samples: r.before.samples, durationMs: r.before.durationMs } : null,
            containerContext: {
              capacityCpus: round(capacity, 2),
              onlineCpus: online,
              quotaCpus:
                bandwidth && bandwidth.quotaUs !== null && bandwidth.quotaUs > 0
                  ? round(bandwidth.quotaUs / bandwidth.periodUs, 2)
                  : null,
              periodUs: bandwidth?.periodUs ?? null,
              cpuset,
              usage: pct ? { userPct: round(pct.user), sysPct: round(pct.system), totalPct: round(pct.total) } : null,
              throttling: {
                periods,
                throttledPeriods: throttled,
                throttledPct: periods && throttled !== null ? round((100 * throttled) / periods) : null,
                throttledMs: throttledNs === null ? null : round(throttledNs / 1e6),
              },
              dirs: listed.dirs,
            },
            topProcesses: r.topProcesses,
            topKernelFunctions: r.topKernelFunctions,
            topFunctions: r.topFunctions,
          },
          profiles: [
            {
              name: 'cpu',
              title: `On-CPU in container ${ref.name ?? ref.id.slice(0, 12)} (kernel + user stacks)`,
              profile: r.profile,
            },
            ...(r.before
              ? [
                  {
                    name: 'before',
                    title: `On-CPU in container ${ref.name ?? ref.id.slice(0, 12)}, the ${Math.round(r.before.durationMs / 1000)} s before the trigger`,
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
