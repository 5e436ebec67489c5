// D-state sweep (bpf/dstate.bpf.c): BPF task iterators that count threads by scheduler state per
// cgroup, and list the threads in uninterruptible sleep with their kernel stacks — one read(2) each,
// no taskstats netlink, the same on cgroup v1, v2 and hybrid hosts.
//
// How long a task has been blocked: the iterator reads the task's se.exec_start (its runqueue's
// clock_task when it was dequeued, i.e. when it went to sleep) and turns it into CLOCK_MONOTONIC with
// two offsets read at the same moment: the task's runqueue clock − clock_task (irq/steal time the task
// clock leaves out) and CLOCK_MONOTONIC − this CPU's runqueue clock. The runqueue clock of a busy CPU is
// at most one scheduler tick old, so the result is exact to about one tick (4 ms at HZ=250), minus any
// steal/irq time accounted on the task's CPU while it slept. Without CONFIG_FAIR_GROUP_SCHED (no
// se.cfs_rq->rq) it falls back to sched_info.last_arrival (when the task last got a CPU: over by the
// length of its last run), and says so in `blockedSource`.
import { openObject, type BpfObject } from './native';

export const DSTATE_MAX_DEPTH = 64;
/** sizeof(struct dstate_task) in bpf/dstate.h */
export const DSTATE_TASK_SIZE = 120 + 8 * DSTATE_MAX_DEPTH;
const KEY_SIZE = 16;

export const TASK_UNINTERRUPTIBLE = 0x2;
export const TASK_NOLOAD = 0x400;
export const PF_KTHREAD = 0x00200000;

/** Thread counts by state for one (v1 cpu cgroup, unified cgroup) pair. */
export interface CgroupStateCounts {
  /** kernfs id of the thread's cgroup in the cpu controller's v1 hierarchy (the unified one where cpu lives there) */
  cgV1: bigint;
  /** kernfs id of the thread's cgroup in the unified (v2) hierarchy */
  cgDfl: bigint;
  total: number;
  running: number;
  uninterruptible: number;
  iowait: number;
  sleeping: number;
  stopped: number;
}

export interface DTaskRecord {
  tgid: number;
  tid: number;
  cgV1: bigint;
  cgDfl: bigint;
  /** raw task __state */
  state: number;
  kthread: boolean;
  iowait: boolean;
  comm: string;
  cpu: number;
  /** task start time, ns since boot: with tid, the task's identity */
  startTimeNs: bigint;
  /** CLOCK_MONOTONIC when the record was made */
  nowNs: bigint;
  /** CLOCK_MONOTONIC when the task left the CPU (estimate), or null */
  offCpuSinceNs: bigint | null;
  blockedNs: number | null;
  blockedSource: 'exec_start' | 'last_arrival' | null;
  /** kernel return addresses, innermost first (empty when the stack could not be read) */
  kstack: bigint[];
  /** -errno of bpf_get_task_stack, or null */
  stackError: number | null;
}

