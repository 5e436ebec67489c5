// Block IO capture (bpf/blockio.bpf.c): per-request queue/device time, per-CPU latency histograms per
// disk, attribution of requests and filesystem-level bytes to (process, cgroup, file), file names,
// and tasks stuck in io_schedule. One-shot: start() … stop() returns the raw window; the iotracing
// tracer turns it into evidence. The byte layouts below mirror bpf/blockio.h.
import fs from 'node:fs';
import { native, openObject, le, type BpfObject, type BpfLink, type RingBuffer } from './native';
import { kernelEnumValue } from './btfEnums';

export const IO_COMM_LEN = 16;
export const IO_HIST_POWERS = 28;
export const IO_HIST_SUB = 4;
export const IO_HIST_BUCKETS = 1 + IO_HIST_POWERS * IO_HIST_SUB;

export const IOF = {
  WRITE: 1 << 0,
  DIRECT: 1 << 1,
  WRITEBACK: 1 << 2,
  META: 1 << 3,
  SWAP: 1 << 4,
  DIRTIER: 1 << 5,
  BLKCG: 1 << 6,
  KTHREAD: 1 << 7,
  FS: 1 << 8,
  NOFILE: 1 << 9,
  READAHEAD: 1 << 10,
  SYNC: 1 << 11,
} as const;

export const LAYOUT = {
  ioKey: 72,
  ioVal: 56,
  histKey: 8,
  histVal: 8 * 8 + 2 * IO_HIST_BUCKETS * 8,
  pending: 112,
  nameHeader: 24,
  nameBuf: 1536,
  stallRec: 48 + 40 * 8,
  stallDepth: 40,
} as const;

const REC_NAME = 1;
const REC_STALL = 2;
const NAME_TRUNCATED = 1;
const NAME_DELETED = 2;
const NAME_NO_DENTRY = 4;

export const STAT_NAMES = [
  'requests',
  'attributed',
  'linkMapFull',
  'aggMapFull',
  'names',
  'namesLost',
  'stalls',
  'stallsLost',
  'iowaitWaits',
  'iowaitNs',
  'noIssueTime',
  'fsEvents',
  'partialCompletions',
  'histMapFull',
  'directMatched',
  'startedBeforeWindow',
] as const;
export type BlockIoStats = Record<(typeof STAT_NAMES)[number], number>;

/** Who did what to which file (the aggregation key). Device numbers are kernel dev_t (major << 20 | minor). */
export interface IoKey {
  ino: bigint;
  cgroup: bigint;
  cgroupV1: bigint;
  blkcg: bigint;
  tgid: number;
  submitter: number;
  dev: number;
  sbDev: number;
  flags: number;
  comm: string;
}

export interface IoVal {
  ios: number;
  bytes: number;
  q2cNs: number;
  d2cNs: number;
  d2cIos: number;
  q2cMaxNs: number;
  d2cMaxNs: number;
}

export interface IoRecord {
  key: IoKey;
  val: IoVal;
}

export interface DiskHistogram {
  /** kernel dev_t of the whole disk */
  disk: number;
  op: 'read' | 'write' | 'other';
  ios: number;
  bytes: number;
  q2cNs: number;
  d2cNs: number;
  d2cIos: number;
  q2cMaxNs: number;
  d2cMaxNs: number;
  noStart: number;
  /** quarter-octave bucket counts (see bucketBounds in tracers/iotracing/histogram.ts) */
  q2c: number[];
  d2c: number[];
}

export interface FileName {
  sbDev: number;
  ino: bigint;
  /** path components from the filesystem root down to the file */
  components: string[];
  truncated: boolean;
  deleted: boolean;
  noDentry: boolean;
}

export interface StallRecord {
  tid: number;
  tgid: number;
  comm: string;
  waitNs: number;
  cgroup: bigint;
  /** kernel return addresses, innermost first */
  stack: bigint[];
  /** still waiting when the window ended (from the iterator), else it ran again during the window */
  stillWaiting: boolean;
}

