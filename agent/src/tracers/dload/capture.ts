// The dload capture: the D-state tasks of the scope that fired (a container, or the host's own
// processes) at the trigger and at the end of the window, with kernel stacks, wait channel, how long
// each has been blocked, command line and container; the longest-blocked D tasks elsewhere on the host
// for context; tasks grouped by identical stack; the first known issue that matches; and an off-CPU
// flame graph of the time spent blocked in D state during the window, by stack.
import fs from 'node:fs';
import type { CaptureContext, CaptureOutput } from '../../capture/manager';
import type { ContainerRef } from '../../events/event';
import type { ListedCgroup } from '../../containers';
import { OffCpuTracker, type OffCpuWindow } from '../../bpf/offcpu';
import type { CgroupFilter } from '../../bpf/profiler';
import { displayCommand, readPidCmdline } from '../../host/process';
import { Profile, type Frame } from '../../profiles/model';
import { kernelSymbols } from '../../profiles/symbols/kallsyms';
import { LOST_STACK_FRAME } from '../../profiles/cpuProfile';
import type { TracerEnv } from '../tracer';
import type { BlockedTask, TaskSweep, StateCounts } from './sweep';
import type { LoadAverages } from './loadavg';
import { groupByStack, issueOf, firstKnownIssue, kernelFrames, schedTextRange, type CompiledIssue } from './stacks';

/** What the detector saw for one scope when it fired (or when a manual capture started). */
export interface ScopeLoadSnapshot {
  /** "host" (threads outside containers), or a container id */
  scope: string;
  /** the trigger average (D tasks, EWMA over the configured window) */
  dloadAverage: number;
  counts: StateCounts;
  averages: LoadAverages;
}

export interface DloadCaptureOptions {
  sweep: TaskSweep;
  /** the container that fired, or null for the host's own processes */
  target: ListedCgroup | null;
  knownIssues: CompiledIssue[];
  /** D tasks from elsewhere on the host also listed (longest blocked first) */
  hostTasks: number;
  /** at most this many tasks of the scope are listed (longest blocked first); groups count them all */
  maxTasks: number;
  trigger: ScopeLoadSnapshot | null;
  hostTotal: ScopeLoadSnapshot | null;
  manual: boolean;
  /** set false to skip the off-CPU flame graph */
  offcpu?: boolean;
  /** root prefix for /proc reads (command lines): fixture trees in tests */
  root?: string;
}

/** One row of data.tasks. */
export interface DTaskRow {
  pid: number;
  tid: number;
  comm: string;
  command: string | null;
  container: ContainerRef | null;
  state: 'D';
  wchan: string | null;
  blockedMs: number | null;
  blockedSource: BlockedTask['blockedSource'];
  /** kernel stack, outermost first */
  stack: string[];
  /** the stack group (data.stackGroups[].group) */
  group: number;
  knownIssue: string | null;
  /** in the container (or host scope) the event is about; false: context from elsewhere on the host */
  inScope: boolean;
  /** still in D state at the end of the window */
  stillBlocked: boolean;
  /** seen in D at the trigger ("start"), only at the end of the window ("end"), or both */
  seen: 'start' | 'end' | 'both';
  kthread: boolean;
  iowait: boolean | null;
}

export interface StackGroupRow {
  group: number;
  /** tasks with this stack among those reported */
  count: number;
  /** of those, in the event's scope */
  inScopeCount: number;
  stack: string[];
  wchan: string | null;
  knownIssue: string | null;
  pids: number[];
  comms: string[];
  maxBlockedMs: number | null;
}

function cgroupFilterOf(l: ListedCgroup): CgroupFilter | null {
  if (l.dirs.cpu && fs.existsSync(l.dirs.cpu)) return { dir: l.dirs.cpu, hierarchy: 'v1-cpu' };
  if (l.dirs.unified && fs.existsSync(l.dirs.unified)) return { dir: l.dirs.unified, hierarchy: 'unified' };
  return null;
}

function nameOf(l: ListedCgroup | null): string {
  return l ? (l.ref.name ?? l.ref.id.slice(0, 12)) : 'the host';
}

interface Merged {
  task: BlockedTask;
  seen: 'start' | 'end' | 'both';
}