function cstr(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

/** Where the task left the CPU on CLOCK_MONOTONIC, from the clocks the iterator read (see the header). */
export function offCpuSince(r: {
  nowNs: bigint;
  execStart: bigint;
  lastArrival: bigint;
  taskRqClock: bigint;
  taskRqClockTask: bigint;
  thisRqClock: bigint;
}): { since: bigint; source: 'exec_start' | 'last_arrival' } | null {
  if (r.thisRqClock === 0n) return null;
  const monoMinusRq = r.nowNs - r.thisRqClock;
  if (r.execStart > 0n && r.taskRqClock > 0n && r.taskRqClock >= r.taskRqClockTask) {
    const since = r.execStart + (r.taskRqClock - r.taskRqClockTask) + monoMinusRq;
    // a task that blocked a moment ago on a CPU whose clock is fresher than ours: clamp to now
    return { since: since > r.nowNs ? r.nowNs : since, source: 'exec_start' };
  }
  if (r.lastArrival > 0n) {
    const since = r.lastArrival + monoMinusRq;
    return { since: since > r.nowNs ? r.nowNs : since, source: 'last_arrival' };
  }
  return null;
}

/** Parses the `dstate_tasks` iterator output (struct dstate_task records back to back). */
export function parseDTasks(buf: Buffer): DTaskRecord[] {
  const out: DTaskRecord[] = [];
  for (let off = 0; off + DSTATE_TASK_SIZE <= buf.length; off += DSTATE_TASK_SIZE) {
    const r = buf.subarray(off, off + DSTATE_TASK_SIZE);
    const nowNs = r.readBigUInt64LE(32);
    const since = offCpuSince({
      nowNs,
      execStart: r.readBigUInt64LE(40),
      lastArrival: r.readBigUInt64LE(48),
      taskRqClock: r.readBigUInt64LE(56),
      taskRqClockTask: r.readBigUInt64LE(64),
      thisRqClock: r.readBigUInt64LE(72),
    });
    const stackBytes = r.readInt32LE(96);
    const kstack: bigint[] = [];
    if (stackBytes > 0) {
      const n = Math.min(DSTATE_MAX_DEPTH, Math.floor(stackBytes / 8));
      for (let i = 0; i < n; i++) {
        const ip = r.readBigUInt64LE(120 + i * 8);
        if (ip === 0n) break;
        kstack.push(ip);
      }
    }
    const flags = r.readUInt32LE(28);
    out.push({
      tgid: r.readUInt32LE(0),
      tid: r.readUInt32LE(4),
      cgV1: r.readBigUInt64LE(8),
      cgDfl: r.readBigUInt64LE(16),
      state: r.readUInt32LE(24),
      kthread: (flags & PF_KTHREAD) !== 0,
      iowait: r.readUInt32LE(92) !== 0,
      comm: cstr(r.subarray(100, 116)),
      cpu: r.readUInt32LE(88),
      startTimeNs: r.readBigUInt64LE(80),
      nowNs,
      offCpuSinceNs: since?.since ?? null,
      blockedNs: since ? Number(nowNs - since.since) : null,
      blockedSource: since?.source ?? null,
      kstack,
      stackError: stackBytes < 0 ? -stackBytes : null,
    });
  }
  return out;
}

/** Parses a dump of the `counts` map (struct dstate_key → struct dstate_counts). */
export function parseCounts(keys: Buffer, values: Buffer, count: number, valueStride: number): CgroupStateCounts[] {
  const out: CgroupStateCounts[] = [];
  for (let i = 0; i < count; i++) {
    const k = keys.subarray(i * KEY_SIZE);
    const v = values.subarray(i * valueStride);
    out.push({
      cgV1: k.readBigUInt64LE(0),
      cgDfl: k.readBigUInt64LE(8),
      total: v.readUInt32LE(0),
      running: v.readUInt32LE(4),
      uninterruptible: v.readUInt32LE(8),
      iowait: v.readUInt32LE(12),
      sleeping: v.readUInt32LE(16),
      stopped: v.readUInt32LE(20),
    });
  }
  return out;
}

/** The loaded iterators. One instance serves every sweep of a tracer (open once, close on stop). */
export class DstateIterators {
  private obj: BpfObject | null = null;

  open(): void {
    if (this.obj) return;
    const o = openObject('dstate');
    try {
      o.load();
    } catch (e) {
      o.close();
      throw e;
    }
    this.obj = o;
  }

  get isOpen(): boolean {
    return this.obj !== null;
  }

  private need(): BpfObject {
    if (!this.obj) this.open();
    return this.obj!;
  }

  /** Every thread on the host, counted by state per cgroup pair. */
  counts(): CgroupStateCounts[] {
    const o = this.need();
    o.readIter('dstate_count');
    const m = o.map('counts');
    const d = m.dump({ delete: true });
    return parseCounts(d.keys, d.values, d.count, m.info.valueStride);
  }

  /** Every thread in D state with its kernel stack. */
  dTasks(): DTaskRecord[] {
    return parseDTasks(this.need().readIter('dstate_tasks'));
  }

  close(): void {
    this.obj?.close();
    this.obj = null;
  }
}

/** The iterators loaded and run once, as the dload sweep does (doctor). */
export function probeDstate(): string {
  const it = new DstateIterators();
  try {
    const counts = it.counts();
    return `loaded; one sweep counted ${counts.reduce((n, c) => n + c.total, 0)} threads`;
  } finally {
    it.close();
  }
}
