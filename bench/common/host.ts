// What every agent benchmark records besides its own numbers: the machine, the commit, and how busy
// the rest of the (shared) machine was while it ran — load average and the CPU time spent by
// processes other than the ones under test.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readPidStat, USER_HZ } from '../../agent/src/host/process';
import { readProcStat } from '../../agent/src/host/procStat';

export const ROOT = path.resolve(__dirname, '../..').replace(/\/build$/, '');

export function machine(): Record<string, string | number> {
  let commit = 'unknown';
  let dirty = false;
  try {
    commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    dirty =
      execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no'], {
        encoding: 'utf8',
      }).trim() !== '';
  } catch {
    /* not a checkout */
  }
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    memMiB: Math.round(os.totalmem() / 2 ** 20),
    kernel: os.release(),
    node: process.version,
    commit: dirty ? `${commit}+dirty-tree` : commit,
  };
}

/** user+system CPU seconds of a process so far (all threads), from /proc/PID/stat; null when gone. */
export function procCpuSeconds(pid: number): number | null {
  const st = readPidStat(pid);
  return st ? (st.utime + st.stime) / USER_HZ : null;
}

/** VmRSS / VmHWM in KiB. */
export function procMem(pid: number): { rssKiB: number; hwmKiB: number } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
    return { rssKiB: kb('VmRSS'), hwmKiB: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole machine so far (all CPUs, everything but idle and iowait). */
export function hostBusySeconds(): number {
  const t = readProcStat().total; // guest time is already inside user
  return (t.user + t.nice + t.system + t.irq + t.softirq + t.steal) / USER_HZ;
}

export function loadavg1(): number {
  return Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

export interface ContentionReport {
  seconds: number;
  loadavg1: { min: number; max: number; mean: number };
  /** busy CPUs of the whole machine (0…cpus) */
  hostBusyCpus: number;
  /** busy CPUs spent by everything except the watched pids */
  otherBusyCpus: number;
}

/**
 * Samples the 1-minute load average every second and, at stop(), the CPU time the machine spent
 * outside the watched processes (their CPU seconds are measured by the caller and passed in).
 */
export class Contention {
  private readonly samples: number[] = [loadavg1()];
  private readonly t0 = performance.now();
  private readonly busy0 = hostBusySeconds();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.samples.push(loadavg1()), 1000);
    this.timer.unref();
  }

  stop(watchedCpuSeconds = 0): ContentionReport {
    clearInterval(this.timer);
    this.samples.push(loadavg1());
    const seconds = (performance.now() - this.t0) / 1000;
    const busy = hostBusySeconds() - this.busy0;
    const s = this.samples;
    return {
      seconds: round(seconds, 1),
      loadavg1: { min: Math.min(...s), max: Math.max(...s), mean: round(s.reduce((a, b) => a + b, 0) / s.length, 2) },
      hostBusyCpus: round(busy / seconds, 2),
      otherBusyCpus: round(Math.max(0, busy - watchedCpuSeconds) / seconds, 2),
    };
  }
}

export function round(x: number, digits = 1): number {
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}

export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Other people's stressors and kernel tests running now (they make a detection run meaningless). */
export function foreignLoad(ownPids: Set<number>): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || ownPids.has(Number(d))) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (/^stress-ng|\/workloads\/(spinner|memgrow|dstate)|kernel\.test\.[jt]s/.test(cmd))
        out.push(`${d}: ${cmd.slice(0, 80)}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

export function writeResult(name: string, value: unknown): string {
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  return file;
}

export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

/** A 64-hex container id for a label. (test/helpers/workloads fakeContainerId only looks at the first
 *  8 characters of its label: `bench-123-1` and `bench-123-2` would get the same id.) */
export function uniqueId(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}