export interface BlockIoWindow {
  startedAt: number;
  endedAt: number;
  records: IoRecord[];
  histograms: DiskHistogram[];
  names: FileName[];
  stalls: StallRecord[];
  stats: BlockIoStats;
  /** optional parts that could not run on this kernel */
  missing: string[];
}

export interface BlockIoOptions {
  /** report io_schedule waits at least this long (ns) */
  stallNs: number;
  trackStalls?: boolean;
  /** filesystem-level bytes (page-cache reads, pages dirtied) */
  trackFs?: boolean;
  /** charge writeback to the task that dirtied the inode during the window */
  trackDirtier?: boolean;
  /** also record the v1 cpu-hierarchy cgroup of each process (v1 and hybrid hosts) */
  recordCgroupV1?: boolean;
  /** whole disks on the host (sizes the per-CPU histogram map) */
  disks?: number;
  /** requests in flight at once that can be attributed */
  maxInFlight?: number;
  pageShift?: number;
}

/** Programs by role; optional groups are dropped (and named in `missing`) when the kernel lacks their hook. */
const CORE = ['io_start', 'rq_complete', 'rq_merge', 'rq_issue'];
const OPTIONAL: { name: string; programs: string[]; tracepoints: string[] }[] = [
  {
    name: 'direct-IO file attribution (iomap_dio_rw_begin tracepoint)',
    programs: ['dio_begin'],
    tracepoints: ['iomap/iomap_dio_rw_begin'],
  },
  {
    name: 'filesystem-level bytes (filemap tracepoints)',
    programs: ['filemap_get_pages', 'filemap_fault'],
    tracepoints: ['filemap/mm_filemap_get_pages', 'filemap/mm_filemap_fault'],
  },
  {
    name: 'dirtied pages and writeback owners (writeback_dirty_folio)',
    programs: ['dirty_folio'],
    tracepoints: ['writeback/writeback_dirty_folio'],
  },
  {
    name: 'io_schedule stalls (sched_switch)',
    programs: ['sched_switch', 'stuck_tasks'],
    tracepoints: ['sched/sched_switch'],
  },
];

function tracepointExists(tp: string): boolean | null {
  for (const root of ['/sys/kernel/tracing/events', '/sys/kernel/debug/tracing/events']) {
    if (fs.existsSync(root)) return fs.existsSync(`${root}/${tp}`);
  }
  return null; // no tracefs: cannot tell before trying
}

/** Addresses of kernel functions from /proc/kallsyms (0 addresses, hidden by kptr_restrict, are left out). */
export function kernelFunctions(names: readonly string[], file = '/proc/kallsyms'): Map<string, bigint> {
  const want = new Set(names);
  const out = new Map<string, bigint>();
  let text = '';
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const sp2 = line.indexOf(' ', 17);
    if (sp2 < 0) continue;
    const name = line.slice(sp2 + 1).split('\t')[0]!;
    if (!want.has(name) || out.has(name)) continue;
    const t = line.charCodeAt(17);
    if (t !== 84 && t !== 116) continue; // T / t: text
    const addr = BigInt('0x' + line.slice(0, 16));
    if (addr !== 0n) out.set(name, addr);
    if (out.size === want.size) break;
  }
  return out;
}

