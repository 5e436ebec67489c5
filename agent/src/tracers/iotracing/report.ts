// From the raw capture window (bpf/blockio.ts) and the /proc/diskstats of the same window to the
// event's evidence: devices with traced vs iostat numbers, latency histograms, top processes with
// their top files, per-container totals, stall stacks. Pure given its resolvers, so it is tested on
// synthetic windows; the shape is documented at the top of ../iotracing.ts.
import type { ContainerRef } from '../../events/event';
import type { DiskIoRates } from '../../host/diskstats';
import { IOF, kdevString, type BlockIoWindow, type DiskHistogram, type IoRecord } from '../../bpf/blockio';
import { percentileUs, sparseBuckets, type BucketChoice, type HistogramBucket } from './histogram';
import type { PathSource, ResolvedPath } from './paths';

export interface DeviceInfo {
  name: string;
  major: number;
  minor: number;
  /** the whole disk this device belongs to (itself for a disk) */
  disk: string;
  rotational?: boolean | null;
  nvme?: boolean;
}

export interface ProcessLookup {
  comm: string;
  command: string | null;
  container: ContainerRef | null;
}

export interface ReportResolvers {
  /** a live process with this pid whose comm matches (else null: it exited or the pid was reused) */
  process(pid: number, comm: string): ProcessLookup | null;
  /** container of a cgroup id recorded by the kernel (unified, v1 cpu, or blkcg hierarchy) */
  container(ids: { cgroup: bigint; cgroupV1: bigint; blkcg?: bigint }): ContainerRef | null;
  path(sbDev: number, ino: bigint, pids: readonly number[]): ResolvedPath;
  symbol(addr: bigint): string;
}

export interface ReportInput {
  window: BlockIoWindow;
  /** length of the window the rates are over */
  durationMs: number;
  /** whole disks the event is about (null: every device) */
  scope: ReadonlySet<string> | null;
  /** every block device, keyed by kernel dev_t (major << 20 | minor) */
  devices: ReadonlyMap<number, DeviceInfo>;
  /** /proc/diskstats rates over the same window, per whole disk */
  diskstats: ReadonlyMap<string, DiskIoRates>;
  topProcesses: number;
  topFiles: number;
  buckets: BucketChoice;
  resolve: ReportResolvers;
  maxStalls?: number;
}

export type ChargedVia = 'submitter' | 'dirtier' | 'cgroup' | 'flusher';
export type FileKind = 'file' | 'metadata' | 'swap' | 'unknown';

export interface IoFileRow {
  path: string | null;
  pathSource: PathSource;
  deleted: boolean;
  /** block device of the IO (partition), or the filesystem's device for page-cache-only rows */
  device: string;
  devNo: string;
  inode: number | null;
  kind: FileKind;
  direct: boolean;
  writeback: boolean;
  chargedVia: ChargedVia;
  /** filesystem level: page-cache reads, pages newly dirtied, direct IO */
  readBps: number;
  writeBps: number;
  /** block requests */
  diskReadBps: number;
  diskWriteBps: number;
  readOps: number;
  writeOps: number;
  q2cUs: number | null;
  d2cUs: number | null;
  maxQ2cUs: number | null;
  maxD2cUs: number | null;
  /** writeback: who submitted the requests charged here */
  submittedBy: { pid: number; comm: string }[];
}

export interface IoProcessRow {
  pid: number | null;
  comm: string;
  command: string | null;
  container: ContainerRef | null;
  exited: boolean;
  /** who this row stands for: a process, a cgroup the kernel charged writeback to, or a flusher
   *  writing back pages whose owner is unknown (dirtied before the window) */
  owner: 'process' | 'cgroup' | 'unknown';
  writeback: boolean;
  label: string | null;
  readBps: number;
  writeBps: number;
  diskReadBps: number;
  diskWriteBps: number;
  readOps: number;
  writeOps: number;
  q2cUs: number | null;
  d2cUs: number | null;
  maxQ2cUs: number | null;
  maxD2cUs: number | null;
  fileCount: number;
  files: IoFileRow[];
}

