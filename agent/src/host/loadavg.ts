// /proc/loadavg: "0.21 0.17 0.13 1/89 8888".
import { hostPath, readTextOrNull } from './fsutil';

export interface Loadavg {
  load1: number;
  load5: number;
  load15: number;
  /** Currently runnable scheduling entities (threads). */
  running: number;
  /** Scheduling entities (threads) that exist. */
  total: number;
  lastPid: number;
}

export function parseLoadavg(text: string): Loadavg | null {
  const m = /^([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\/(\d+)\s+(\d+)/.exec(text.trim());
  if (!m) return null;
  return {
    load1: Number(m[1]),
    load5: Number(m[2]),
    load15: Number(m[3]),
    running: Number(m[4]),
    total: Number(m[5]),
    lastPid: Number(m[6]),
  };
}

export function readLoadavg(root = '/'): Loadavg | null {
  const text = readTextOrNull(hostPath(root, '/proc/loadavg'));
  return text === null ? null : parseLoadavg(text);
}