function cstr(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

export function decodeIoKey(b: Buffer, off = 0): IoKey {
  return {
    ino: b.readBigUInt64LE(off),
    cgroup: b.readBigUInt64LE(off + 8),
    cgroupV1: b.readBigUInt64LE(off + 16),
    blkcg: b.readBigUInt64LE(off + 24),
    tgid: b.readUInt32LE(off + 32),
    submitter: b.readUInt32LE(off + 36),
    dev: b.readUInt32LE(off + 40),
    sbDev: b.readUInt32LE(off + 44),
    flags: b.readUInt32LE(off + 48),
    comm: cstr(b.subarray(off + 56, off + 72)),
  };
}

export function encodeIoKey(k: IoKey): Buffer {
  const b = Buffer.alloc(LAYOUT.ioKey);
  b.writeBigUInt64LE(k.ino, 0);
  b.writeBigUInt64LE(k.cgroup, 8);
  b.writeBigUInt64LE(k.cgroupV1, 16);
  b.writeBigUInt64LE(k.blkcg, 24);
  b.writeUInt32LE(k.tgid, 32);
  b.writeUInt32LE(k.submitter, 36);
  b.writeUInt32LE(k.dev, 40);
  b.writeUInt32LE(k.sbDev, 44);
  b.writeUInt32LE(k.flags, 48);
  b.write(k.comm.slice(0, IO_COMM_LEN - 1), 56, 'utf8');
  return b;
}

function u64(b: Buffer, off: number): number {
  return Number(b.readBigUInt64LE(off));
}

export function decodeIoVal(b: Buffer, off = 0): IoVal {
  return {
    ios: u64(b, off),
    bytes: u64(b, off + 8),
    q2cNs: u64(b, off + 16),
    d2cNs: u64(b, off + 24),
    d2cIos: u64(b, off + 32),
    q2cMaxNs: u64(b, off + 40),
    d2cMaxNs: u64(b, off + 48),
  };
}

/** One CPU's slot in a per-CPU value: the value size rounded up to 8 bytes. */
export function percpuSlot(valueSize: number): number {
  return Math.ceil(valueSize / 8) * 8;
}

/** Sum one key's per-CPU hist_val values (one `slot`-byte slot per possible CPU) into a DiskHistogram. */
export function decodeHistogram(key: Buffer, values: Buffer, slot: number = percpuSlot(LAYOUT.histVal)): DiskHistogram {
  const opn = key.readUInt32LE(4);
  const h: DiskHistogram = {
    disk: key.readUInt32LE(0),
    op: opn === 0 ? 'read' : opn === 1 ? 'write' : 'other',
    ios: 0,
    bytes: 0,
    q2cNs: 0,
    d2cNs: 0,
    d2cIos: 0,
    q2cMaxNs: 0,
    d2cMaxNs: 0,
    noStart: 0,
    q2c: new Array<number>(IO_HIST_BUCKETS).fill(0),
    d2c: new Array<number>(IO_HIST_BUCKETS).fill(0),
  };
  for (let off = 0; off + LAYOUT.histVal <= values.length; off += slot) {
    h.ios += u64(values, off);
    h.bytes += u64(values, off + 8);
    h.q2cNs += u64(values, off + 16);
    h.d2cNs += u64(values, off + 24);
    h.d2cIos += u64(values, off + 32);
    h.q2cMaxNs = Math.max(h.q2cMaxNs, u64(values, off + 40));
    h.d2cMaxNs = Math.max(h.d2cMaxNs, u64(values, off + 48));
    h.noStart += u64(values, off + 56);
    for (let i = 0; i < IO_HIST_BUCKETS; i++) {
      h.q2c[i]! += u64(values, off + 64 + i * 8);
      h.d2c[i]! += u64(values, off + 64 + (IO_HIST_BUCKETS + i) * 8);
    }
  }
  return h;
}

export function decodeName(b: Buffer): FileName | null {
  if (b.length < LAYOUT.nameHeader || b.readUInt32LE(0) !== REC_NAME) return null;
  const flags = b.readUInt16LE(18);
  const len = Math.min(b.readUInt32LE(20), b.length - LAYOUT.nameHeader);
  const parts = b
    .subarray(LAYOUT.nameHeader, LAYOUT.nameHeader + len)
    .toString('utf8')
    .split('\0');
  // each component is NUL-terminated: the split leaves one empty string at the end
  if (parts.length && parts[parts.length - 1] === '') parts.pop();
  return {
    sbDev: b.readUInt32LE(4),
    ino: b.readBigUInt64LE(8),
    components: parts.reverse(),
    truncated: (flags & NAME_TRUNCATED) !== 0,
    deleted: (flags & NAME_DELETED) !== 0,
    noDentry: (flags & NAME_NO_DENTRY) !== 0,
  };
}

export function decodeStall(b: Buffer, stillWaiting: boolean): StallRecord | null {
  if (b.length < LAYOUT.stallRec || b.readUInt32LE(0) !== REC_STALL) return null;
  const n = Math.min(b.readUInt32LE(12), LAYOUT.stallDepth);
  const stack: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const ip = b.readBigUInt64LE(48 + i * 8);
    if (ip === 0n) break;
    stack.push(ip);
  }
  return {
    tid: b.readUInt32LE(4),
    tgid: b.readUInt32LE(8),
    waitNs: u64(b, 16),
    cgroup: b.readBigUInt64LE(24),
    comm: cstr(b.subarray(32, 48)),
    stack,
    stillWaiting,
  };
}

