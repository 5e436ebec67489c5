// Pressure stall information: /proc/pressure/{cpu,memory,io} and the cgroup v2 *.pressure files
// (same format). PSI may be compiled out or disabled (psi=0): then the files are missing or reading
// them fails with EOPNOTSUPP, and the readers return null.
import { hostPath, readTextOrNull } from './fsutil';

export interface PressureLine {
  /** Percent of wall time stalled, averaged over 10 s, 60 s and 300 s. */
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time in microseconds. */
  total: number;
}

export interface Pressure {
  some: PressureLine | null;
  /** Absent on the host-wide CPU file of kernels before 5.13. */
  full: PressureLine | null;
}

export type PressureResource = 'cpu' | 'memory' | 'io';

export function parsePressure(text: string): Pressure | null {
  const out: Pressure = { some: null, full: null };
  for (const line of text.split('\n')) {
    const m = /^(some|full)\s+avg10=([\d.]+)\s+avg60=([\d.]+)\s+avg300=([\d.]+)\s+total=(\d+)/.exec(line);
    if (!m) continue;
    out[m[1] as 'some' | 'full'] = {
      avg10: Number(m[2]),
      avg60: Number(m[3]),
      avg300: Number(m[4]),
      total: Number(m[5]),
    };
  }
  return out.some || out.full ? out : null;
}

/** Host-wide PSI for one resource, or null when PSI is unavailable. */
export function readPressure(resource: PressureResource, root = '/'): Pressure | null {
  const text = readTextOrNull(hostPath(root, `/proc/pressure/${resource}`));
  return text === null ? null : parsePressure(text);
}

/** Reads a cgroup v2 `<dir>/<resource>.pressure` file (dir already absolute, root prefix included). */
export function readCgroupPressure(dir: string, resource: PressureResource): Pressure | null {
  const text = readTextOrNull(`${dir}/${resource}.pressure`);
  return text === null ? null : parsePressure(text);
}

/** Share of an interval spent stalled (percent) from two `total` counters, more responsive than avg10. */
export function pressureStallPercent(prevTotalUs: number, curTotalUs: number, elapsedMs: number): number | null {
  if (elapsedMs <= 0 || curTotalUs < prevTotalUs) return null;
  return Math.min(100, ((curTotalUs - prevTotalUs) / 1000 / elapsedMs) * 100);
}
