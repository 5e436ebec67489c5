// Where dload's numbers come from: every thread's scheduler state, per container and for the host.
// BpfSweep uses the dstate.bpf.c task iterators (one read per second, cgroup ids resolved to containers
// on v1 and v2 alike). ProcSweep reads /proc/PID/task/TID/stat instead, for hosts where BPF cannot load;
// it takes a root prefix, so fixture trees exercise it.
import type { ListedCgroup } from '../../containers';
import { containerForPid } from '../../containers';
import { DstateIterators, PF_KTHREAD, type DTaskRecord } from '../../bpf/dstate';
import { CgroupIdResolver } from '../../bpf/cgroupIds';
import { detectCgroupLayout, type CgroupLayout } from '../../host/cgroupLayout';
import { listPids, listThreads, readPidStat, readPidStack, readPidWchan } from '../../host/process';
import { kernelSymbols } from '../../profiles/symbols/kallsyms';
import { kernelFrames, parseProcStack, schedTextRange } from './stacks';

export interface StateCounts {
  threads: number;
  running: number;
  uninterruptible: number;
  iowait: number;
  sleeping: number;
  stopped: number;
}

export function emptyCounts(): StateCounts {
  return { threads: 0, running: 0, uninterruptible: 0, iowait: 0, sleeping: 0, stopped: 0 };
}

function addCounts(into: StateCounts, c: StateCounts): void {
  into.threads += c.threads;
  into.running += c.running;
  into.uninterruptible += c.uninterruptible;
  into.iowait += c.iowait;
  into.sleeping += c.sleeping;
  into.stopped += c.stopped;
}

export interface SweepSample {
  source: 'bpf' | 'proc';
  /** every thread of the host */
  host: StateCounts;
  /** threads outside any container (the host's own processes) */
  outside: StateCounts;
  /** by container id */
  containers: Map<string, { listed: ListedCgroup; counts: StateCounts }>;
}

/** A thread in D state, source-independent. */
export interface BlockedTask {
  pid: number;
  tid: number;
  comm: string;
  kthread: boolean;
  iowait: boolean | null;
  listed: ListedCgroup | null;
  /** how long it has been blocked when sampled, ms (null: unknown) */
  blockedMs: number | null;
  /** exec_start / last_arrival: from the scheduler's clocks (see bpf/dstate.ts); observed: since the
   *  first 1 s sweep that saw it in D (a lower bound, /proc fallback) */
  blockedSource: 'exec_start' | 'last_arrival' | 'observed' | null;
  /** kernel stack, outermost first, scheduler functions removed (innermost frame = wait channel) */
  stack: string[];
  wchan: string | null;
  /** identity across two snapshots */
  key: string;
}

export interface TaskSweep {
  readonly source: 'bpf' | 'proc';
  sample(list: readonly ListedCgroup[], now: number): SweepSample;
  blockedTasks(list: readonly ListedCgroup[], now: number): BlockedTask[];
  close(): void;
}

function tally(sample: SweepSample, listed: ListedCgroup | null, c: StateCounts): void {
  addCounts(sample.host, c);
  if (!listed) {
    addCounts(sample.outside, c);
    return;
  }
  const have = sample.containers.get(listed.ref.id);
  if (have) addCounts(have.counts, c);
  else {
    const counts = emptyCounts();
    addCounts(counts, c);
    sample.containers.set(listed.ref.id, { listed, counts });
  }
}

function newSample(source: 'bpf' | 'proc', list: readonly ListedCgroup[]): SweepSample {
  const s: SweepSample = { source, host: emptyCounts(), outside: emptyCounts(), containers: new Map() };
  // every listed container has a reading, even with no threads counted this sweep
  for (const l of list) s.containers.set(l.ref.id, { listed: l, counts: emptyCounts() });
  return s;
}

export class BpfSweep implements TaskSweep {
  readonly source = 'bpf' as const;
  private readonly iters = new DstateIterators();
  private readonly resolver = new CgroupIdResolver('cpu');

  constructor() {
    this.iters.open();
  }

  sample(list: readonly ListedCgroup[], now: number): SweepSample {
    this.resolver.update(list, now);
    const s = newSample('bpf', list);
    for (const c of this.iters.counts()) {
      tally(s, this.resolver.resolve(c.cgV1, c.cgDfl), {
        threads: c.total,
        running: c.running,
        uninterruptible: c.uninterruptible,
        iowait: c.iowait,
        sleeping: c.sleeping,
        stopped: c.stopped,
      });
    }
    return s;
  }

  /** Raw records (with addresses) for callers that want them. */
  records(): DTaskRecord[] {
    return this.iters.dTasks();
  }

  blockedTasks(list: readonly ListedCgroup[], now: number): BlockedTask[] {
    this.resolver.update(list, now);
    const ks = kernelSymbols();
    const sched = schedTextRange();
    return this.records().map((r) => {
      const stack = kernelFrames(r.kstack, ks, sched);
      return {
        pid: r.tgid,
        tid: r.tid,
        comm: r.comm,
        kthread: r.kthread,
        iowait: r.iowait,
        listed: this.resolver.resolve(r.cgV1, r.cgDfl),
        blockedMs: r.blockedNs === null ? null : Math.round(r.blockedNs / 1e5) / 10,
        blockedSource: r.blockedSource,
        stack,
        wchan: stack.length ? stack[stack.length - 1]! : null,
        key: `${r.tid}@${r.startTimeNs}`,
      };
    });
  }