/** Union of two snapshots by task identity; the later one wins (longer blocked time, fresher stack). */
export function mergeSnapshots(first: readonly BlockedTask[], last: readonly BlockedTask[]): Merged[] {
  const out = new Map<string, Merged>();
  for (const t of first) out.set(t.key, { task: t, seen: 'start' });
  for (const t of last) {
    const had = out.get(t.key);
    out.set(t.key, {
      task: t.stack.length || !had ? t : { ...t, stack: had.task.stack, wchan: had.task.wchan },
      seen: had ? 'both' : 'end',
    });
  }
  return [...out.values()];
}

/** Off-CPU records → a flame graph in nanoseconds: process → user frames → kernel frames. */
export async function buildOffCpuProfile(w: OffCpuWindow, env: TracerEnv): Promise<Profile> {
  const ks = kernelSymbols();
  const sched = schedTextRange();
  const profile = new Profile({ unit: 'nanoseconds', startTime: w.startedAt, durationMs: w.endedAt - w.startedAt });
  const users = await env.symbolizer.symbolize(
    w.records.map((r) => ({ pid: r.tgid, comm: r.comm, kstack: [] as bigint[], ustack: r.ustack, rec: r }))
  );
  for (const s of users) {
    if (s.rec.ns <= 0) continue;
    const stack: Frame[] = [{ name: s.comm, kind: 'process' }];
    for (const f of s.user) stack.push(f);
    for (const name of kernelFrames(s.rec.kstack, ks, sched)) stack.push({ name, kind: 'kernel', module: 'kernel' });
    if (s.rec.lostStack) stack.push(LOST_STACK_FRAME);
    profile.add(stack, s.rec.ns);
  }
  return profile;
}

