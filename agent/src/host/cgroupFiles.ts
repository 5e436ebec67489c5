// cgroup interface files, v1 and v2: pure parsers plus readers that take a cgroup directory (an
// absolute path with any root prefix already applied, e.g. from cgroupDir()). A missing cgroup (the
// container stopped) or missing file (controller not enabled) reads as null.
import { hostPath, parseKeyValueLines, readTextOrNull, toInt } from './fsutil';
import { USER_HZ } from './process';

// ---- shared parsers --------------------------------------------------------------------------------

/** Parses the kernel's CPU list syntax ("0-3,8,10-11", "" for none) into sorted CPU numbers. */
export function parseCpuList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/** Flat-keyed files: memory.stat, cpu.stat, … */
export const parseFlatKeyed = parseKeyValueLines;

/** A file holding one integer; "max" → Infinity. */
export function parseSingleValue(text: string): number | null {
  const s = text.trim();
  if (s === 'max') return Infinity;
  return toInt(s);
}

/** cgroup.procs / tasks: one pid per line. */
export function parsePidList(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const n = toInt(line.trim());
    if (n !== null) out.push(n);
  }
  return out;
}

function read(dir: string, file: string): string | null {
  return readTextOrNull(`${dir}/${file}`);
}

function readSingle(dir: string, file: string): number | null {
  const t = read(dir, file);
  return t === null ? null : parseSingleValue(t);
}

function readFlat(dir: string, file: string): Record<string, number> | null {
  const t = read(dir, file);
  return t === null ? null : parseKeyValueLines(t);
}

// ---- cgroup v1 -------------------------------------------------------------------------------------

/** v1 cpuacct.stat: user and system time in USER_HZ ticks. */
export interface CpuacctStat {
  user: number;
  system: number;
}

export function parseCpuacctStat(text: string): CpuacctStat | null {
  const kv = parseKeyValueLines(text);
  if (kv.user === undefined || kv.system === undefined) return null;
  return { user: kv.user, system: kv.system };
}

export function readCpuacctStat(dir: string): CpuacctStat | null {
  const t = read(dir, 'cpuacct.stat');
  return t === null ? null : parseCpuacctStat(t);
}

/** v1 cpuacct.usage: total CPU time in nanoseconds. */
export function readCpuacctUsage(dir: string): number | null {
  return readSingle(dir, 'cpuacct.usage');
}

/** v1 CFS bandwidth: quota in µs per period (null = unlimited, the file says -1). */
export interface CfsBandwidth {
  quotaUs: number | null;
  periodUs: number;
}

export function readCfsBandwidthV1(dir: string): CfsBandwidth | null {
  const q = readSingle(dir, 'cpu.cfs_quota_us');
  const p = readSingle(dir, 'cpu.cfs_period_us');
  if (q === null || p === null) return null;
  return { quotaUs: q < 0 ? null : q, periodUs: p };
}

/** v1 cpu.stat (throttling; throttled_time in ns) and v2 cpu.stat (usage and throttling in µs), normalised. */
export interface CgroupCpuStat {
  nrPeriods: number | null;
  nrThrottled: number | null;
  /** Nanoseconds. */
  throttledNs: number | null;
  /** v2 only (v1 keeps these in cpuacct): nanoseconds. */
  usageNs: number | null;
  userNs: number | null;
  systemNs: number | null;
  raw: Record<string, number>;
}

export function parseCpuStat(text: string): CgroupCpuStat {
  const kv = parseKeyValueLines(text);
  const us = (k: string): number | null => (kv[k] === undefined ? null : (kv[k] as number) * 1000);
  return {
    nrPeriods: kv.nr_periods ?? null,
    nrThrottled: kv.nr_throttled ?? null,
    throttledNs: kv.throttled_time ?? us('throttled_usec'),
    usageNs: us('usage_usec'),
    userNs: us('user_usec'),
    systemNs: us('system_usec'),
    raw: kv,
  };
}

export function readCpuStat(dir: string): CgroupCpuStat | null {
  const t = read(dir, 'cpu.stat');
  return t === null ? null : parseCpuStat(t);
}

