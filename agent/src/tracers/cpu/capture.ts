// The CPU capture shared by cpusys (whole host) and cpuidle (one container's cgroup): an on-CPU
// profile over the window plus the context an engineer asks for next — which processes (with
// command line and container), how much user and sys time each used, which kernel functions burned
// the time — all measured over the same window.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Profiler, type CgroupFilter, type SampleWindow, type RawSample } from '../../bpf/profiler';
import { loadFailureReason } from '../../bpf/variants';
import { buildCpuProfile, type ProcessCpu } from '../../profiles/cpuProfile';
import { collectWindow } from '../../profiles/collect';
import type { Profile } from '../../profiles/model';
import type { CaptureContext } from '../../capture/manager';
import type { ContainerRef } from '../../events/event';
import type { TracerEnv } from '../tracer';
import type { ListedCgroup } from '../../containers';
import { CgroupIdResolver } from '../../bpf/cgroupIds';
import { snapshotProcesses, cpuBetween, type ProcSnapshot, type ProcCpu } from './processes';

export interface TopProcess {
  pid: number;
  comm: string;
  command: string | null;
  container: ContainerRef | null;
  samples: number;
  /** share of all samples in the window, percent */
  samplePct: number;
  kernelSamples: number;
  /** share of this process's samples taken in kernel mode, percent */
  kernelSamplePct: number;
  /** CPU time over the window from /proc, percent of one CPU */
  userPct: number;
  sysPct: number;
  exited: boolean;
}

export interface TopFunction {
  name: string;
  kind: string;
  module: string | null;
  selfPct: number;
  totalPct: number;
}

export interface CpuCaptureOptions {
  frequency: number;
  cgroup?: CgroupFilter;
  recordHierarchy: 'unified' | 'v1-cpu';
  /** which processes to watch for CPU time (default: all); re-evaluated at the end of the window */
  pids?: () => Iterable<number> | null;
  topN?: number;
  /** what makes a process "top": all its samples (container CPU), or its kernel-mode samples (a sys spike) */
  rankBy?: 'samples' | 'kernelSamples';
  /** the look-back window before the trigger, and which of its samples belong to this capture */
  before?: { window: SampleWindow; filter?: (s: RawSample) => boolean } | null;
}

export interface CpuCaptureResult {
  profile: Profile;
  /** the seconds before the trigger (look-back), same scope as `profile` */
  before: { profile: Profile; samples: number; durationMs: number } | null;
  totalSamples: number;
  lostSamples: number;
  durationMs: number;
  event: string;
  topProcesses: TopProcess[];
  topKernelFunctions: TopFunction[];
  topFunctions: TopFunction[];
}

function fnRows(profile: Profile, kinds: Set<string> | null, limit: number): TopFunction[] {
  const total = Math.max(1, profile.total);
  return profile
    .topFunctions({ by: 'self', limit: limit * 4 })
    .filter((f) => f.frame.kind !== 'process' && f.frame.kind !== 'meta' && (!kinds || kinds.has(f.frame.kind)))
    .slice(0, limit)
    .map((f) => ({
      name: f.frame.name,
      kind: f.frame.kind,
      module: f.frame.module ?? null,
      selfPct: round((100 * f.self) / total),
      totalPct: round((100 * f.total) / total),
    }));
}

export function round(x: number, digits = 1): number {
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}

/** A resolver of the cgroup ids a profile recorded (one hierarchy) to the host's containers. */
export function containerOfCgroupId(
  env: TracerEnv,
  hierarchy: 'unified' | 'v1-cpu'
): (id: bigint) => ListedCgroup | null {
  const resolver = new CgroupIdResolver('cpu');
  resolver.update(env.containers.list());
  return hierarchy === 'unified' ? (id) => resolver.resolve(-1n, id) : (id) => resolver.resolve(id, -1n);
}

/** The window's length with no samples (the sampler could not load). */
async function idleWindow(durationMs: number, frequency: number, signal?: AbortSignal): Promise<SampleWindow> {
  const startedAt = Date.now();
  try {
    await sleep(durationMs, undefined, { signal });
  } catch {
    /* aborted: the window ends now */
  }
  return {
    startedAt,
    endedAt: Date.now(),
    frequency,
    event: 'cpu-clock',
    samples: [],
    stats: { samples: 0, filtered: 0, lostStacks: 0, lostCounts: 0 },
  };
}

