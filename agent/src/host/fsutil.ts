// Small synchronous file helpers shared by the host readers. Every reader takes a root prefix ('/' on
// a real host, a fixture directory in tests) and treats a file that vanished, never existed or cannot
// be read (a process that exited mid-sweep, PSI disabled, a controller not mounted) as null.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Joins a root prefix and an absolute host path: hostPath('/fixture', '/proc/stat') → '/fixture/proc/stat'. */
export function hostPath(root: string, path: string): string {
  if (root === '/' || root === '') return path.startsWith('/') ? path : `/${path}`;
  return join(root, path);
}

/** Reads a small text file, or null if it cannot be read for any reason (ENOENT, ESRCH, EACCES, EOPNOTSUPP…). */
export function readTextOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Reads a small file as bytes (for NUL-separated /proc files), or null. */
export function readBytesOrNull(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

/** Names in a directory, or null if it cannot be listed. */
export function readDirOrNull(path: string): string[] | null {
  try {
    return readdirSync(path);
  } catch {
    return null;
  }
}

/** Parses a decimal integer field; NaN-safe (returns null for anything that is not a plain integer). */
export function toInt(s: string | undefined): number | null {
  if (s === undefined || !/^-?\d+$/.test(s)) return null;
  return Number(s);
}

/** Parses "key value" lines (memory.stat, vmstat, cpu.stat…) into a record of numbers; bad lines are skipped. */
export function parseKeyValueLines(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const v = Number(line.slice(sp + 1).trim());
    if (Number.isFinite(v)) out[line.slice(0, sp)] = v;
  }
  return out;
}