/** cpuset.cpus (v1) or cpuset.cpus.effective (v2, falling back to v1's effective_cpus). */
export function readCpusetCpus(dir: string): number[] | null {
  for (const f of ['cpuset.cpus.effective', 'cpuset.effective_cpus', 'cpuset.cpus']) {
    const t = read(dir, f);
    if (t !== null) return parseCpuList(t);
  }
  return null;
}

/** Values ≥ 2^62 in v1 limit files mean "no limit" (PAGE_COUNTER_MAX rounded to pages). */
const V1_UNLIMITED = 2 ** 62;

export function readMemoryUsageV1(dir: string): number | null {
  return readSingle(dir, 'memory.usage_in_bytes');
}

export function readMemoryLimitV1(dir: string): number | null {
  const v = readSingle(dir, 'memory.limit_in_bytes');
  return v === null || v >= V1_UNLIMITED ? null : v;
}

/** memory.stat, v1 or v2 (keys differ between versions; values in bytes or counts as printed). */
export function readMemoryStat(dir: string): Record<string, number> | null {
  return readFlat(dir, 'memory.stat');
}

// ---- cgroup v2 -------------------------------------------------------------------------------------

/** cpu.max: "max 100000" (unlimited) or "50000 100000". */
export function parseCpuMax(text: string): CfsBandwidth | null {
  const m = /^(max|\d+)\s+(\d+)/.exec(text.trim());
  if (!m) return null;
  return { quotaUs: m[1] === 'max' ? null : Number(m[1]), periodUs: Number(m[2]) };
}

export function readCpuMax(dir: string): CfsBandwidth | null {
  const t = read(dir, 'cpu.max');
  return t === null ? null : parseCpuMax(t);
}

/** memory.current in bytes. */
export function readMemoryCurrent(dir: string): number | null {
  return readSingle(dir, 'memory.current');
}

/** memory.max in bytes; null when "max" (no limit) or missing. */
export function readMemoryMax(dir: string): number | null {
  const v = readSingle(dir, 'memory.max');
  return v === null || v === Infinity ? null : v;
}

/** Pids in cgroup.procs (processes, not threads); null if the cgroup is gone. */
export function readCgroupProcs(dir: string): number[] | null {
  const t = read(dir, 'cgroup.procs');
  return t === null ? null : parsePidList(t);
}

// ---- version-independent helpers -------------------------------------------------------------------

/** Directories of one cgroup: v1 controllers by name and/or the unified (v2) directory. */
export interface CgroupDirs {
  cpu?: string;
  cpuacct?: string;
  cpuset?: string;
  memory?: string;
  blkio?: string;
  unified?: string;
}

/** CPU time consumed by a cgroup, in nanoseconds. */
export interface CgroupCpuUsage {
  usageNs: number;
  userNs: number;
  systemNs: number;
  /** Where the numbers came from: v1 cpuacct (user/system from ticks) or v2 cpu.stat. */
  source: 'cpuacct' | 'cpu.stat';
}

/**
 * CPU usage of a cgroup: v1 cpuacct.usage (+ cpuacct.stat user/system, ticks → ns) when there is a
 * cpuacct directory, else the v2 cpu.stat (present in every v2 cgroup, even without the cpu controller).
 */
export function readCgroupCpuUsage(dirs: CgroupDirs): CgroupCpuUsage | null {
  if (dirs.cpuacct) {
    const usage = readCpuacctUsage(dirs.cpuacct);
    const st = readCpuacctStat(dirs.cpuacct);
    if (usage !== null && st) {
      const tick = 1e9 / USER_HZ;
      return { usageNs: usage, userNs: st.user * tick, systemNs: st.system * tick, source: 'cpuacct' };
    }
  }
  if (dirs.unified) {
    const st = readCpuStat(dirs.unified);
    if (st && st.usageNs !== null) {
      return { usageNs: st.usageNs, userNs: st.userNs ?? 0, systemNs: st.systemNs ?? 0, source: 'cpu.stat' };
    }
  }
  return null;
}

/** The CFS bandwidth limit of a cgroup, v1 (cpu.cfs_*) or v2 (cpu.max); null if neither file exists. */
export function readCgroupBandwidth(dirs: CgroupDirs): CfsBandwidth | null {
  if (dirs.cpu) {
    const b = readCfsBandwidthV1(dirs.cpu);
    if (b) return b;
  }
  return dirs.unified ? readCpuMax(dirs.unified) : null;
}

