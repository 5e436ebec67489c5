// Per-process readers: /proc/PID/{stat,status,cmdline,cgroup,wchan} and the pid/thread listings.
// Processes come and go while we read: every per-process reader returns null when the process is gone
// (or its files cannot be read or parsed) and never throws, so a sweep just skips it.
import { hostPath, readBytesOrNull, readDirOrNull, readTextOrNull, toInt } from './fsutil';

/** USER_HZ: the tick unit of /proc/PID/stat times, /proc/stat and cpuacct.stat (100 on every Linux ABI). */
export const USER_HZ = 100;

export interface PidStat {
  pid: number;
  /** Executable name as the kernel keeps it (≤15 bytes; may contain spaces and parentheses). */
  comm: string;
  /** R running, S sleeping, D uninterruptible (disk) sleep, Z zombie, T stopped, t traced, I idle kthread, … */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  flags: number;
  minflt: number;
  majflt: number;
  /** CPU time in USER_HZ ticks. */
  utime: number;
  stime: number;
  priority: number;
  nice: number;
  numThreads: number;
  /** Start time in USER_HZ ticks after boot. */
  starttime: number;
  vsizeBytes: number;
  /** Resident set in pages. */
  rssPages: number;
  /** CPU it last ran on. */
  processor: number | null;
  /** Aggregated block IO delay in ticks (delayacct; 0 unless enabled). */
  blkioTicks: number | null;
}

/**
 * Parses /proc/PID/stat (or /proc/PID/task/TID/stat). comm is everything between the first '(' and the
 * last ')', so names such as "my (weird) app" or ") (" survive. Returns null for malformed input.
 */
export function parsePidStat(text: string): PidStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = toInt(text.slice(0, open).trim());
  const f = text
    .slice(close + 2)
    .trim()
    .split(' ');
  if (pid === null || f.length < 22) return null;
  // f[i] is field (i + 3) in proc(5) numbering.
  const n = (i: number): number => Number(f[i]);
  const opt = (i: number): number | null => (f[i] === undefined ? null : Number(f[i]));
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: f[0] as string,
    ppid: n(1),
    pgrp: n(2),
    session: n(3),
    flags: n(6),
    minflt: n(7),
    majflt: n(9),
    utime: n(11),
    stime: n(12),
    priority: n(15),
    nice: n(16),
    numThreads: n(17),
    starttime: n(19),
    vsizeBytes: n(20),
    rssPages: n(21),
    processor: opt(36),
    blkioTicks: opt(39),
  };
}

export interface PidStatus {
  name: string;
  state: string;
  tgid: number | null;
  pid: number | null;
  ppid: number | null;
  /** Real, effective, saved, filesystem uid. */
  uid: number[];
  threads: number | null;
  /** Bytes. null when the line is absent (kernel threads have no Vm* lines). */
  vmPeak: number | null;
  vmSize: number | null;
  vmHWM: number | null;
  vmRSS: number | null;
  rssAnon: number | null;
  rssFile: number | null;
  rssShmem: number | null;
  vmData: number | null;
  vmSwap: number | null;
  voluntaryCtxtSwitches: number | null;
  nonvoluntaryCtxtSwitches: number | null;
  /** Innermost pid namespace's view (last NSpid value). */
  nsPid: number | null;
  /** Every line: kB values in bytes, other numbers as numbers, anything else as the raw string. */
  raw: Record<string, string | number>;
}

export function parsePidStatus(text: string): PidStatus | null {
  const raw: Record<string, string | number> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    const kb = /^(\d+) kB$/.exec(value);
    if (kb) raw[key] = Number(kb[1]) * 1024;
    else if (/^-?\d+$/.test(value)) raw[key] = Number(value);
    else raw[key] = value;
  }
  if (raw.Name === undefined) return null;
  const num = (k: string): number | null => (typeof raw[k] === 'number' ? (raw[k] as number) : null);
  const ints = (k: string): number[] =>
    raw[k] === undefined ? [] : String(raw[k]).split(/\s+/).filter(Boolean).map(Number);
  const nspid = ints('NSpid');
  return {
    name: String(raw.Name),
    state: String(raw.State ?? '').charAt(0),
    tgid: num('Tgid'),
    pid: num('Pid'),
    ppid: num('PPid'),
    uid: ints('Uid'),
    threads: num('Threads'),
    vmPeak: num('VmPeak'),
    vmSize: num('VmSize'),
    vmHWM: num('VmHWM'),
    vmRSS: num('VmRSS'),
    rssAnon: num('RssAnon'),
    rssFile: num('RssFile'),
    rssShmem: num('RssShmem'),
    vmData: num('VmData'),
    vmSwap: num('VmSwap'),
    voluntaryCtxtSwitches: num('voluntary_ctxt_switches'),
    nonvoluntaryCtxtSwitches: num('nonvoluntary_ctxt_switches'),
    nsPid: nspid.length ? (nspid[nspid.length - 1] as number) : null,
    raw,
  };
}