function emptyStats(): BlockIoStats {
  return Object.fromEntries(STAT_NAMES.map((n) => [n, 0])) as BlockIoStats;
}

export class BlockIoCapture {
  private obj: BpfObject | null = null;
  private links: BpfLink[] = [];
  private ring: RingBuffer | null = null;
  private names: FileName[] = [];
  private stalls: StallRecord[] = [];
  private startedAt = 0;
  private missing: string[] = [];
  private enabled = new Set<string>();

  constructor(private readonly opts: BlockIoOptions) {}

  get running(): boolean {
    return this.obj !== null;
  }

  /** Load and attach. Throws when the core programs cannot run (the capture has no point without them). */
  start(): void {
    if (this.obj) throw new Error('block IO capture already started');
    const wanted = OPTIONAL.filter((g) => {
      if (g.name.startsWith('io_schedule') && this.opts.trackStalls === false) return false;
      if (g.name.startsWith('filesystem-level') && this.opts.trackFs === false) return false;
      if (g.name.startsWith('dirtied') && this.opts.trackFs === false && this.opts.trackDirtier === false) return false;
      return true;
    });
    // Groups whose tracepoints this kernel does not have are left out before the first load.
    let groups = wanted.filter((g) => {
      const present = g.tracepoints.map(tracepointExists);
      if (present.some((p) => p === false)) {
        this.missing.push(`${g.name}: tracepoint not in this kernel`);
        return false;
      }
      return true;
    });
    let obj: BpfObject;
    try {
      obj = this.load(groups);
    } catch (first) {
      if (groups.length === 0) throw first;
      // a hook we could not check (no tracefs) or a verifier refusal in an optional group:
      // load the core alone and say what is missing
      obj = this.load([]);
      for (const g of groups)
        this.missing.push(
          `${g.name}: did not load (${first instanceof Error ? first.message.slice(0, 200) : String(first)})`
        );
      groups = [];
    }
    try {
      this.checkLayout(obj);
      for (const p of CORE) this.links.push(obj.attach(p));
      for (const g of groups) {
        try {
          for (const p of g.programs) if (!p.startsWith('stuck_')) this.links.push(obj.attach(p));
          for (const p of g.programs) this.enabled.add(p);
        } catch (e) {
          this.missing.push(`${g.name}: did not attach (${e instanceof Error ? e.message.slice(0, 200) : String(e)})`);
        }
      }
      this.ring = obj.openRingBuffer('events', (recs) => this.onRecords(recs));
    } catch (e) {
      for (const l of this.links) l.destroy();
      this.links = [];
      obj.close();
      throw e;
    }
    this.obj = obj;
    this.startedAt = Date.now();
  }