export async function captureDload(
  ctx: CaptureContext,
  env: TracerEnv,
  o: DloadCaptureOptions
): Promise<CaptureOutput> {
  const target = o.target;
  const targetId = target?.ref.id ?? null;
  const inScope = (t: BlockedTask) => (targetId ? t.listed?.ref.id === targetId : t.listed === null);

  // off-CPU tracking first, so the window covers everything after the trigger
  let tracker: OffCpuTracker | null = null;
  let filter: CgroupFilter | null = null;
  if (o.offcpu !== false) {
    if (o.sweep.source !== 'bpf') {
      ctx.degrade('no off-CPU flame graph: BPF is unavailable, D-state tasks come from the /proc sweep');
    } else {
      filter = target ? cgroupFilterOf(target) : null;
      if (target && !filter) ctx.degrade(`the cgroup of container ${nameOf(target)} is gone: no off-CPU flame graph`);
      else {
        try {
          tracker = new OffCpuTracker({ cgroup: filter ?? undefined });
          tracker.start();
        } catch (e) {
          tracker = null;
          ctx.degrade(`no off-CPU flame graph: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
        }
      }
    }
  }

  let window: OffCpuWindow | null = null;
  let first: BlockedTask[] = [];
  let last: BlockedTask[] = [];
  try {
    first = o.sweep.blockedTasks(env.containers.list(), Date.now());
    await ctx.wait(ctx.durationMs);
    last = o.sweep.blockedTasks(env.containers.list(), Date.now());
  } finally {
    if (tracker) {
      try {
        window = tracker.stop();
      } catch (e) {
        tracker.close();
        ctx.degrade(`off-CPU flame graph lost: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  if (target && !fs.existsSync(target.dirs.cpu ?? target.dirs.unified ?? '/nonexistent')) {
    ctx.degrade(`the cgroup of container ${nameOf(target)} vanished during the capture`);
  }

  const merged = mergeSnapshots(first, last);
  const lastKeys = new Set(last.map((t) => t.key));
  const byBlocked = (a: Merged, b: Merged) =>
    (b.task.blockedMs ?? -1) - (a.task.blockedMs ?? -1) || a.task.tid - b.task.tid;
  const scoped = merged.filter((m) => inScope(m.task)).sort(byBlocked);
  const others = merged.filter((m) => !inScope(m.task)).sort(byBlocked);
  const reported = [...scoped.slice(0, o.maxTasks), ...others.slice(0, o.hostTasks)];

  const commands = new Map<number, string | null>();
  const commandOf = (pid: number, comm: string): string | null => {
    if (!commands.has(pid)) {
      const argv = readPidCmdline(pid, o.root);
      commands.set(pid, argv ? displayCommand(argv, comm, 512) : null);
    }
    return commands.get(pid)!;
  };

  // groups over every task of the scope (not only the listed ones) plus the listed host tasks
  const groups = groupByStack([...scoped, ...others.slice(0, o.hostTasks)].map((m) => m.task));
  const groupOf = new Map<string, number>();
  for (const g of groups) for (const t of g.tasks) groupOf.set(t.key, g.group);

  const rows: DTaskRow[] = reported.map((m) => {
    const t = m.task;
    return {
      pid: t.pid,
      tid: t.tid,
      comm: t.comm,
      command: commandOf(t.pid, t.comm),
      container: t.listed?.ref ?? null,
      state: 'D',
      wchan: t.wchan,
      blockedMs: t.blockedMs,
      blockedSource: t.blockedSource,
      stack: t.stack,
      group: groupOf.get(t.key) ?? 0,
      knownIssue: issueOf(o.knownIssues, t.stack),
      inScope: inScope(t),
      stillBlocked: lastKeys.has(t.key),
      seen: m.seen,
      kthread: t.kthread,
      iowait: t.iowait,
    };
  });

  const stackGroups: StackGroupRow[] = groups.map((g) => {
    const blocked = g.tasks.map((t) => t.blockedMs).filter((x): x is number => x !== null);
    return {
      group: g.group,
      count: g.tasks.length,
      inScopeCount: g.tasks.filter((t) => inScope(t)).length,
      stack: g.stack,
      wchan: g.stack.length ? g.stack[g.stack.length - 1]! : null,
      knownIssue: issueOf(o.knownIssues, g.stack),
      pids: [...new Set(g.tasks.map((t) => t.pid))].slice(0, 32),
      comms: [...new Set(g.tasks.map((t) => t.comm))].slice(0, 16),
      maxBlockedMs: blocked.length ? Math.max(...blocked) : null,
    };
  });

  // the first known issue (in list order) matching a stack of the scope; else of anything reported
  const scopeStacks = scoped.map((m) => m.task.stack);
  const issue =
    firstKnownIssue(o.knownIssues, scopeStacks) ??
    firstKnownIssue(
      o.knownIssues,
      reported.map((m) => m.task.stack)
    );

  const profiles: NonNullable<CaptureOutput['profiles']> = [];
  let offcpu: Record<string, unknown> | null = null;
  if (window) {
    const profile = await buildOffCpuProfile(window, env);
    profiles.push({
      name: 'offcpu',
      title: `Off-CPU time in D state, ${target ? `container ${nameOf(target)}` : 'whole host'} (blocked time by stack)`,
      profile,
    });
    const s = window.stats;
    offcpu = {
      durationMs: window.endedAt - window.startedAt,
      blockedMs: Math.round(profile.total / 1e6),
      processes: new Set(window.records.map((r) => r.tgid)).size,
      blockedPeriods: window.records.reduce((a, r) => a + r.count, 0),
      seededTasks: s.seeded,
      stillBlockedAtEnd: s.openAtEnd,
      lost: s.lostStarts + s.lostCounts + s.lostStacks,
      cgroup: filter?.dir ?? null,
    };
    if (s.lostStarts + s.lostCounts > 0)
      ctx.degrade(`off-CPU maps overflowed: ${s.lostStarts + s.lostCounts} blocked periods not counted`);
  }

  const top = stackGroups.find((g) => g.inScopeCount > 0);
  const where = nameOf(target);
  const lead =
    !o.manual && o.trigger
      ? `D-load ${o.trigger.dloadAverage.toFixed(1)} in ${where}`
      : `manual dload capture of ${where}`;
  const parts = [`${scoped.length} task${scoped.length === 1 ? '' : 's'} in D`];
  if (top)
    parts.push(
      `top stack ${top.wchan ?? '?'} ×${top.inScopeCount}${stackGroups.filter((g) => g.inScopeCount > 0).length > 1 ? ` of ${stackGroups.filter((g) => g.inScopeCount > 0).length} stacks` : ''}`
    );
  if (issue) parts.push(`known issue ${issue.name}`);
  if (!scoped.length) parts.push('the stall had ended when the capture looked');

  return {
    summary: `${lead}: ${parts.join(', ')}`,
    data: {
      source: o.sweep.source,
      scope: target ? 'container' : 'host',
      knownIssue: issue?.name ?? null,
      knownIssueRegex: issue?.regex ?? null,
      load: o.trigger,
      hostLoad: o.hostTotal,
      tasksInScope: scoped.length,
      tasksElsewhere: others.length,
      tasks: rows,
      stackGroups,
      offcpu,
    },
    profiles,
  };
}