/** NUL-separated argv → string[] (a trailing NUL or a missing one both work). Empty for kernel threads and zombies. */
export function parseCmdline(buf: Buffer | string): string[] {
  const s = typeof buf === 'string' ? buf : buf.toString('utf8');
  if (s === '') return [];
  const parts = s.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** What ps shows: argv joined by spaces, or "[comm]" when argv is empty (kernel threads, zombies). */
export function displayCommand(argv: string[], comm: string, maxLength = 4096): string {
  const s = argv.length ? argv.join(' ') : `[${comm}]`;
  return s.length > maxLength ? `${s.slice(0, maxLength - 1)}…` : s;
}

/** One line of /proc/PID/cgroup. */
export interface ProcCgroupLine {
  /** Hierarchy id; 0 is the unified (v2) hierarchy. */
  hierarchyId: number;
  /** v1 controllers of that hierarchy (e.g. ['cpu', 'cpuacct'] or ['name=systemd']); empty for v2. */
  controllers: string[];
  /** Path relative to the hierarchy's root, e.g. /docker/<id>. */
  path: string;
}

export function parseProcCgroup(text: string): ProcCgroupLine[] {
  const out: ProcCgroupLine[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const id = toInt(line.slice(0, a));
    if (id === null) continue;
    const ctl = line.slice(a + 1, b);
    out.push({ hierarchyId: id, controllers: ctl ? ctl.split(',') : [], path: line.slice(b + 1) });
  }
  return out;
}

function pidDir(root: string, pid: number, tid?: number): string {
  return hostPath(root, tid === undefined ? `/proc/${pid}` : `/proc/${pid}/task/${tid}`);
}

export function readPidStat(pid: number, root = '/', tid?: number): PidStat | null {
  const t = readTextOrNull(`${pidDir(root, pid, tid)}/stat`);
  return t === null ? null : parsePidStat(t);
}

export function readPidStatus(pid: number, root = '/', tid?: number): PidStatus | null {
  const t = readTextOrNull(`${pidDir(root, pid, tid)}/status`);
  return t === null ? null : parsePidStatus(t);
}

export function readPidCmdline(pid: number, root = '/'): string[] | null {
  const b = readBytesOrNull(`${pidDir(root, pid)}/cmdline`);
  return b === null ? null : parseCmdline(b);
}

export function readPidCgroup(pid: number, root = '/'): ProcCgroupLine[] | null {
  const t = readTextOrNull(`${pidDir(root, pid)}/cgroup`);
  if (t === null) return null;
  const lines = parseProcCgroup(t);
  return lines.length ? lines : null;
}

/** Kernel function the task sleeps in ("0" or "" when running or hidden → null). */
export function readPidWchan(pid: number, root = '/', tid?: number): string | null {
  const t = readTextOrNull(`${pidDir(root, pid, tid)}/wchan`);
  if (t === null) return null;
  const s = t.trim();
  return s === '' || s === '0' ? null : s;
}

/** Kernel stack (root only); null if unreadable. */
export function readPidStack(pid: number, root = '/', tid?: number): string | null {
  return readTextOrNull(`${pidDir(root, pid, tid)}/stack`);
}

/** All numeric entries of <root>/proc (processes; threads are not listed there), ascending. */
export function listPids(root = '/'): number[] {
  const names = readDirOrNull(hostPath(root, '/proc')) ?? [];
  const out: number[] = [];
  for (const n of names) {
    const c = n.charCodeAt(0);
    if (c >= 48 && c <= 57 && /^\d+$/.test(n)) out.push(Number(n));
  }
  return out.sort((a, b) => a - b);
}

/** Thread ids of a process (ascending), or null if the process is gone. */
export function listThreads(pid: number, root = '/'): number[] | null {
  const names = readDirOrNull(`${pidDir(root, pid)}/task`);
  if (names === null) return null;
  return names
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

/** A process snapshot for evidence tables: stat + status + argv in one go; null if it vanished. */
export interface ProcessInfo {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  argv: string[];
  command: string;
  stat: PidStat;
  status: PidStatus | null;
}

export function readProcessInfo(pid: number, root = '/'): ProcessInfo | null {
  const stat = readPidStat(pid, root);
  if (!stat) return null;
  const argv = readPidCmdline(pid, root) ?? [];
  return {
    pid,
    comm: stat.comm,
    state: stat.state,
    ppid: stat.ppid,
    argv,
    command: displayCommand(argv, stat.comm),
    stat,
    status: readPidStatus(pid, root),
  };
}

let cachedPageSize: number | null = null;

/**
 * The kernel page size in bytes (to turn rss pages into bytes): read once from the first
 * KernelPageSize line of /proc/self/smaps, 4096 if that fails.
 */
export function pageSize(): number {
  if (cachedPageSize !== null) return cachedPageSize;
  const t = readTextOrNull('/proc/self/smaps');
  const m = t ? /^KernelPageSize:\s+(\d+) kB$/m.exec(t) : null;
  cachedPageSize = m ? Number(m[1]) * 1024 : 4096;
  return cachedPageSize;
}