/** CPUs the cgroup may run on, from the cpuset controller (v1) or cpuset.cpus.effective (v2). */
export function readCgroupCpuset(dirs: CgroupDirs): number[] | null {
  const dir = dirs.cpuset ?? dirs.unified;
  if (!dir) return null;
  const cpus = readCpusetCpus(dir);
  // An empty v1 cpuset.cpus means "not configured yet", not "no CPUs".
  return cpus && cpus.length ? cpus : null;
}

/** Online CPUs from <root>/sys/devices/system/cpu/online (list syntax), else the cpuN lines of /proc/stat. */
export function readOnlineCpus(root = '/'): number[] {
  const t = readTextOrNull(hostPath(root, '/sys/devices/system/cpu/online'));
  if (t !== null) {
    const cpus = parseCpuList(t);
    if (cpus.length) return cpus;
  }
  const stat = readTextOrNull(hostPath(root, '/proc/stat')) ?? '';
  const out: number[] = [];
  for (const m of stat.matchAll(/^cpu(\d+) /gm)) out.push(Number(m[1]));
  return out.length ? out : [0];
}

/**
 * CPU capacity in CPUs, as Huatuo computes it: min(cpuset size, quota/period, online CPUs). Missing
 * inputs (no cpuset, no quota) do not limit. Result > 0.
 */
export function cgroupCpuCapacity(input: {
  cpuset: number[] | null;
  bandwidth: CfsBandwidth | null;
  onlineCpus: number;
}): number {
  let cap = Math.max(1, input.onlineCpus);
  if (input.cpuset && input.cpuset.length) cap = Math.min(cap, input.cpuset.length);
  const b = input.bandwidth;
  if (b && b.quotaUs !== null && b.quotaUs > 0 && b.periodUs > 0) cap = Math.min(cap, b.quotaUs / b.periodUs);
  return cap;
}

/** Reads and computes a cgroup's CPU capacity (see cgroupCpuCapacity). */
export function readCgroupCpuCapacity(dirs: CgroupDirs, onlineCpus: number): number {
  return cgroupCpuCapacity({ cpuset: readCgroupCpuset(dirs), bandwidth: readCgroupBandwidth(dirs), onlineCpus });
}

/** Shares of a cgroup's capacity used between two usage samples (Huatuo's cpuidle percentages). */
export interface CgroupCpuPercent {
  user: number;
  system: number;
  total: number;
}

/**
 * 100·Δns / (elapsed · capacity) for user, system and total. Null when time did not advance or a
 * counter went backwards (the cgroup was recreated). Values may exceed 100 briefly (accounting jitter).
 */
export function cgroupCpuPercent(
  prev: CgroupCpuUsage,
  cur: CgroupCpuUsage,
  elapsedMs: number,
  capacityCpus: number
): CgroupCpuPercent | null {
  if (!(elapsedMs > 0) || !(capacityCpus > 0)) return null;
  const du = cur.usageNs - prev.usageNs;
  const dus = cur.userNs - prev.userNs;
  const dsy = cur.systemNs - prev.systemNs;
  if (du < 0 || dus < 0 || dsy < 0) return null;
  const denom = elapsedMs * 1e6 * capacityCpus;
  return { user: (100 * dus) / denom, system: (100 * dsy) / denom, total: (100 * du) / denom };
}

/** Memory in use by a cgroup: v1 memory.usage_in_bytes or v2 memory.current, with its limit. */
export function readCgroupMemory(dirs: CgroupDirs): { usageBytes: number; limitBytes: number | null } | null {
  if (dirs.memory) {
    const u = readMemoryUsageV1(dirs.memory);
    if (u !== null) return { usageBytes: u, limitBytes: readMemoryLimitV1(dirs.memory) };
  }
  if (dirs.unified) {
    const u = readMemoryCurrent(dirs.unified);
    if (u !== null) return { usageBytes: u, limitBytes: readMemoryMax(dirs.unified) };
  }
  return null;
}