export interface OpSummary {
  ios: number;
  bytes: number;
  iops: number;
  bps: number;
  q2cAvgUs: number | null;
  d2cAvgUs: number | null;
  queueAvgUs: number | null;
  q2cMaxUs: number | null;
  d2cMaxUs: number | null;
  q2cP50Us: number | null;
  q2cP99Us: number | null;
  d2cP50Us: number | null;
  d2cP99Us: number | null;
  /** completions the kernel gave no issue timestamp (no d2c) */
  noIssueTime: number;
}

export interface IoDeviceRow {
  device: string;
  major: number;
  minor: number;
  rotational: boolean | null;
  nvme: boolean;
  diskstats: {
    readIops: number;
    writeIops: number;
    readBps: number;
    writeBps: number;
    readAwaitMs: number;
    writeAwaitMs: number;
    utilPercent: number;
    queueSize: number;
  } | null;
  traced: { read: OpSummary; write: OpSummary; otherOps: number };
}

export interface IoHistogramRow {
  device: string;
  op: 'read' | 'write';
  buckets: BucketChoice;
  unit: 'us';
  count: number;
  q2c: HistogramBucket[];
  d2c: HistogramBucket[];
}

export interface IoContainerRow {
  container: ContainerRef | null;
  processes: number;
  readBps: number;
  writeBps: number;
  diskReadBps: number;
  diskWriteBps: number;
  readOps: number;
  writeOps: number;
}

export interface IoStallRow {
  pid: number;
  tid: number;
  comm: string;
  container: ContainerRef | null;
  waitMs: number;
  stillWaiting: boolean;
  stack: string[];
}

