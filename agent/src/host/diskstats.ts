// /proc/diskstats (Documentation/admin-guide/iostats.rst), an iostat-style derivation between two
// samples, and block device metadata from /sys/block.
import { readlinkSync } from 'node:fs';
import { hostPath, readDirOrNull, readTextOrNull } from './fsutil';

/** Sectors in /proc/diskstats are always 512 bytes, whatever the device's sector size. */
export const DISKSTATS_SECTOR_BYTES = 512;

export interface DiskStat {
  major: number;
  minor: number;
  name: string;
  readsCompleted: number;
  readsMerged: number;
  sectorsRead: number;
  readMs: number;
  writesCompleted: number;
  writesMerged: number;
  sectorsWritten: number;
  writeMs: number;
  /** In flight right now (a gauge, not a counter). */
  inFlight: number;
  /** Time the device had IO in flight (util). */
  ioMs: number;
  /** Weighted time in queue (sum of per-request times; aqu-sz). */
  weightedIoMs: number;
  /** Kernel 4.18+, else 0. */
  discardsCompleted: number;
  discardsMerged: number;
  sectorsDiscarded: number;
  discardMs: number;
  /** Kernel 5.5+, else 0. */
  flushesCompleted: number;
  flushMs: number;
}

const FIELDS = [
  'readsCompleted',
  'readsMerged',
  'sectorsRead',
  'readMs',
  'writesCompleted',
  'writesMerged',
  'sectorsWritten',
  'writeMs',
  'inFlight',
  'ioMs',
  'weightedIoMs',
  'discardsCompleted',
  'discardsMerged',
  'sectorsDiscarded',
  'discardMs',
  'flushesCompleted',
  'flushMs',
] as const;

/** Parses /proc/diskstats into a map keyed by device name. */
export function parseDiskstats(text: string): Map<string, DiskStat> {
  const out = new Map<string, DiskStat>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const d: DiskStat = {
      major: Number(f[0]),
      minor: Number(f[1]),
      name: f[2] as string,
      readsCompleted: 0,
      readsMerged: 0,
      sectorsRead: 0,
      readMs: 0,
      writesCompleted: 0,
      writesMerged: 0,
      sectorsWritten: 0,
      writeMs: 0,
      inFlight: 0,
      ioMs: 0,
      weightedIoMs: 0,
      discardsCompleted: 0,
      discardsMerged: 0,
      sectorsDiscarded: 0,
      discardMs: 0,
      flushesCompleted: 0,
      flushMs: 0,
    };
    FIELDS.forEach((k, i) => {
      const v = f[3 + i];
      if (v !== undefined) d[k] = Number(v);
    });
    out.set(d.name, d);
  }
  return out;
}

export function readDiskstats(root = '/'): Map<string, DiskStat> | null {
  const text = readTextOrNull(hostPath(root, '/proc/diskstats'));
  return text === null ? null : parseDiskstats(text);
}

/** iostat -x columns for one device over an interval. */
export interface DiskIoRates {
  name: string;
  major: number;
  minor: number;
  readIops: number;
  writeIops: number;
  readBytesPerSec: number;
  writeBytesPerSec: number;
  /** Mean time per completed read/write including queueing (r_await / w_await), ms; 0 with no IO. */
  readAwaitMs: number;
  writeAwaitMs: number;
  /** Percent of the interval with IO in flight, capped at 100. */
  utilPercent: number;
  /** Average queue size (aqu-sz). */
  avgQueueSize: number;
  /** Average request size in bytes over reads and writes (areq-sz, in bytes). */
  avgRequestBytes: number;
  discardIops: number;
  inFlight: number;
}

export interface DiskRateOptions {
  /** Drop loop/ram/zram devices that did no IO in the interval. Default false (tests use loop devices). */
  skipIdleVirtual?: boolean;
}

const VIRTUAL_NAME = /^(loop|ram|zram)\d+$/;

/**
 * iostat-style rates between two samples taken elapsedMs apart. Devices missing from either sample,
 * or whose counters went backwards (removed and re-added), are left out.
 */
