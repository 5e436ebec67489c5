// /proc/stat: CPU time counters (in USER_HZ ticks), context switches, boot time, runnable and blocked
// task counts; and the percentages between two samples.
import { hostPath, readTextOrNull } from './fsutil';

/** The ten CPU time counters of a `cpu`/`cpuN` line, in USER_HZ ticks (guest time is also counted in user). */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  guest: number;
  guestNice: number;
}

export interface ProcStat {
  /** The aggregate `cpu` line. */
  total: CpuTimes;
  /** Per-CPU lines keyed by CPU number (offline CPUs are absent). */
  cpus: Map<number, CpuTimes>;
  ctxt: number | null;
  /** Boot time, seconds since the epoch. */
  btime: number | null;
  /** Forks since boot (`processes`). */
  processes: number | null;
  procsRunning: number | null;
  procsBlocked: number | null;
}

const COUNTERS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guestNice'] as const;

function parseCpuTimes(fields: string[]): CpuTimes {
  const t: CpuTimes = {
    user: 0,
    nice: 0,
    system: 0,
    idle: 0,
    iowait: 0,
    irq: 0,
    softirq: 0,
    steal: 0,
    guest: 0,
    guestNice: 0,
  };
  // Old kernels print fewer columns; missing ones stay 0.
  COUNTERS.forEach((k, i) => {
    const v = Number(fields[i]);
    if (fields[i] !== undefined && Number.isFinite(v)) t[k] = v;
  });
  return t;
}

export function parseProcStat(text: string): ProcStat {
  let total: CpuTimes | null = null;
  const cpus = new Map<number, CpuTimes>();
  const out: Omit<ProcStat, 'total' | 'cpus'> = {
    ctxt: null,
    btime: null,
    processes: null,
    procsRunning: null,
    procsBlocked: null,
  };
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.trim().split(/\s+/);
    const key = fields[0] ?? '';
    if (key === 'cpu') total = parseCpuTimes(fields.slice(1));
    else if (key.startsWith('cpu')) {
      const n = Number(key.slice(3));
      if (Number.isInteger(n)) cpus.set(n, parseCpuTimes(fields.slice(1)));
    } else if (key === 'ctxt') out.ctxt = Number(fields[1]);
    else if (key === 'btime') out.btime = Number(fields[1]);
    else if (key === 'processes') out.processes = Number(fields[1]);
    else if (key === 'procs_running') out.procsRunning = Number(fields[1]);
    else if (key === 'procs_blocked') out.procsBlocked = Number(fields[1]);
  }
  if (!total) throw new Error('/proc/stat: no aggregate "cpu" line');
  return { total, cpus, ...out };
}

/** Reads <root>/proc/stat. Throws if the file is missing or malformed (it always exists on Linux). */
export function readProcStat(root = '/'): ProcStat {
  const path = hostPath(root, '/proc/stat');
  const text = readTextOrNull(path);
  if (text === null) throw new Error(`cannot read ${path}`);
  return parseProcStat(text);
}

/** Percentages of the elapsed CPU time between two samples. */
export interface CpuPercent {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  /** 100 − idle − iowait. */
  busy: number;
  /** Ticks elapsed over the first eight counters (the denominator); 0 means no time passed. */
  ticks: number;
}

const FIRST_EIGHT = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

/**
 * Huatuo's definition: each share = 100·Δcounter / Δtotal, where total is the sum of the first eight
 * counters (guest and guest_nice are already inside user and nice). Returns null when no time elapsed
 * or a counter went backwards (CPU hot-unplugged and re-plugged, a different boot).
 */
export function cpuTimesPercent(prev: CpuTimes, cur: CpuTimes): CpuPercent | null {
  let ticks = 0;
  const d: Record<(typeof FIRST_EIGHT)[number], number> = {
    user: 0,
    nice: 0,
    system: 0,
    idle: 0,
    iowait: 0,
    irq: 0,
    softirq: 0,
    steal: 0,
  };
  for (const k of FIRST_EIGHT) {
    const delta = cur[k] - prev[k];
    // iowait may legitimately go backwards on some kernels (it is an estimate); clamp that one only.
    if (delta < 0) {
      if (k === 'iowait') continue;
      return null;
    }
    d[k] = delta;
    ticks += delta;
  }
  if (ticks <= 0) return null;
  const pct = (v: number): number => (100 * v) / ticks;
  return {
    user: pct(d.user),
    nice: pct(d.nice),
    system: pct(d.system),
    idle: pct(d.idle),
    iowait: pct(d.iowait),
    irq: pct(d.irq),
    softirq: pct(d.softirq),
    steal: pct(d.steal),
    busy: 100 - pct(d.idle) - pct(d.iowait),
    ticks,
  };
}

export interface ProcStatPercent {
  total: CpuPercent | null;
  /** Only CPUs present in both samples. */
  cpus: Map<number, CpuPercent | null>;
  /** Context switches per second, when elapsedMs is given. */
  ctxtPerSec: number | null;
}

/** Percentages between two /proc/stat samples, total and per CPU. */
export function procStatPercent(prev: ProcStat, cur: ProcStat, elapsedMs?: number): ProcStatPercent {
  const cpus = new Map<number, CpuPercent | null>();
  for (const [n, c] of cur.cpus) {
    const p = prev.cpus.get(n);
    if (p) cpus.set(n, cpuTimesPercent(p, c));
  }
  let ctxtPerSec: number | null = null;
  if (elapsedMs && elapsedMs > 0 && prev.ctxt !== null && cur.ctxt !== null && cur.ctxt >= prev.ctxt) {
    ctxtPerSec = ((cur.ctxt - prev.ctxt) * 1000) / elapsedMs;
  }
  return { total: cpuTimesPercent(prev.total, cur.total), cpus, ctxtPerSec };
}