export interface IoReport {
  devices: IoDeviceRow[];
  histograms: IoHistogramRow[];
  processes: IoProcessRow[];
  containers: IoContainerRow[];
  stalls: IoStallRow[];
  stallCount: number;
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const usOf = (ns: number) => r1(ns / 1000);

interface Acc {
  fsRead: number;
  fsWrite: number;
  diskRead: number;
  diskWrite: number;
  readOps: number;
  writeOps: number;
  q2cNs: number;
  q2cIos: number;
  d2cNs: number;
  d2cIos: number;
  q2cMax: number;
  d2cMax: number;
}

const acc = (): Acc => ({
  fsRead: 0,
  fsWrite: 0,
  diskRead: 0,
  diskWrite: 0,
  readOps: 0,
  writeOps: 0,
  q2cNs: 0,
  q2cIos: 0,
  d2cNs: 0,
  d2cIos: 0,
  q2cMax: 0,
  d2cMax: 0,
});

function addAcc(a: Acc, b: Acc): void {
  a.fsRead += b.fsRead;
  a.fsWrite += b.fsWrite;
  a.diskRead += b.diskRead;
  a.diskWrite += b.diskWrite;
  a.readOps += b.readOps;
  a.writeOps += b.writeOps;
  a.q2cNs += b.q2cNs;
  a.q2cIos += b.q2cIos;
  a.d2cNs += b.d2cNs;
  a.d2cIos += b.d2cIos;
  a.q2cMax = Math.max(a.q2cMax, b.q2cMax);
  a.d2cMax = Math.max(a.d2cMax, b.d2cMax);
}

function addRecord(a: Acc, r: IoRecord): void {
  const { key: k, val: v } = r;
  const write = (k.flags & IOF.WRITE) !== 0;
  if (k.flags & IOF.FS) {
    if (write) a.fsWrite += v.bytes;
    else a.fsRead += v.bytes;
    return;
  }
  if (write) {
    a.diskWrite += v.bytes;
    a.writeOps += v.ios;
  } else {
    a.diskRead += v.bytes;
    a.readOps += v.ios;
  }
  // direct IO is also what the process asked of the filesystem
  if (k.flags & IOF.DIRECT) {
    if (write) a.fsWrite += v.bytes;
    else a.fsRead += v.bytes;
  }
  a.q2cNs += v.q2cNs;
  a.q2cIos += v.ios;
  a.d2cNs += v.d2cNs;
  a.d2cIos += v.d2cIos;
  a.q2cMax = Math.max(a.q2cMax, v.q2cMaxNs);
  a.d2cMax = Math.max(a.d2cMax, v.d2cMaxNs);
}

function latency(a: Acc) {
  return {
    q2cUs: a.q2cIos ? usOf(a.q2cNs / a.q2cIos) : null,
    d2cUs: a.d2cIos ? usOf(a.d2cNs / a.d2cIos) : null,
    maxQ2cUs: a.q2cIos ? usOf(a.q2cMax) : null,
    maxD2cUs: a.d2cIos ? usOf(a.d2cMax) : null,
  };
}

function rates(a: Acc, sec: number) {
  return {
    readBps: Math.round(a.fsRead / sec),
    writeBps: Math.round(a.fsWrite / sec),
    diskReadBps: Math.round(a.diskRead / sec),
    diskWriteBps: Math.round(a.diskWrite / sec),
    readOps: a.readOps,
    writeOps: a.writeOps,
  };
}

const diskBytes = (a: Acc) => a.diskRead + a.diskWrite;
const fsBytes = (a: Acc) => a.fsRead + a.fsWrite;

function kindOf(flags: number): FileKind {
  if (flags & IOF.SWAP) return 'swap';
  if (flags & IOF.META) return 'metadata';
  if (flags & IOF.NOFILE) return 'unknown';
  return 'file';
}

function chargedVia(flags: number): ChargedVia {
  if (flags & IOF.BLKCG) return 'cgroup';
  if (flags & IOF.DIRTIER) return 'dirtier';
  if (flags & IOF.WRITEBACK && flags & IOF.KTHREAD && !(flags & IOF.META)) return 'flusher';
  return 'submitter';
}

interface FileAcc {
  acc: Acc;
  dev: number;
  sbDev: number;
  ino: bigint;
  kind: FileKind;
  direct: boolean;
  writeback: boolean;
  charged: Set<ChargedVia>;
  submitters: Map<number, string>;
}

interface ProcAcc {
  id: string;
  pid: number | null;
  comm: string;
  /** bytes per comm seen for this process (it may have exec'd during the window) */
  comms: Map<string, number>;
  owner: IoProcessRow['owner'];
  ids: { cgroup: bigint; cgroupV1: bigint; blkcg: bigint };
  acc: Acc;
  files: Map<string, FileAcc>;
}

function opSummary(h: DiskHistogram | undefined, sec: number): OpSummary {
  if (!h || h.ios === 0) {
    return {
      ios: 0,
      bytes: 0,
      iops: 0,
      bps: 0,
      q2cAvgUs: null,
      d2cAvgUs: null,
      queueAvgUs: null,
      q2cMaxUs: null,
      d2cMaxUs: null,
      q2cP50Us: null,
      q2cP99Us: null,
      d2cP50Us: null,
      d2cP99Us: null,
      noIssueTime: 0,
    };
  }
  const timed = h.ios - h.noStart;
  const q2cAvg = timed > 0 ? h.q2cNs / timed : null;
  const d2cAvg = h.d2cIos > 0 ? h.d2cNs / h.d2cIos : null;
  const p = (c: number[], q: number) => {
    const v = percentileUs(c, q);
    return v === null ? null : r1(v);
  };
  return {
    ios: h.ios,
    bytes: h.bytes,
    iops: r1(h.ios / sec),
    bps: Math.round(h.bytes / sec),
    q2cAvgUs: q2cAvg === null ? null : usOf(q2cAvg),
    d2cAvgUs: d2cAvg === null ? null : usOf(d2cAvg),
    queueAvgUs: q2cAvg !== null && d2cAvg !== null ? usOf(Math.max(0, q2cAvg - d2cAvg)) : null,
    q2cMaxUs: timed > 0 ? usOf(h.q2cMaxNs) : null,
    d2cMaxUs: h.d2cIos > 0 ? usOf(h.d2cMaxNs) : null,
    q2cP50Us: p(h.q2c, 0.5),
    q2cP99Us: p(h.q2c, 0.99),
    d2cP50Us: p(h.d2c, 0.5),
    d2cP99Us: p(h.d2c, 0.99),
    noIssueTime: h.ios - h.d2cIos,
  };
}

export function buildIoReport(input: ReportInput): IoReport {
  const { window: w, devices, scope, resolve } = input;
  const sec = Math.max(input.durationMs, 1) / 1000;
  const diskOfDev = (dev: number): string | null => devices.get(dev)?.disk ?? null;
  const inScopeDisk = (disk: string | null) => scope === null || (disk !== null && scope.has(disk));

  // ---- devices and histograms (the kernel's view per whole disk) ----
  const histByDisk = new Map<string, { read?: DiskHistogram; write?: DiskHistogram; other: number }>();
  for (const h of w.histograms) {
    const name = devices.get(h.disk)?.name ?? kdevString(h.disk);
    let e = histByDisk.get(name);
    if (!e) histByDisk.set(name, (e = { other: 0 }));
    if (h.op === 'other') e.other += h.ios;
    else e[h.op] = h;
  }
  // devices that did IO in the window (the one a trigger names even if it went quiet), busiest first
  const deviceNames = new Set<string>([...histByDisk.keys()].filter((n) => inScopeDisk(n)));
  for (const [name, r] of input.diskstats)
    if (inScopeDisk(name) && (r.readIops + r.writeIops > 0 || (scope !== null && scope.size === 1 && scope.has(name))))
      deviceNames.add(name);
  const busy = (name: string) => {
    const h = histByDisk.get(name);
    const ds = input.diskstats.get(name);
    return (h?.read?.bytes ?? 0) + (h?.write?.bytes ?? 0) || (ds ? ds.readBytesPerSec + ds.writeBytesPerSec : 0) / 1e12;
  };
  const infoByName = new Map([...devices.values()].map((d) => [d.name, d]));
  const deviceRows: IoDeviceRow[] = [];
  const histRows: IoHistogramRow[] = [];
  for (const name of [...deviceNames].sort((a, b) => busy(b) - busy(a) || a.localeCompare(b))) {
    const info = infoByName.get(name);
    const h = histByDisk.get(name);
    const ds = input.diskstats.get(name);
    deviceRows.push({
      device: name,
      major: info?.major ?? ds?.major ?? 0,
      minor: info?.minor ?? ds?.minor ?? 0,
      rotational: info?.rotational ?? null,
      nvme: info?.nvme ?? false,
      diskstats: ds
        ? {
            readIops: r1(ds.readIops),
            writeIops: r1(ds.writeIops),
            readBps: Math.round(ds.readBytesPerSec),
            writeBps: Math.round(ds.writeBytesPerSec),
            readAwaitMs: Math.round(ds.readAwaitMs * 1000) / 1000,
            writeAwaitMs: Math.round(ds.writeAwaitMs * 1000) / 1000,
            utilPercent: r1(ds.utilPercent),
            queueSize: Math.round(ds.avgQueueSize * 100) / 100,
          }
        : null,
      traced: { read: opSummary(h?.read, sec), write: opSummary(h?.write, sec), otherOps: h?.other ?? 0 },
    });
    for (const op of ['read', 'write'] as const) {
      const x = h?.[op];
      if (!x || x.ios === 0) continue;
      histRows.push({
        device: name,
        op,
        buckets: input.buckets,
        unit: 'us',
        count: x.ios - x.noStart,
        q2c: sparseBuckets(x.q2c, input.buckets),
        d2c: sparseBuckets(x.d2c, input.buckets),
      });
    }
  }

  // ---- which filesystems belong to the scope: by their own device, or by the block IO seen on them ----
  const fsDisks = new Map<number, Set<string>>();
  for (const r of w.records) {
    if (r.key.flags & IOF.FS || !r.key.sbDev) continue;
    const d = diskOfDev(r.key.dev);
    if (!d) continue;
    let s = fsDisks.get(r.key.sbDev);
    if (!s) fsDisks.set(r.key.sbDev, (s = new Set()));
    s.add(d);
  }
  const inScope = (r: IoRecord): boolean => {
    if (scope === null) return true;
    if (!(r.key.flags & IOF.FS)) return inScopeDisk(diskOfDev(r.key.dev));
    const own = diskOfDev(r.key.sbDev);
    if (own) return inScopeDisk(own);
    return [...(fsDisks.get(r.key.sbDev) ?? [])].some((d) => scope.has(d));
  };

  // ---- processes and their files ----
  const procs = new Map<string, ProcAcc>();
  for (const r of w.records) {
    if (!inScope(r)) continue;
    const k = r.key;
    const via = chargedVia(k.flags);
    let id: string;
    let owner: IoProcessRow['owner'] = 'process';
    if (via === 'cgroup') {
      id = `cg:${k.blkcg}`;
      owner = 'cgroup';
    } else if (via === 'flusher') {
      id = `wb:${k.tgid}`;
      owner = 'unknown';
    } else {
      id = `p:${k.tgid}`;
    }
    let p = procs.get(id);
    if (!p) {
      p = {
        id,
        pid: owner === 'cgroup' ? null : k.tgid,
        comm: owner === 'cgroup' ? '(writeback)' : k.comm,
        comms: new Map(),
        owner,
        ids: { cgroup: k.cgroup, cgroupV1: k.cgroupV1, blkcg: k.blkcg },
        acc: acc(),
        files: new Map(),
      };
      procs.set(id, p);
    }
    const direct = (k.flags & IOF.DIRECT) !== 0;
    const kind = kindOf(k.flags);
    const fileId = kind === 'file' ? `${k.sbDev}:${k.ino}:${direct ? 'd' : 'b'}` : `${kind}:${k.dev}`;
    let f = p.files.get(fileId);
    if (!f) {
      f = {
        acc: acc(),
        dev: k.dev,
        sbDev: k.sbDev,
        ino: k.ino,
        kind,
        direct,
        writeback: false,
        charged: new Set(),
        submitters: new Map(),
      };
      p.files.set(fileId, f);
    }
    if (!f.dev && !(k.flags & IOF.FS)) f.dev = k.dev;
    if (!(k.flags & IOF.FS)) {
      f.charged.add(via);
      if (k.flags & IOF.WRITEBACK) f.writeback = true;
      if (k.submitter && k.flags & IOF.WRITEBACK) f.submitters.set(k.submitter, '');
    }
    const one = acc();
    addRecord(one, r);
    addAcc(f.acc, one);
    addAcc(p.acc, one);
    if (owner !== 'cgroup') {
      p.comms.set(k.comm, (p.comms.get(k.comm) ?? 0) + diskBytes(one) + fsBytes(one) + 1);
      // the name it did most of its IO under
      if ((p.comms.get(k.comm) ?? 0) > (p.comms.get(p.comm) ?? 0)) p.comm = k.comm;
    }
  }

  // rank: bytes that reached the disk first, then filesystem bytes
  const rank = (a: Acc, b: Acc) => diskBytes(b) - diskBytes(a) || fsBytes(b) - fsBytes(a);
  const all = [...procs.values()]
    .filter((p) => diskBytes(p.acc) + fsBytes(p.acc) > 0)
    .sort((a, b) => rank(a.acc, b.acc));

  const looked = new Map<string, { info: ProcessLookup | null; container: ContainerRef | null }>();
  const lookup = (p: ProcAcc) => {
    let x = looked.get(p.id);
    if (!x) {
      const info = p.pid !== null && p.pid > 0 ? resolve.process(p.pid, p.comm) : null;
      const container = info
        ? info.container
        : resolve.container(
            p.owner === 'cgroup'
              ? { cgroup: 0n, cgroupV1: 0n, blkcg: p.ids.blkcg }
              : { cgroup: p.ids.cgroup, cgroupV1: p.ids.cgroupV1 }
          );
      x = { info, container };
      looked.set(p.id, x);
    }
    return x;
  };
  const commOf = (pid: number): string => {
    for (const p of procs.values()) if (p.pid === pid && p.owner !== 'cgroup') return p.comm;
    return resolve.process(pid, '')?.comm ?? '';
  };

  const processRows: IoProcessRow[] = all.slice(0, input.topProcesses).map((p) => {
    const { info, container } = lookup(p);
    const files = [...p.files.values()].sort((a, b) => rank(a.acc, b.acc));
    const pids = p.pid ? [p.pid] : [];
    const fileRows: IoFileRow[] = files.slice(0, input.topFiles).map((f) => {
      const devInfo = devices.get(f.dev) ?? devices.get(f.sbDev);
      const resolved: ResolvedPath | null = f.kind === 'file' && f.ino > 0n ? resolve.path(f.sbDev, f.ino, pids) : null;
      const charged: ChargedVia = f.charged.has('dirtier')
        ? 'dirtier'
        : f.charged.has('cgroup')
          ? 'cgroup'
          : f.charged.has('flusher')
            ? 'flusher'
            : 'submitter';
      return {
        path: resolved
          ? resolved.path
          : f.kind === 'metadata' || f.kind === 'unknown'
            ? devInfo
              ? `/dev/${devInfo.name}`
              : null
            : null,
        pathSource: resolved ? resolved.source : 'none',
        deleted: resolved?.deleted ?? false,
        device: devInfo?.name ?? kdevString(f.dev || f.sbDev),
        devNo: kdevString(f.dev || f.sbDev),
        inode: f.kind === 'file' ? Number(f.ino) : null,
        kind: f.kind,
        direct: f.direct,
        writeback: f.writeback,
        chargedVia: charged,
        ...rates(f.acc, sec),
        ...latency(f.acc),
        submittedBy: [...f.submitters.keys()].filter((s) => s !== p.pid).map((s) => ({ pid: s, comm: commOf(s) })),
      };
    });
    const writeback = files.some((f) => f.writeback && f.kind !== 'metadata');
    let label: string | null = null;
    if (p.owner === 'unknown')
      label = 'writeback of pages dirtied before the capture window: owner unknown, charged to the flusher';
    else if (p.owner === 'cgroup')
      label = 'writeback the kernel charged to this cgroup (cgroup writeback); the dirtying process is unknown';
    return {
      pid: p.pid,
      comm: info?.comm ?? p.comm,
      command: info?.command ?? null,
      container,
      exited: p.pid !== null && info === null,
      owner: p.owner,
      writeback,
      label,
      ...rates(p.acc, sec),
      ...latency(p.acc),
      fileCount: p.files.size,
      files: fileRows,
    };
  });

  // ---- containers: every process in scope, not only the top ones ----
  const byContainer = new Map<string, { row: IoContainerRow; acc: Acc }>();
  for (const p of all) {
    const { container } = lookup(p);
    const id = container?.id ?? '';
    let e = byContainer.get(id);
    if (!e)
      byContainer.set(
        id,
        (e = {
          row: {
            container,
            processes: 0,
            readBps: 0,
            writeBps: 0,
            diskReadBps: 0,
            diskWriteBps: 0,
            readOps: 0,
            writeOps: 0,
          },
          acc: acc(),
        })
      );
    e.row.processes++;
    addAcc(e.acc, p.acc);
  }
  const containerRows = [...byContainer.values()]
    .sort((a, b) => rank(a.acc, b.acc))
    .map((e) => ({ ...e.row, ...rates(e.acc, sec) }));

  // ---- stalls ----
  const maxStalls = input.maxStalls ?? 20;
  const stalls = [...w.stalls].sort((a, b) => b.waitNs - a.waitNs);
  const stallRows: IoStallRow[] = stalls.slice(0, maxStalls).map((s) => {
    const info = resolve.process(s.tgid, '');
    return {
      pid: s.tgid,
      tid: s.tid,
      comm: s.comm,
      container: info ? info.container : resolve.container({ cgroup: s.cgroup, cgroupV1: 0n }),
      waitMs: r1(s.waitNs / 1e6),
      stillWaiting: s.stillWaiting,
      stack: s.stack.map((a) => resolve.symbol(a)),
    };
  });

  return {
    devices: deviceRows,
    histograms: histRows,
    processes: processRows,
    containers: containerRows,
    stalls: stallRows,
    stallCount: w.stalls.length,
  };
}
