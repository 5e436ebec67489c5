// On-CPU sampler (bpf/profile.bpf.c): perf_event samples counted in the kernel per
// (pid, kernel stack, user stack). One-shot: start() … stop(). Continuous: drain() every interval
// flips to the other map generation and reads out the one that was filling.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { openObject, native, le, isBpfError, type BpfObject, type BpfLink } from './native';
import { kernelFeatures } from './probes';

export const PROFILE_MAX_DEPTH = 127;
const KEY_SIZE = 48; // struct profile_key in bpf/profile.h
const STACK_NONE = 0n;
const STACK_LOST = 1n;
const CGROUP_MODE_UNIFIED = 1;
const CGROUP_MODE_V1_CPU = 2;

export interface CgroupFilter {
  /** absolute directory of the cgroup (e.g. /sys/fs/cgroup/cpu/docker/<id> or /sys/fs/cgroup/unified/…) */
  dir: string;
  /** which hierarchy `dir` is in: the unified (v2) one, or the v1 hierarchy of the cpu controller */
  hierarchy: 'unified' | 'v1-cpu';
}

export interface ProfilerOptions {
  /** samples per second per CPU (default 99) */
  frequency?: number;
  /** only this process (tgid) */
  pid?: number;
  /** only tasks in this cgroup or below it */
  cgroup?: CgroupFilter;
  /** which hierarchy the recorded cgroup ids refer to when no filter is set (default unified) */
  recordHierarchy?: 'unified' | 'v1-cpu';
  kernelOnly?: boolean;
  includeIdle?: boolean;
  /** cpu-clock works everywhere; cycles needs a hardware PMU; auto tries cycles first */
  event?: 'cpu-clock' | 'cycles' | 'auto';
}

export interface RawSample {
  pid: number;
  comm: string;
  cpu: number;
  /** kernfs id of the task's cgroup in the recorded hierarchy */
  cgroupId: bigint;
  /** kernel return addresses, innermost first; empty when the sample hit user mode */
  kstack: bigint[];
  /** user return addresses, innermost first; empty for kernel threads or kernel-only mode */
  ustack: bigint[];
  /** true when a stack could not be recorded (stack map full or hash collision) */
  lostStack: boolean;
  /** the kernel-side identity of the two stacks (hash of their frames): equal hashes, equal stacks */
  kstackId: bigint;
  ustackId: bigint;
  count: number;
}

export interface SampleWindow {
  startedAt: number;
  endedAt: number;
  frequency: number;
  event: 'cpu-clock' | 'cycles';
  samples: RawSample[];
  stats: { samples: number; filtered: number; lostStacks: number; lostCounts: number };
}

/** Before the BPF memory allocator (6.1) a perf_event program, which runs in NMI context, may only use
 *  preallocated hash maps: every slot is allocated at load, so the maps are sized to the CPU count
 *  instead of the run-time maps' 32k entries (4096 stacks per generation on ≤ 16 CPUs: 8 MiB of stacks
 *  in all; lost stacks are counted in the stats when a window has more distinct ones). */
function preallocateMaps(obj: BpfObject): void {
  const cpus = Math.max(1, native().numPossibleCpus());
  const stacks = Math.min(32768, Math.max(4096, 256 * cpus));
  for (const gen of [0, 1]) {
    obj.setMapFlags(`stacks${gen}`, 0);
    obj.setMapMaxEntries(`stacks${gen}`, stacks);
    obj.setMapFlags(`counts${gen}`, 0);
    obj.setMapMaxEntries(`counts${gen}`, stacks * 2);
  }
}

/** profile.bpf.o opened and sized for this kernel, not loaded yet. */
export function openProfileObject(): BpfObject {
  const obj = openObject('profile');
  try {
    if (!kernelFeatures().nmiSafeAlloc) preallocateMaps(obj);
  } catch (e) {
    obj.close();
    throw e;
  }
  return obj;
}

