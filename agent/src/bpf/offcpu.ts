// Off-CPU time in D state over a capture window (bpf/offcpu.bpf.c): start() attaches to sched_switch
// and sched_wakeup (tp_btf) and seeds the tasks already blocked; stop() detaches, closes the window for
// the tasks still blocked, and returns the blocked time per (process, kernel stack, user stack).
import fs from 'node:fs';
import { openObject, le, type BpfObject, type BpfLink } from './native';
import type { CgroupFilter } from './profiler';

export const OFFCPU_MAX_DEPTH = 127;
export const OFFCPU_SEED_DEPTH = 64;
const START_SIZE = 56; // struct offcpu_start
const KEY_SIZE = 48; // struct offcpu_key
const CGROUP_MODE_UNIFIED = 1;
const CGROUP_MODE_V1_CPU = 2;

export interface OffCpuRecord {
  tgid: number;
  comm: string;
  cgV1: bigint;
  cgDfl: bigint;
  /** kernel return addresses, innermost first (seeded tasks: from bpf_get_task_stack, no scheduler frames) */
  kstack: bigint[];
  /** user return addresses, innermost first; empty for kernel threads and seeded tasks */
  ustack: bigint[];
  /** blocked in D state within the window, nanoseconds */
  ns: number;
  /** blocked periods that ended (or were cut) in the window */
  count: number;
  /** the task was already blocked when the window opened: its stack was read by the iterator */
  seeded: boolean;
  /** tid whose blocked period was seeded (0 otherwise) */
  seedTid: number;
  lostStack: boolean;
}

export interface OffCpuStats {
  blocks: number;
  endsWakeup: number;
  endsSwitch: number;
  filtered: number;
  lostStarts: number;
  lostCounts: number;
  lostStacks: number;
  seeded: number;
  /** tasks still blocked when the window closed */
  openAtEnd: number;
}

export interface OffCpuWindow {
  startedAt: number;
  endedAt: number;
  records: OffCpuRecord[];
  stats: OffCpuStats;
}