export async function captureCpu(
  ctx: CaptureContext,
  env: TracerEnv,
  opts: CpuCaptureOptions
): Promise<CpuCaptureResult> {
  const topN = opts.topN ?? 10;
  const startSnap: ProcSnapshot = snapshotProcesses(opts.pids?.() ?? undefined);
  const profiler = new Profiler({
    frequency: opts.frequency,
    cgroup: opts.cgroup,
    recordHierarchy: opts.recordHierarchy,
  });
  let sampling = true;
  try {
    profiler.start();
  } catch (e) {
    // no flame graph on this kernel: the processes' CPU from /proc is still evidence
    sampling = false;
    ctx.degrade(`no flame graph: the CPU sampler did not load (${loadFailureReason(e)})`);
  }
  const t0 = Date.now();
  // drains every second, remembering the maps of processes seen; on shutdown keeps what it has
  const window = sampling
    ? await collectWindow(profiler, ctx.durationMs, { symbolizer: env.symbolizer, signal: ctx.signal })
    : await idleWindow(ctx.durationMs, opts.frequency, ctx.signal);
  const elapsed = Date.now() - t0;
  const endPids = opts.pids?.() ?? undefined;
  const endSnap = snapshotProcesses(endPids ?? undefined);
  const cpu = cpuBetween(startSnap, endSnap, elapsed);

  const { profile, processes, totalSamples } = await buildCpuProfile(window, env.symbolizer);
  let before: CpuCaptureResult['before'] = null;
  if (opts.before) {
    const b = await buildCpuProfile(opts.before.window, env.symbolizer, { filter: opts.before.filter });
    if (b.totalSamples > 0)
      before = {
        profile: b.profile,
        samples: b.totalSamples,
        durationMs: opts.before.window.endedAt - opts.before.window.startedAt,
      };
  }
  // for processes that exited before /proc/PID/cgroup could be read
  const byCgroupId = containerOfCgroupId(env, opts.recordHierarchy);

  // top by samples, then anyone with more sys time than the last of those (a process can burn sys in
  // short bursts the sampler caught less of)
  const rank = opts.rankBy === 'kernelSamples' ? (p: ProcessCpu) => p.kernelSamples : (p: ProcessCpu) => p.samples;
  const bySamples = [...processes].sort((a, b) => rank(b) - rank(a) || b.samples - a.samples).slice(0, topN);
  const chosen = new Map<number, ProcessCpu | null>(bySamples.map((p) => [p.pid, p]));
  const bySys = [...cpu.values()]
    .filter((c) => c.sysPct >= 1)
    .sort((a, b) => b.sysPct - a.sysPct)
    .slice(0, Math.ceil(topN / 2));
  for (const c of bySys) if (!chosen.has(c.pid)) chosen.set(c.pid, processes.find((p) => p.pid === c.pid) ?? null);

  const top: TopProcess[] = [];
  for (const [pid, p] of chosen) {
    const c: ProcCpu | undefined = cpu.get(pid);
    const alive = fs.existsSync(`/proc/${pid}`);
    const container = alive ? env.containers.forPid(pid) : p ? (byCgroupId(BigInt(p.cgroupId))?.ref ?? null) : null;
    top.push({
      pid,
      comm: p?.comm ?? c?.comm ?? '?',
      command: c?.command ?? null,
      container,
      samples: p?.samples ?? 0,
      samplePct: round(((p?.samples ?? 0) * 100) / Math.max(1, totalSamples)),
      kernelSamples: p?.kernelSamples ?? 0,
      kernelSamplePct: p && p.samples ? round((p.kernelSamples * 100) / p.samples) : 0,
      userPct: round(c?.userPct ?? 0),
      sysPct: round(c?.sysPct ?? 0),
      exited: !alive,
    });
  }
  top.sort(
    opts.rankBy === 'kernelSamples'
      ? (a, b) => b.kernelSamples - a.kernelSamples || b.sysPct - a.sysPct
      : (a, b) => b.samples - a.samples || b.sysPct - a.sysPct
  );
  const first = top[0];
  if (first && first.command === null)
    ctx.degrade(`process ${first.comm}[${first.pid}] exited before its command line could be read`);

  return {
    profile,
    before,
    totalSamples,
    lostSamples: window.stats.lostStacks + window.stats.lostCounts,
    durationMs: window.endedAt - window.startedAt,
    event: window.event,
    topProcesses: top,
    topKernelFunctions: fnRows(profile, new Set(['kernel']), 10),
    topFunctions: fnRows(profile, null, 10),
  };
}

export function describeTop(r: CpuCaptureResult, rankBy: 'samples' | 'kernelSamples' = 'samples'): string {
  const p = r.topProcesses[0];
  const k = r.topKernelFunctions[0];
  const parts: string[] = [];
  const share = (n: number) => Math.round((1000 * n) / Math.max(1, r.totalSamples)) / 10;
  if (p && p.samples > 0) {
    const where = p.container ? ` in ${p.container.name ?? p.container.id.slice(0, 12)}` : '';
    parts.push(
      rankBy === 'kernelSamples'
        ? `top process ${p.comm}[${p.pid}]${where} (${share(p.kernelSamples)}% of samples in the kernel)`
        : `top process ${p.comm}[${p.pid}]${where} (${p.samplePct}% of samples)`
    );
  }
  if (k) parts.push(`top kernel function ${k.name} (${k.selfPct}% self)`);
  if (!parts.length) parts.push(`no samples (${r.totalSamples})`);
  return parts.join(', ');
}