  close(): void {
    this.iters.close();
  }
}

interface PidInfo {
  starttime: number;
  containerId: string | null;
}

/**
 * /proc sweep: every thread's state from /proc/PID/task/TID/stat; the container from /proc/PID/cgroup
 * (read once per process). Blocked time is observed: since the first sweep that saw the thread in D.
 */
export class ProcSweep implements TaskSweep {
  readonly source = 'proc' as const;
  private readonly layout: CgroupLayout;
  private pids = new Map<number, PidInfo>();
  /** "tid@starttime" → when first seen in D (ms) */
  private dSince = new Map<string, number>();
  /** D threads of the last sample */
  private lastD: Array<{
    pid: number;
    tid: number;
    comm: string;
    starttime: number;
    kthread: boolean;
    containerId: string | null;
  }> = [];

  constructor(private readonly opts: { root?: string; layout?: CgroupLayout } = {}) {
    this.layout = opts.layout ?? detectCgroupLayout(opts.root ?? '/');
  }

  private get root(): string {
    return this.opts.root ?? '/';
  }

  private containerOf(pid: number, starttime: number): string | null {
    const have = this.pids.get(pid);
    if (have && have.starttime === starttime) return have.containerId;
    let id: string | null = null;
    try {
      id = containerForPid(pid, { root: this.root, layout: this.layout })?.id ?? null;
    } catch {
      id = null;
    }
    this.pids.set(pid, { starttime, containerId: id });
    return id;
  }

  sample(list: readonly ListedCgroup[], now: number): SweepSample {
    const s = newSample('proc', list);
    const byId = new Map(list.map((l) => [l.ref.id, l]));
    const alive = new Set<number>();
    const seenD = new Set<string>();
    const d: ProcSweep['lastD'] = [];
    for (const pid of listPids(this.root)) {
      const st = readPidStat(pid, this.root);
      if (!st) continue;
      alive.add(pid);
      const cid = this.containerOf(pid, st.starttime);
      const listed = cid ? (byId.get(cid) ?? null) : null;
      const c = emptyCounts();
      const tids = listThreads(pid, this.root);
      for (const tid of tids && tids.length ? tids : [pid]) {
        const t = tid === pid && !(tids && tids.length) ? st : readPidStat(pid, this.root, tid);
        if (!t) continue;
        c.threads++;
        if (t.state === 'R') c.running++;
        else if (t.state === 'D') {
          c.uninterruptible++;
          const key = `${tid}@${t.starttime}`;
          seenD.add(key);
          if (!this.dSince.has(key)) this.dSince.set(key, now);
          d.push({
            pid,
            tid,
            comm: t.comm,
            starttime: t.starttime,
            kthread: (t.flags & PF_KTHREAD) !== 0,
            containerId: cid,
          });
        } else if (t.state === 'T' || t.state === 't') c.stopped++;
        else if (t.state === 'S' || t.state === 'I') c.sleeping++;
      }
      tally(s, listed, c);
    }
    for (const k of [...this.dSince.keys()]) if (!seenD.has(k)) this.dSince.delete(k);
    for (const pid of [...this.pids.keys()]) if (!alive.has(pid)) this.pids.delete(pid);
    this.lastD = d;
    return s;
  }

  blockedTasks(list: readonly ListedCgroup[], now: number): BlockedTask[] {
    // a fresh sweep, so the list is current (and the observed times advance)
    this.sample(list, now);
    const byId = new Map(list.map((l) => [l.ref.id, l]));
    return this.lastD.map((t) => {
      const key = `${t.tid}@${t.starttime}`;
      const text = readPidStack(t.pid, this.root, t.tid);
      const stack = text ? parseProcStack(text) : [];
      const since = this.dSince.get(key);
      const wchan = readPidWchan(t.pid, this.root, t.tid) ?? (stack.length ? stack[stack.length - 1]! : null);
      return {
        pid: t.pid,
        tid: t.tid,
        comm: t.comm,
        kthread: t.kthread,
        iowait: null,
        listed: t.containerId ? (byId.get(t.containerId) ?? null) : null,
        blockedMs: since === undefined ? null : now - since,
        blockedSource: since === undefined ? null : 'observed',
        stack,
        wchan,
        key,
      };
    });
  }

  close(): void {
    this.pids.clear();
    this.dSince.clear();
  }
}

/** BPF when it loads, else the /proc sweep (with the reason, for the log and the API). */
export function openSweep(): { sweep: TaskSweep; fallbackReason: string | null } {
  try {
    return { sweep: new BpfSweep(), fallbackReason: null };
  } catch (e) {
    return { sweep: new ProcSweep(), fallbackReason: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
}