function cstr(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

function readIps(v: Buffer | null, depth: number): bigint[] {
  const out: bigint[] = [];
  if (!v) return out;
  for (let i = 0; i < depth && (i + 1) * 8 <= v.length; i++) {
    const ip = v.readBigUInt64LE(i * 8);
    if (ip === 0n) break;
    out.push(ip);
  }
  return out;
}

/** CLOCK_MONOTONIC in ns: the clock bpf_ktime_get_ns() reads (libuv's hrtime uses it too). */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

export class OffCpuTracker {
  private obj: BpfObject | null = null;
  private links: BpfLink[] = [];
  private startedAt = 0;

  constructor(private readonly opts: { cgroup?: CgroupFilter } = {}) {}

  start(): void {
    if (this.obj) throw new Error('off-CPU tracker already started');
    const o = openObject('offcpu');
    try {
      const cg = this.opts.cgroup;
      o.setGlobal('cgroup_mode', le.u32(cg?.hierarchy === 'v1-cpu' ? CGROUP_MODE_V1_CPU : CGROUP_MODE_UNIFIED));
      if (cg) o.setGlobal('filter_cgroup_id', le.u64(fs.statSync(cg.dir, { bigint: true }).ino));
      o.load();
      // attach first, then seed: a task blocking in between is traced exactly; the seed skips it
      this.links.push(o.attach('offcpu_switch'));
      this.links.push(o.attach('offcpu_wakeup'));
      o.readIter('offcpu_seed');
    } catch (e) {
      for (const l of this.links) l.destroy();
      this.links = [];
      o.close();
      throw e;
    }
    this.obj = o;
    this.startedAt = Date.now();
  }

  get running(): boolean {
    return this.obj !== null;
  }

  stop(): OffCpuWindow {
    const o = this.obj;
    if (!o) throw new Error('off-CPU tracker is not running');
    const endNs = monotonicNs();
    for (const l of this.links) l.destroy();
    this.links = [];
    const endedAt = Date.now();
    try {
      const stackMap = o.map('stacks');
      const stackCache = new Map<number, bigint[]>();
      const stack = (id: number): bigint[] => {
        if (id < 0) return [];
        let s = stackCache.get(id);
        if (!s) {
          s = readIps(stackMap.lookup(le.u32(id)), OFFCPU_MAX_DEPTH);
          stackCache.set(id, s);
        }
        return s;
      };
      const seedMap = o.map('seed_stacks');
      const seedStack = (tid: number) => readIps(seedMap.lookup(le.u32(tid)), OFFCPU_SEED_DEPTH);

      const byKey = new Map<string, OffCpuRecord>();
      const add = (
        k: { tgid: number; seedTid: number; kid: number; uid: number; cgV1: bigint; cgDfl: bigint; comm: string },
        ns: number,
        count: number
      ) => {
        const key = `${k.tgid}/${k.seedTid}/${k.kid}/${k.uid}/${k.cgV1}/${k.cgDfl}/${k.comm}`;
        const have = byKey.get(key);
        if (have) {
          have.ns += ns;
          have.count += count;
          return;
        }
        byKey.set(key, {
          tgid: k.tgid,
          comm: k.comm,
          cgV1: k.cgV1,
          cgDfl: k.cgDfl,
          kstack: k.seedTid ? seedStack(k.seedTid) : stack(k.kid),
          ustack: stack(k.uid),
          ns,
          count,
          seeded: k.seedTid !== 0,
          seedTid: k.seedTid,
          lostStack: !k.seedTid && k.kid < 0,
        });
      };

      const counts = o.map('counts').dump();
      const stride = o.map('counts').info.valueStride;
      for (let i = 0; i < counts.count; i++) {
        const k = counts.keys.subarray(i * KEY_SIZE, (i + 1) * KEY_SIZE);
        const v = counts.values.subarray(i * stride);
        add(
          {
            tgid: k.readUInt32LE(0),
            seedTid: k.readUInt32LE(4),
            kid: k.readInt32LE(8),
            uid: k.readInt32LE(12),
            cgV1: k.readBigUInt64LE(16),
            cgDfl: k.readBigUInt64LE(24),
            comm: cstr(k.subarray(32, 48)),
          },
          Number(v.readBigUInt64LE(0)),
          Number(v.readBigUInt64LE(8))
        );
      }
      // tasks still blocked: their time runs to the end of the window
      const open = o.map('start').dump();
      for (let i = 0; i < open.count; i++) {
        const tid = open.keys.readUInt32LE(i * 4);
        const s = open.values.subarray(i * START_SIZE, (i + 1) * START_SIZE);
        const ts = s.readBigUInt64LE(0);
        const seeded = s.readUInt32LE(20) !== 0;
        add(
          {
            tgid: s.readUInt32LE(8),
            seedTid: seeded ? tid : 0,
            kid: s.readInt32LE(12),
            uid: s.readInt32LE(16),
            cgV1: s.readBigUInt64LE(24),
            cgDfl: s.readBigUInt64LE(32),
            comm: cstr(s.subarray(40, 56)),
          },
          endNs > ts ? Number(endNs - ts) : 0,
          1
        );
      }
      const stats = this.readStats(o);
      stats.openAtEnd = open.count;
      return { startedAt: this.startedAt, endedAt, records: [...byKey.values()], stats };
    } finally {
      o.close();
      this.obj = null;
    }
  }

  close(): void {
    for (const l of this.links) l.destroy();
    this.links = [];
    this.obj?.close();
    this.obj = null;
  }

  private readStats(o: BpfObject): OffCpuStats {
    const m = o.map('stats');
    const v = m.lookup(le.u32(0));
    const out: OffCpuStats = {
      blocks: 0,
      endsWakeup: 0,
      endsSwitch: 0,
      filtered: 0,
      lostStarts: 0,
      lostCounts: 0,
      lostStacks: 0,
      seeded: 0,
      openAtEnd: 0,
    };
    if (!v) return out;
    const fields = [
      'blocks',
      'endsWakeup',
      'endsSwitch',
      'filtered',
      'lostStarts',
      'lostCounts',
      'lostStacks',
      'seeded',
    ] as const;
    const slot = Math.ceil(m.info.valueSize / 8) * 8;
    for (let off = 0; off + slot <= v.length; off += slot) {
      fields.forEach((f, i) => {
        out[f] += Number(v.readBigUInt64LE(off + i * 8));
      });
    }
    return out;
  }
}

/** The tracker started and stopped, as a dload capture does (doctor). */
export function probeOffCpu(): string {
  const t = new OffCpuTracker();
  t.start();
  t.stop();
  return 'loaded and attached (sched_switch, sched_wakeup), seeded by the task iterator';
}
