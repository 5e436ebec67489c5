// Memory evidence (bpf/memalloc.bpf.c): the per-process RSS sweep (a task iterator, one read for the
// whole host) and the sampled page-allocation profiler (tp_btf/mm_page_alloc, sampled by bytes).
import { openObject, le, type BpfObject, type BpfLink } from './native';
import { loadFailureReason } from './variants';

export const MEMALLOC_MAX_DEPTH = 127;
const RSS_SIZE = 80; // struct memrss_rec
const KEY_SIZE = 48; // struct alloc_key

export interface ProcRssRecord {
  pid: number;
  /** ns since boot (BPF) or clock ticks since boot (/proc): with pid, the process identity */
  startTime: bigint;
  comm: string;
  /** memory cgroup ids: v1 memory hierarchy (the unified one where memory lives there), unified */
  cgV1: bigint;
  cgDfl: bigint;
  /** resident bytes: anon + file + shmem, as VmRSS */
  rssBytes: number;
  anonBytes: number;
  fileBytes: number;
  shmemBytes: number;
  swapBytes: number;
}

function cstr(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

export function parseRssRecords(buf: Buffer, pageSize: number): ProcRssRecord[] {
  const out: ProcRssRecord[] = [];
  for (let off = 0; off + RSS_SIZE <= buf.length; off += RSS_SIZE) {
    const r = buf.subarray(off, off + RSS_SIZE);
    const file = Number(r.readBigInt64LE(32)) * pageSize;
    const anon = Number(r.readBigInt64LE(40)) * pageSize;
    const shmem = Number(r.readBigInt64LE(48)) * pageSize;
    out.push({
      pid: r.readUInt32LE(0),
      startTime: r.readBigUInt64LE(8),
      cgV1: r.readBigUInt64LE(16),
      cgDfl: r.readBigUInt64LE(24),
      fileBytes: file,
      anonBytes: anon,
      shmemBytes: shmem,
      swapBytes: Number(r.readBigInt64LE(56)) * pageSize,
      rssBytes: file + anon + shmem,
      comm: cstr(r.subarray(64, 80)),
    });
  }
  return out;
}

/** The RSS sweep, loaded once and run every tick. */
export class RssIterator {
  private obj: BpfObject | null = null;

  constructor(private readonly pageSize = 4096) {}

  open(): void {
    if (this.obj) return;
    const o = openObject('memalloc');
    try {
      o.setAutoload('alloc_sample', false);
      o.load();
    } catch (e) {
      o.close();
      throw e;
    }
    this.obj = o;
  }

  sweep(): ProcRssRecord[] {
    if (!this.obj) this.open();
    return parseRssRecords(this.obj!.readIter('rss_sweep'), this.pageSize);
  }

  close(): void {
    this.obj?.close();
    this.obj = null;
  }
}

export interface AllocRecord {
  pid: number;
  comm: string;
  cgV1: bigint;
  cgDfl: bigint;
  /** innermost first */
  kstack: bigint[];
  ustack: bigint[];
  lostStack: boolean;
  /** estimated bytes (samples × period) */
  bytes: number;
  samples: number;
}

export interface AllocWindow {
  startedAt: number;
  endedAt: number;
  samplePeriod: number;
  records: AllocRecord[];
  stats: { calls: number; bytes: number; samples: number; lostStacks: number; lostCounts: number };
}

const EFAULT = 14;

function readIps(v: Buffer | null): bigint[] {
  const out: bigint[] = [];
  if (!v) return out;
  for (let i = 0; i < MEMALLOC_MAX_DEPTH && (i + 1) * 8 <= v.length; i++) {
    const ip = v.readBigUInt64LE(i * 8);
    if (ip === 0n) break;
    out.push(ip);
  }
  return out;
}

/** The page-allocation sampler over one capture window. */
export class AllocSampler {
  private obj: BpfObject | null = null;
  private link: BpfLink | null = null;
  private startedAt = 0;

  constructor(private readonly opts: { samplePeriod: number; pageSize?: number }) {
    if (!Number.isInteger(opts.samplePeriod) || opts.samplePeriod < 1)
      throw new RangeError(`bad sample period ${opts.samplePeriod}`);
  }

  start(): void {
    if (this.obj) throw new Error('allocation sampler already started');
    const o = openObject('memalloc');
    try {
      o.setGlobal('sample_period', le.u64(this.opts.samplePeriod));
      o.setGlobal('page_shift', le.u32(Math.log2(this.opts.pageSize ?? 4096)));
      o.setAutoload('rss_sweep', false);
      o.load();
      this.link = o.attach('alloc_sample');
    } catch (e) {
      o.close();
      throw e;
    }
    this.obj = o;
    this.startedAt = Date.now();
  }

  get running(): boolean {
    return this.obj !== null;
  }

  stop(): AllocWindow {
    const o = this.obj;
    if (!o) throw new Error('allocation sampler is not running');
    this.link?.destroy();
    this.link = null;
    const endedAt = Date.now();
    try {
      const stackMap = o.map('stacks');
      const cache = new Map<number, bigint[]>();
      const stack = (id: number) => {
        if (id < 0) return [];
        let s = cache.get(id);
        if (!s) {
          s = readIps(stackMap.lookup(le.u32(id)));
          cache.set(id, s);
        }
        return s;
      };
      const m = o.map('counts');
      const d = m.dump();
      const records: AllocRecord[] = [];
      for (let i = 0; i < d.count; i++) {
        const k = d.keys.subarray(i * KEY_SIZE, (i + 1) * KEY_SIZE);
        const v = d.values.subarray(i * m.info.valueStride);
        const kid = k.readInt32LE(4);
        const uid = k.readInt32LE(8);
        records.push({
          pid: k.readUInt32LE(0),
          kstack: stack(kid),
          ustack: stack(uid),
          lostStack: kid < 0 || (uid < 0 && uid !== -1 && uid !== -EFAULT),
          cgV1: k.readBigUInt64LE(16),
          cgDfl: k.readBigUInt64LE(24),
          comm: cstr(k.subarray(32, 48)),
          bytes: Number(v.readBigUInt64LE(0)),
          samples: Number(v.readBigUInt64LE(8)),
        });
      }
      const sm = o.map('stats');
      const sv = sm.lookup(le.u32(0));
      const stats = { calls: 0, bytes: 0, samples: 0, lostStacks: 0, lostCounts: 0 };
      if (sv) {
        const slot = Math.ceil(sm.info.valueSize / 8) * 8;
        for (let off = 0; off + slot <= sv.length; off += slot) {
          stats.calls += Number(sv.readBigUInt64LE(off));
          stats.bytes += Number(sv.readBigUInt64LE(off + 8));
          stats.samples += Number(sv.readBigUInt64LE(off + 16));
          stats.lostStacks += Number(sv.readBigUInt64LE(off + 24));
          stats.lostCounts += Number(sv.readBigUInt64LE(off + 32));
        }
      }
      return { startedAt: this.startedAt, endedAt, samplePeriod: this.opts.samplePeriod, records, stats };
    } finally {
      o.close();
      this.obj = null;
    }
  }

  close(): void {
    this.link?.destroy();
    this.link = null;
    this.obj?.close();
    this.obj = null;
  }
}

/** Both programs loaded (and the sampler attached for a moment) as memburst uses them (doctor). */
export function probeMemalloc(): {
  rss: { ok: boolean; detail: string; missing: string[] };
  alloc: { ok: boolean; detail: string; missing: string[] };
} {
  const attempt = (fn: () => string) => {
    try {
      return { ok: true, detail: fn(), missing: [] };
    } catch (e) {
      return { ok: false, detail: loadFailureReason(e), missing: [] };
    }
  };
  return {
    rss: attempt(() => {
      const it = new RssIterator();
      try {
        return `loaded; one sweep read ${it.sweep().length} processes`;
      } finally {
        it.close();
      }
    }),
    alloc: attempt(() => {
      const s = new AllocSampler({ samplePeriod: 1 << 20 });
      s.start();
      s.stop();
      return 'loaded and attached (tp_btf/mm_page_alloc)';
    }),
  };
}
