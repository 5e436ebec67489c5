// Per-process resident memory, every tick, kept over the growth window so that when a burst is
// detected the processes that grew are known at once — not only the ones that are big. The BPF task
// iterator (bpf/memalloc.bpf.c rss_sweep) reads every process in one syscall; /proc/PID/statm is the
// fallback (with a root prefix for fixture trees).
import { RssIterator, type ProcRssRecord } from '../../bpf/memalloc';
import { listPids, pageSize, readPidStat } from '../../host/process';
import { hostPath, readTextOrNull } from '../../host/fsutil';

export interface RssSource {
  readonly source: 'bpf' | 'proc';
  sweep(): ProcRssRecord[];
  close(): void;
}

export class BpfRss implements RssSource {
  readonly source = 'bpf' as const;
  private readonly it: RssIterator;

  constructor() {
    this.it = new RssIterator(pageSize());
    this.it.open();
  }

  sweep(): ProcRssRecord[] {
    return this.it.sweep();
  }

  close(): void {
    this.it.close();
  }
}

/** statm: size resident shared text lib data dt (pages); resident − shared is anon (+ shmem counted in shared). */
export function parseStatm(text: string, page: number): { rssBytes: number; sharedBytes: number } | null {
  const f = text.trim().split(/\s+/).map(Number);
  if (f.length < 3 || f.some((x) => !Number.isFinite(x))) return null;
  return { rssBytes: f[1]! * page, sharedBytes: f[2]! * page };
}

export class ProcRss implements RssSource {
  readonly source = 'proc' as const;

  constructor(private readonly root = '/') {}

  sweep(): ProcRssRecord[] {
    const page = pageSize();
    const out: ProcRssRecord[] = [];
    for (const pid of listPids(this.root)) {
      const st = readPidStat(pid, this.root);
      if (!st || st.vsizeBytes === 0) continue; // kernel threads have no mm
      const text = readTextOrNull(hostPath(this.root, `/proc/${pid}/statm`));
      const m = text ? parseStatm(text, page) : null;
      const rss = m?.rssBytes ?? st.rssPages * page;
      const shared = m?.sharedBytes ?? 0;
      out.push({
        pid,
        startTime: BigInt(st.starttime),
        comm: st.comm,
        cgV1: 0n,
        cgDfl: 0n,
        rssBytes: rss,
        anonBytes: Math.max(0, rss - shared),
        fileBytes: shared,
        shmemBytes: 0,
        swapBytes: 0,
      });
    }
    return out;
  }

  close(): void {}
}

export function openRss(): { rss: RssSource; fallbackReason: string | null } {
  try {
    return { rss: new BpfRss(), fallbackReason: null };
  } catch (e) {
    return { rss: new ProcRss(), fallbackReason: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
}

export type RssSnapshot = Map<string, ProcRssRecord>;

export function procKey(r: { pid: number; startTime: bigint }): string {
  return `${r.pid}@${r.startTime}`;
}

export function toSnapshot(records: readonly ProcRssRecord[]): RssSnapshot {
  const m: RssSnapshot = new Map();
  for (const r of records) m.set(procKey(r), r);
  return m;
}

export interface Growth {
  key: string;
  /** the latest record (or the last one seen, for a process that exited) */
  rec: ProcRssRecord;
  startBytes: number;
  deltaBytes: number;
  exited: boolean;
}

/**
 * Growth of every process from `start` to `end`: a process born in between grew from 0; one that exited
 * is reported with the last snapshot it appeared in (`lastSeen`), marked exited. Largest growth first.
 */
export function growthBetween(start: RssSnapshot, end: RssSnapshot, lastSeen?: RssSnapshot): Growth[] {
  const out: Growth[] = [];
  for (const [k, r] of end) {
    const s = start.get(k)?.rssBytes ?? 0;
    out.push({ key: k, rec: r, startBytes: s, deltaBytes: r.rssBytes - s, exited: false });
  }
  if (lastSeen) {
    for (const [k, r] of lastSeen) {
      if (end.has(k)) continue;
      const s = start.get(k)?.rssBytes ?? 0;
      out.push({ key: k, rec: r, startBytes: s, deltaBytes: r.rssBytes - s, exited: true });
    }
  }
  return out.sort((a, b) => b.deltaBytes - a.deltaBytes || b.rec.rssBytes - a.rec.rssBytes);
}

/** The last `samples` snapshots (growth window), oldest first; plus every process's last appearance. */
export class RssHistory {
  private ring: Array<{ at: number; snap: RssSnapshot }> = [];

  constructor(private samples: number) {}

  resize(samples: number): void {
    this.samples = Math.max(1, samples);
    if (this.ring.length > this.samples + 1) this.ring.splice(0, this.ring.length - this.samples - 1);
  }

  push(at: number, snap: RssSnapshot): void {
    this.ring.push({ at, snap });
    // samples intervals need samples + 1 snapshots
    if (this.ring.length > this.samples + 1) this.ring.shift();
  }

  get oldest(): { at: number; snap: RssSnapshot } | null {
    return this.ring[0] ?? null;
  }

  get latest(): { at: number; snap: RssSnapshot } | null {
    return this.ring[this.ring.length - 1] ?? null;
  }

  /** Every process seen in the window, at its last appearance (exited ones included). */
  lastSeen(): RssSnapshot {
    const m: RssSnapshot = new Map();
    for (const { snap } of this.ring) for (const [k, r] of snap) m.set(k, r);
    return m;
  }
}
