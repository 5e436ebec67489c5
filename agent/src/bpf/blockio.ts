// Block IO capture (bpf/blockio.bpf.c): per-request queue/device time, per-CPU latency histograms per
// disk, attribution of requests and filesystem-level bytes to (process, cgroup, file), file names,
// and tasks stuck in io_schedule. One-shot: start() … stop() returns the raw window; the iotracing
// tracer turns it into evidence. The byte layouts below mirror bpf/blockio.h.
import fs from 'node:fs';
import { native, le, type BpfObject, type RingBuffer } from './native';
import { kernelEnumValue } from './btfEnums';
import { BPF_MAP_TYPE_LRU_HASH, hasFunction, hasKprobe, hasTracepoint, kernelFeatures } from './probes';
import { loadWithVariants, type GroupOutcome, type LoadedObject, type ProgramGroup } from './variants';

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

const STALL_LABEL = 'tracepoint sched_switch';
/** a signature test: the first arguments have these types */
const takes =
  (...types: string[]) =>
  (args: string[]) =>
    types.every((t, i) => args[i] === t);

/** The programs of bpf/blockio.bpf.c by what they give the evidence, each with its variants in order of
 *  preference (tracepoint, then fentry, then kprobe; a tracepoint's signatures across kernels). */
export function blockIoGroups(opts: Pick<BlockIoOptions, 'trackStalls' | 'trackFs' | 'trackDirtier'>): ProgramGroup[] {
  const groups: ProgramGroup[] = [
    {
      name: 'request submission (who, which file)',
      required: true,
      variants: [
        { label: 'tracepoint block_io_start', programs: ['io_start'], unavailable: hasTracepoint('block_io_start') },
        {
          label: 'tracepoint block_getrq',
          programs: ['getrq'],
          unavailable: hasTracepoint('block_getrq', takes('struct bio *')),
        },
        {
          label: 'tracepoint block_getrq (queue, bio, rw)',
          programs: ['getrq_q'],
          unavailable: hasTracepoint('block_getrq', takes('struct request_queue *', 'struct bio *')),
        },
      ],
    },
    {
      name: 'request issue and completion (latencies)',
      required: true,
      variants: [
        { label: 'tracepoints block_rq_issue/merge/complete', programs: ['rq_issue', 'rq_merge', 'rq_complete'] },
      ],
    },
    {
      name: 'direct-IO file attribution of other filesystems (iomap DIO begin)',
      required: false,
      variants: [
        {
          label: 'tracepoint iomap_dio_rw_begin',
          programs: ['dio_begin'],
          unavailable: hasTracepoint('iomap_dio_rw_begin'),
        },
        {
          label: 'fentry __iomap_dio_rw',
          programs: ['dio_begin_fentry'],
          unavailable: hasFunction('__iomap_dio_rw', takes('struct kiocb *')),
        },
        {
          label: 'kprobe __iomap_dio_rw',
          programs: ['dio_begin_kprobe'],
          unavailable: hasKprobe('__iomap_dio_rw', takes('struct kiocb *')),
        },
      ],
    },
  ];
  if (opts.trackFs !== false) {
    groups.push(
      {
        name: 'page-cache reads per process and file',
        required: false,
        variants: [
          {
            label: 'tracepoint mm_filemap_get_pages',
            programs: ['filemap_get_pages'],
            unavailable: hasTracepoint('mm_filemap_get_pages'),
          },
          {
            label: 'fentry filemap_get_pages',
            programs: ['filemap_get_pages_fentry'],
            unavailable: hasFunction('filemap_get_pages', takes('struct kiocb *', 'size_t')),
          },
          {
            label: 'fentry filemap_get_pages (iocb, iter)',
            programs: ['filemap_get_pages_iter_fentry'],
            unavailable: hasFunction('filemap_get_pages', takes('struct kiocb *', 'struct iov_iter *')),
          },
          {
            label: 'fentry generic_file_buffered_read',
            programs: ['buffered_read_fentry'],
            unavailable: hasFunction('generic_file_buffered_read', takes('struct kiocb *', 'struct iov_iter *')),
          },
          {
            label: 'kprobe filemap_get_pages',
            programs: ['filemap_get_pages_kprobe'],
            unavailable: hasKprobe('filemap_get_pages', takes('struct kiocb *', 'size_t')),
          },
          {
            label: 'kprobe filemap_get_pages (iocb, iter)',
            programs: ['filemap_get_pages_iter_kprobe'],
            unavailable: hasKprobe('filemap_get_pages', takes('struct kiocb *', 'struct iov_iter *')),
          },
          {
            label: 'kprobe generic_file_buffered_read',
            programs: ['buffered_read_kprobe'],
            unavailable: hasKprobe('generic_file_buffered_read', takes('struct kiocb *', 'struct iov_iter *')),
          },
        ],
      },
      {
        name: 'page-cache faults per process and file',
        required: false,
        variants: [
          {
            label: 'tracepoint mm_filemap_fault',
            programs: ['filemap_fault'],
            unavailable: hasTracepoint('mm_filemap_fault'),
          },
          {
            label: 'fentry filemap_fault',
            programs: ['filemap_fault_fentry'],
            unavailable: hasFunction('filemap_fault', takes('struct vm_fault *')),
          },
          {
            label: 'kprobe filemap_fault',
            programs: ['filemap_fault_kprobe'],
            unavailable: hasKprobe('filemap_fault', takes('struct vm_fault *')),
          },
        ],
      }
    );
  }
  if (opts.trackFs !== false || opts.trackDirtier !== false) {
    groups.push({
      name: 'pages dirtied and writeback owners',
      required: false,
      variants: [
        {
          label: 'tracepoint writeback_dirty_folio',
          programs: ['dirty_folio'],
          unavailable: hasTracepoint('writeback_dirty_folio'),
        },
        {
          label: 'tracepoint writeback_dirty_page',
          programs: ['dirty_page'],
          unavailable: hasTracepoint('writeback_dirty_page'),
        },
      ],
    });
  }
  if (opts.trackStalls !== false) {
    groups.push({
      name: 'io_schedule stalls',
      required: false,
      variants: [
        {
          label: STALL_LABEL,
          programs: ['sched_switch', 'stuck_tasks'],
          detached: ['stuck_tasks'],
          unavailable: hasTracepoint('sched_switch'),
        },
      ],
    });
  }
  return groups;
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

/** Load blockio.bpf.o with the variants this kernel takes, configured for one capture window. */
export function loadBlockIo(o: BlockIoOptions, attach = true): LoadedObject {
  const f = kernelFeatures();
  const taskStorage = f.taskStorage && f.taskBtf;
  return loadWithVariants({
    object: 'blockio',
    groups: blockIoGroups(o),
    attach,
    configure(obj, uses) {
      obj.setGlobal('stall_ns', le.u64(Math.max(1, Math.round(o.stallNs))));
      obj.setGlobal('page_shift', le.u32(o.pageShift ?? 12));
      obj.setGlobal('record_cg_v1', le.bool(!!o.recordCgroupV1));
      obj.setGlobal('track_stalls', le.bool(o.trackStalls !== false));
      obj.setGlobal('track_fs', le.bool(o.trackFs !== false));
      obj.setGlobal('track_dirtier', le.bool(o.trackDirtier !== false));
      obj.setGlobal('have_task_btf', le.bool(f.taskBtf));
      obj.setGlobal('have_task_storage', le.bool(taskStorage));
      if (!taskStorage) {
        // per-task state in an LRU hash keyed by thread id (it ages out tasks that exited)
        obj.setMapType('tasks', BPF_MAP_TYPE_LRU_HASH);
        obj.setMapFlags('tasks', 0);
        obj.setMapMaxEntries('tasks', 16384);
      }
      obj.setGlobal('link_at_issue', le.bool(!uses('tracepoint block_io_start')));
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
      obj.setMapMaxEntries('bio_links', Math.max(1024, o.maxInFlight ?? 8192));
      // (process, file) aggregates are per CPU: at most ~32 MiB of them whatever the CPU count
      const cpus = Math.max(1, native().numPossibleCpus());
      obj.setMapMaxEntries('agg', Math.max(1024, Math.min(16384, Math.floor((32 << 20) / (cpus * LAYOUT.ioVal)))));
    },
  });
}

export class BlockIoCapture {
  private loaded: LoadedObject | null = null;
  private ring: RingBuffer | null = null;
  private names: FileName[] = [];
  private stalls: StallRecord[] = [];
  private startedAt = 0;

  constructor(private readonly opts: BlockIoOptions) {}

  get running(): boolean {
    return this.loaded !== null;
  }

  /** Which variant each group runs with (after start), for the evidence and doctor. */
  get outcomes(): GroupOutcome[] {
    return this.loaded?.outcomes ?? [];
  }

  /** Load and attach. Throws when the core programs cannot run (the capture has no point without them). */
  start(): void {
    if (this.loaded) throw new Error('block IO capture already started');
    const loaded = loadBlockIo(this.opts);
    try {
      this.checkLayout(loaded.obj);
      this.ring = loaded.obj.openRingBuffer('events', (recs) => this.onRecords(recs));
    } catch (e) {
      loaded.close();
      throw e;
    }
    this.loaded = loaded;
    this.startedAt = Date.now();
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
    const loaded = this.loaded;
    if (!loaded) throw new Error('block IO capture is not running');
    const obj = loaded.obj;
    for (const l of loaded.links) l.destroy();
    loaded.links.length = 0;
    const endedAt = Date.now();
    try {
      this.ring?.consume();
      const records = this.readAggregates(obj);
      const histograms = this.readHistograms(obj);
      const stuck = loaded.uses(STALL_LABEL) ? this.readStuck(obj) : [];
      const stats = this.readStats(obj);
      return {
        startedAt: this.startedAt,
        endedAt,
        records,
        histograms,
        names: this.names,
        stalls: [...this.stalls, ...stuck],
        stats,
        missing: [...loaded.missing],
      };
    } finally {
      this.close();
    }
  }

  close(): void {
    this.ring?.close();
    this.ring = null;
    this.loaded?.close();
    this.loaded = null;
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
