// /proc/meminfo and /proc/vmstat.
import { hostPath, parseKeyValueLines, readTextOrNull } from './fsutil';

/**
 * Every /proc/meminfo key. Values printed in kB are converted to bytes; unit-less values
 * (HugePages_Total, HugePages_Free, …) are counts and stay as printed.
 */
export type Meminfo = Record<string, number>;

export function parseMeminfo(text: string): Meminfo {
  const out: Meminfo = {};
  for (const line of text.split('\n')) {
    const m = /^([^:\s]+):\s+(\d+)(?:\s+(kB))?\s*$/.exec(line);
    if (!m) continue;
    const v = Number(m[2]);
    out[m[1] as string] = m[3] ? v * 1024 : v;
  }
  return out;
}

export function readMeminfo(root = '/'): Meminfo | null {
  const text = readTextOrNull(hostPath(root, '/proc/meminfo'));
  return text === null ? null : parseMeminfo(text);
}

/** Anonymous memory in bytes as Huatuo's memburst counts it: Active(anon) + Inactive(anon). */
export function anonBytes(mi: Meminfo): number {
  return (mi['Active(anon)'] ?? 0) + (mi['Inactive(anon)'] ?? 0);
}

/** Every /proc/vmstat key (page counts and event counters, as printed). */
export type Vmstat = Record<string, number>;

export function parseVmstat(text: string): Vmstat {
  return parseKeyValueLines(text);
}

export function readVmstat(root = '/'): Vmstat | null {
  const text = readTextOrNull(hostPath(root, '/proc/vmstat'));
  return text === null ? null : parseVmstat(text);
}