export function diskIoRates(
  prev: Map<string, DiskStat>,
  cur: Map<string, DiskStat>,
  elapsedMs: number,
  opts: DiskRateOptions = {}
): DiskIoRates[] {
  if (!(elapsedMs > 0)) return [];
  const sec = elapsedMs / 1000;
  const out: DiskIoRates[] = [];
  for (const [name, c] of cur) {
    const p = prev.get(name);
    if (!p || p.major !== c.major || p.minor !== c.minor) continue;
    const d = (k: (typeof FIELDS)[number]): number => c[k] - p[k];
    const dr = d('readsCompleted');
    const dw = d('writesCompleted');
    const drs = d('sectorsRead');
    const dws = d('sectorsWritten');
    const dio = d('ioMs');
    const dweighted = d('weightedIoMs');
    if (dr < 0 || dw < 0 || drs < 0 || dws < 0 || dio < 0 || dweighted < 0 || d('readMs') < 0 || d('writeMs') < 0)
      continue;
    const ddisc = Math.max(0, d('discardsCompleted'));
    if (opts.skipIdleVirtual && VIRTUAL_NAME.test(name) && dr + dw + ddisc === 0 && dio === 0) continue;
    out.push({
      name,
      major: c.major,
      minor: c.minor,
      readIops: dr / sec,
      writeIops: dw / sec,
      readBytesPerSec: (drs * DISKSTATS_SECTOR_BYTES) / sec,
      writeBytesPerSec: (dws * DISKSTATS_SECTOR_BYTES) / sec,
      readAwaitMs: dr > 0 ? d('readMs') / dr : 0,
      writeAwaitMs: dw > 0 ? d('writeMs') / dw : 0,
      utilPercent: Math.min(100, (dio / elapsedMs) * 100),
      avgQueueSize: dweighted / elapsedMs,
      avgRequestBytes: dr + dw > 0 ? ((drs + dws) * DISKSTATS_SECTOR_BYTES) / (dr + dw) : 0,
      discardIops: ddisc / sec,
      inFlight: c.inFlight,
    });
  }
  return out;
}

export interface BlockDevice {
  name: string;
  major: number;
  minor: number;
  /** false for SSD/NVMe; null when the queue attribute is missing. Virtio disks often claim 1. */
  rotational: boolean | null;
  nvme: boolean;
  /** Under /sys/devices/virtual (loop, ram, zram, dm-…). */
  virtual: boolean;
  /** Size in bytes (the sysfs `size` attribute counts 512-byte sectors). */
  sizeBytes: number | null;
  /** Partition names of this whole disk, e.g. ['nvme0n1p1', 'nvme0n1p2']. */
  partitions: string[];
}

function parseDev(text: string | null): [number, number] | null {
  const m = text ? /^(\d+):(\d+)/.exec(text.trim()) : null;
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** Reads one whole disk's metadata from <root>/sys/block/<name>, or null if it is not there. */
export function readBlockDevice(name: string, root = '/'): BlockDevice | null {
  const dir = hostPath(root, `/sys/block/${name}`);
  const dev = parseDev(readTextOrNull(`${dir}/dev`));
  if (!dev) return null;
  const rot = readTextOrNull(`${dir}/queue/rotational`);
  const size = readTextOrNull(`${dir}/size`);
  let virtual = false;
  try {
    virtual = readlinkSync(dir).includes('/devices/virtual/');
  } catch {
    virtual = VIRTUAL_NAME.test(name);
  }
  const partitions = (readDirOrNull(dir) ?? [])
    .filter((e) => e.startsWith(name) && readTextOrNull(`${dir}/${e}/partition`) !== null)
    .sort();
  return {
    name,
    major: dev[0],
    minor: dev[1],
    rotational: rot === null ? null : rot.trim() === '1',
    nvme: /^nvme\d+n\d+$/.test(name),
    virtual,
    sizeBytes: size === null ? null : Number(size.trim()) * 512,
    partitions,
  };
}

/** All whole disks under <root>/sys/block, sorted by name. Partitions are listed inside their disk. */
export function readBlockDevices(root = '/'): BlockDevice[] {
  const names = readDirOrNull(hostPath(root, '/sys/block')) ?? [];
  const out: BlockDevice[] = [];
  for (const n of names.sort()) {
    const d = readBlockDevice(n, root);
    if (d) out.push(d);
  }
  return out;
}

/** Maps each partition name to its whole disk's name (e.g. vda1 → vda), from readBlockDevices' output. */
export function partitionParents(devices: BlockDevice[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const d of devices) for (const p of d.partitions) m.set(p, d.name);
  return m;
}
