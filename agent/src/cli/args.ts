// Small helpers over node:util parseArgs: typed numbers and durations with messages naming the flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function num(
  flag: string,
  v: string | undefined,
  opts: { min?: number; max?: number; int?: boolean } = {}
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)))
    throw new UsageError(`--${flag}: expected ${opts.int ? 'an integer' : 'a number'}, got "${v}"`);
  if (opts.min !== undefined && n < opts.min) throw new UsageError(`--${flag}: must be at least ${opts.min}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) throw new UsageError(`--${flag}: must be at most ${opts.max}, got ${n}`);
  return n;
}

/** "10", "10s", "500ms", "2m" → milliseconds (a bare number means seconds). */
export function seconds(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new UsageError(`--${flag}: expected a duration like 10, 10s, 500ms or 2m, got "${v}"`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms <= 0) throw new UsageError(`--${flag}: must be positive`);
  return ms;
}