/** Load the sampler as a capture does and attach it for a moment (doctor). */
export function probeProfiler(): string {
  const obj = openProfileObject();
  try {
    obj.load();
    obj.attachPerfEvent('profile_sample', { frequency: 1, event: 'cpu-clock', cpus: [0] }).destroy();
    return kernelFeatures().nmiSafeAlloc
      ? 'loaded and attached (cpu-clock)'
      : 'loaded and attached (cpu-clock; preallocated maps: this kernel has no NMI-safe BPF allocator)';
  } finally {
    obj.close();
  }
}

export class Profiler {
  private obj: BpfObject | null = null;
  private link: BpfLink | null = null;
  private gen = 0;
  private readonly stackCache = new Map<bigint, bigint[]>();
  private windowStart = 0;
  private statsBase = { samples: 0, filtered: 0, lostStacks: 0, lostCounts: 0 };
  readonly frequency: number;
  event: 'cpu-clock' | 'cycles' = 'cpu-clock';

  constructor(private readonly opts: ProfilerOptions = {}) {
    this.frequency = opts.frequency ?? 99;
    if (!Number.isInteger(this.frequency) || this.frequency < 1 || this.frequency > 10000) {
      throw new RangeError(`frequency must be an integer between 1 and 10000 Hz, got ${opts.frequency}`);
    }
  }

  get running(): boolean {
    return this.link !== null;
  }

  start(): void {
    if (this.obj) throw new Error('profiler already started');
    const obj = openProfileObject();
    try {
      const { pid, cgroup } = this.opts;
      if (pid !== undefined) obj.setGlobal('filter_tgid', le.u32(pid));
      const hierarchy = cgroup?.hierarchy ?? this.opts.recordHierarchy ?? 'unified';
      obj.setGlobal('cgroup_mode', le.u32(hierarchy === 'v1-cpu' ? CGROUP_MODE_V1_CPU : CGROUP_MODE_UNIFIED));
      if (cgroup) {
        // A cgroup directory's inode number is its kernfs id, which is what the program compares.
        const ino = fs.statSync(cgroup.dir, { bigint: true }).ino;
        obj.setGlobal('filter_cgroup_id', le.u64(ino));
      }
      obj.setGlobal('include_idle', le.bool(!!this.opts.includeIdle));
      obj.setGlobal('kernel_only', le.bool(!!this.opts.kernelOnly));
      obj.load();
      this.link = this.attach(obj);
    } catch (e) {
      obj.close();
      throw e;
    }
    this.obj = obj;
    this.windowStart = Date.now();
  }

  private attach(obj: BpfObject): BpfLink {
    const want = this.opts.event ?? 'cpu-clock';
    if (want === 'cycles' || want === 'auto') {
      try {
        const l = obj.attachPerfEvent('profile_sample', { frequency: this.frequency, event: 'cycles' });
        this.event = 'cycles';
        return l;
      } catch (e) {
        // No PMU (VMs): ENOENT / EOPNOTSUPP. Fall back only when asked for auto.
        if (want === 'cycles' || !isBpfError(e)) throw e;
      }
    }
    this.event = 'cpu-clock';
    return obj.attachPerfEvent('profile_sample', { frequency: this.frequency, event: 'cpu-clock' });
  }

  /** Continuous mode: read out everything since the previous drain (or start); sampling goes on. */
  async drain(): Promise<SampleWindow> {
    const obj = this.requireObj();
    const old = this.gen;
    this.gen ^= 1;
    obj.setGlobal('generation', le.u32(this.gen));
    // A sample that read the old generation just before the flip finishes within microseconds.
    await sleep(2);
    return this.readGeneration(old);
  }

  /** One-shot mode: stop sampling and read out the window. The profiler can be started again. */
  stop(): SampleWindow {
    const obj = this.requireObj();
    this.link?.destroy();
    this.link = null;
    const w = this.readGeneration(this.gen);
    obj.close();
    this.obj = null;
    this.gen = 0;
    this.statsBase = { samples: 0, filtered: 0, lostStacks: 0, lostCounts: 0 };
    return w;
  }

  close(): void {
    this.link?.destroy();
    this.link = null;
    this.obj?.close();
    this.obj = null;
  }