  private load(groups: typeof OPTIONAL): BpfObject {
    const o = this.opts;
    const obj = openObject('blockio');
    try {
      const on = new Set(groups.flatMap((g) => g.programs));
      for (const g of OPTIONAL) for (const p of g.programs) obj.setAutoload(p, on.has(p));
      obj.setGlobal('stall_ns', le.u64(Math.max(1, Math.round(o.stallNs))));
      obj.setGlobal('page_shift', le.u32(o.pageShift ?? 12));
      obj.setGlobal('record_cg_v1', le.bool(!!o.recordCgroupV1));
      obj.setGlobal('track_stalls', le.bool(o.trackStalls !== false));
      obj.setGlobal('track_fs', le.bool(o.trackFs !== false));
      obj.setGlobal('track_dirtier', le.bool(o.trackDirtier !== false));
      // which queues stamp io_start_time_ns themselves (no issue-time bookkeeping needed for them)
      const statsBit = kernelEnumValue('QUEUE_FLAG_STATS');
      const bit = Buffer.alloc(4);
      bit.writeInt32LE(statsBit === null ? -1 : Number(statsBit));
      obj.setGlobal('queue_flag_stats', bit);
      const syms = kernelFunctions(['iomap_dio_bio_end_io', 'bio_chain_endio']);
      obj.setGlobal('iomap_dio_end_io', le.u64(syms.get('iomap_dio_bio_end_io') ?? 0n));
      obj.setGlobal('bio_chain_end_io', le.u64(syms.get('bio_chain_endio') ?? 0n));
      // two directions and "other" per whole disk, per CPU
      obj.setMapMaxEntries('hist', Math.max(16, 3 * (o.disks ?? 16) + 8));
      obj.setMapMaxEntries('links', Math.max(1024, o.maxInFlight ?? 8192));
      // (process, file) aggregates are per CPU: at most ~32 MiB of them whatever the CPU count
      const cpus = Math.max(1, native().numPossibleCpus());
      obj.setMapMaxEntries('agg', Math.max(1024, Math.min(16384, Math.floor((32 << 20) / (cpus * LAYOUT.ioVal)))));
      obj.load();
      return obj;
    } catch (e) {
      obj.close();
      throw e;
    }
  }

  private checkLayout(obj: BpfObject): void {
    const want: [string, number, number][] = [
      ['agg', LAYOUT.ioKey, LAYOUT.ioVal],
      ['hist', LAYOUT.histKey, LAYOUT.histVal],
      ['fs_pending', 4, LAYOUT.pending],
      ['stall_scratch', 4, LAYOUT.stallRec],
      ['name_scratch', 4, LAYOUT.nameHeader + LAYOUT.nameBuf],
    ];
    for (const [name, k, v] of want) {
      const info = obj.map(name).info;
      if (info.keySize !== k || info.valueSize !== v) {
        throw new Error(
          `blockio.bpf.o does not match agent/src/bpf/blockio.ts: map ${name} has key/value ${info.keySize}/${info.valueSize} bytes, expected ${k}/${v} (rebuild with npm run build:bpf)`
        );
      }
    }
  }

  private onRecords(recs: Buffer[]): void {
    for (const r of recs) {
      const type = r.length >= 4 ? r.readUInt32LE(0) : 0;
      if (type === REC_NAME) {
        const n = decodeName(r);
        if (n) this.names.push(n);
      } else if (type === REC_STALL) {
        const s = decodeStall(r, false);
        if (s) this.stalls.push(s);
      }
    }
  }

  /** Detach, read everything out, free the kernel side. */
  stop(): BlockIoWindow {
    const obj = this.obj;
    if (!obj) throw new Error('block IO capture is not running');
    for (const l of this.links) l.destroy();
    this.links = [];
    const endedAt = Date.now();
    try {
      this.ring?.consume();
      const records = this.readAggregates(obj);
      const histograms = this.readHistograms(obj);
      const stuck = this.enabled.has('stuck_tasks') ? this.readStuck(obj) : [];
      const stats = this.readStats(obj);
      return {
        startedAt: this.startedAt,
        endedAt,
        records,
        histograms,
        names: this.names,
        stalls: [...this.stalls, ...stuck],
        stats,
        missing: [...this.missing],
      };
    } finally {
      this.close();
    }
  }

  close(): void {
    for (const l of this.links) l.destroy();
    this.links = [];
    this.ring?.close();
    this.ring = null;
    this.obj?.close();
    this.obj = null;
  }