  private requireObj(): BpfObject {
    if (!this.obj) throw new Error('profiler is not running');
    return this.obj;
  }

  private readGeneration(gen: number): SampleWindow {
    const obj = this.requireObj();
    const endedAt = Date.now();
    const counts = obj.map(`counts${gen}`).dump({ delete: true });
    // every stack of the generation at once; nothing writes to it any more
    const dumped = obj.map(`stacks${gen}`).dump({ delete: true });
    // decoded stacks are kept across drains: in continuous mode the same stacks come back every second
    const stacks = this.stackCache;
    if (stacks.size > 200_000) stacks.clear();
    const vsize = PROFILE_MAX_DEPTH * 8;
    for (let i = 0; i < dumped.count; i++) {
      if (stacks.has(dumped.keys.readBigUInt64LE(i * 8))) continue;
      const v = dumped.values.subarray(i * vsize, (i + 1) * vsize);
      const s: bigint[] = [];
      for (let j = 0; j < PROFILE_MAX_DEPTH; j++) {
        const ip = v.readBigUInt64LE(j * 8);
        if (ip === 0n) break;
        s.push(ip);
      }
      stacks.set(dumped.keys.readBigUInt64LE(i * 8), s);
    }
    const stackOf = (h: bigint): { ips: bigint[]; lost: boolean } => {
      if (h === STACK_NONE) return { ips: [], lost: false };
      const s = stacks.get(h);
      return s ? { ips: s, lost: false } : { ips: [], lost: true };
    };
    const samples: RawSample[] = [];
    for (let i = 0; i < counts.count; i++) {
      const k = counts.keys.subarray(i * KEY_SIZE, (i + 1) * KEY_SIZE);
      const kh = k.readBigUInt64LE(8);
      const uh = k.readBigUInt64LE(16);
      const ks = kh === STACK_LOST ? { ips: [], lost: true } : stackOf(kh);
      const us = uh === STACK_LOST ? { ips: [], lost: true } : stackOf(uh);
      const commRaw = k.subarray(32, 48);
      const nul = commRaw.indexOf(0);
      samples.push({
        pid: k.readUInt32LE(0),
        kstack: ks.ips,
        ustack: us.ips,
        kstackId: kh,
        ustackId: uh,
        lostStack: ks.lost || us.lost,
        cpu: k.readUInt32LE(4),
        cgroupId: k.readBigUInt64LE(24),
        comm: commRaw.subarray(0, nul < 0 ? 16 : nul).toString('utf8'),
        count: Number(counts.values.readBigUInt64LE(i * 8)),
      });
    }
    const stats = this.readStats();
    const delta = {
      samples: stats.samples - this.statsBase.samples,
      filtered: stats.filtered - this.statsBase.filtered,
      lostStacks: stats.lostStacks - this.statsBase.lostStacks,
      lostCounts: stats.lostCounts - this.statsBase.lostCounts,
    };
    this.statsBase = stats;
    const w: SampleWindow = {
      startedAt: this.windowStart,
      endedAt,
      frequency: this.frequency,
      event: this.event,
      samples,
      stats: delta,
    };
    this.windowStart = endedAt;
    return w;
  }

  private readStats(): { samples: number; filtered: number; lostStacks: number; lostCounts: number } {
    const m = this.requireObj().map('stats');
    const v = m.lookup(le.u32(0));
    const out = { samples: 0, filtered: 0, lostStacks: 0, lostCounts: 0 };
    if (!v) return out;
    // per-CPU value: one 8-byte-aligned struct profile_stats per possible CPU
    const slot = Math.ceil(m.info.valueSize / 8) * 8;
    for (let off = 0; off + slot <= v.length; off += slot) {
      out.samples += Number(v.readBigUInt64LE(off));
      out.filtered += Number(v.readBigUInt64LE(off + 8));
      out.lostStacks += Number(v.readBigUInt64LE(off + 16));
      out.lostCounts += Number(v.readBigUInt64LE(off + 24));
    }
    return out;
  }
}