  private readAggregates(obj: BpfObject): IoRecord[] {
    const byKey = new Map<string, IoRecord>();
    const add = (keyBuf: Buffer, val: IoVal) => {
      const id = keyBuf.toString('hex');
      const have = byKey.get(id);
      if (!have) {
        byKey.set(id, { key: decodeIoKey(keyBuf), val: { ...val } });
        return;
      }
      const v = have.val;
      v.ios += val.ios;
      v.bytes += val.bytes;
      v.q2cNs += val.q2cNs;
      v.d2cNs += val.d2cNs;
      v.d2cIos += val.d2cIos;
      v.q2cMaxNs = Math.max(v.q2cMaxNs, val.q2cMaxNs);
      v.d2cMaxNs = Math.max(v.d2cMaxNs, val.d2cMaxNs);
    };
    // per CPU: one slot per possible CPU for every key
    const aggMap = obj.map('agg');
    const agg = aggMap.dump();
    const slot = percpuSlot(aggMap.info.valueSize);
    for (let i = 0; i < agg.count; i++) {
      const key = agg.keys.subarray(i * LAYOUT.ioKey, (i + 1) * LAYOUT.ioKey);
      const base = i * aggMap.info.valueStride;
      for (let off = 0; off + LAYOUT.ioVal <= aggMap.info.valueStride; off += slot)
        add(key, decodeIoVal(agg.values, base + off));
    }
    // the filesystem events still being combined on each CPU
    const pend = obj.map('fs_pending');
    const v = pend.lookup(le.u32(0));
    if (v) {
      const slot = percpuSlot(pend.info.valueSize);
      for (let off = 0; off + LAYOUT.pending <= v.length; off += slot) {
        const ops = u64(v, off + 88);
        if (!ops) continue;
        add(Buffer.from(v.subarray(off, off + LAYOUT.ioKey)), {
          ios: ops,
          bytes: u64(v, off + 80),
          q2cNs: 0,
          d2cNs: 0,
          d2cIos: 0,
          q2cMaxNs: 0,
          d2cMaxNs: 0,
        });
      }
    }
    return [...byKey.values()];
  }

  private readHistograms(obj: BpfObject): DiskHistogram[] {
    const m = obj.map('hist');
    const d = m.dump();
    // valueStride: bytes per key, every CPU's slot included
    const per = m.info.valueStride;
    const out: DiskHistogram[] = [];
    for (let i = 0; i < d.count; i++) {
      out.push(
        decodeHistogram(
          d.keys.subarray(i * LAYOUT.histKey, (i + 1) * LAYOUT.histKey),
          d.values.subarray(i * per, (i + 1) * per),
          percpuSlot(m.info.valueSize)
        )
      );
    }
    return out;
  }

  private readStuck(obj: BpfObject): StallRecord[] {
    const raw = obj.readIter('stuck_tasks');
    const out: StallRecord[] = [];
    for (let off = 0; off + LAYOUT.stallRec <= raw.length; off += LAYOUT.stallRec) {
      const s = decodeStall(raw.subarray(off, off + LAYOUT.stallRec), true);
      if (s) out.push(s);
    }
    return out;
  }

  private readStats(obj: BpfObject): BlockIoStats {
    const out = emptyStats();
    const m = obj.map('stats');
    const slot = percpuSlot(m.info.valueSize);
    STAT_NAMES.forEach((name, i) => {
      const v = m.lookup(le.u32(i));
      if (!v) return;
      let s = 0;
      for (let off = 0; off + 8 <= v.length; off += slot) s += u64(v, off);
      out[name] = s;
    });
    return out;
  }
}

/** Kernel dev_t (major << 20 | minor) → "major:minor". */
export function kdevString(dev: number): string {
  return `${dev >>> 20}:${dev & 0xfffff}`;
}

export function kdev(major: number, minor: number): number {
  return ((major << 20) | minor) >>> 0;
}
