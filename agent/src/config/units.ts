// Human units used in the config file: durations (`500ms`, `10s`, `1h30m`, `7d`), sizes (`512MiB`,
// `1GiB`, `10MB`) and byte rates (`2000MiB/s`). Parsers throw UnitError; the config walker turns that
// into a message naming the key.

export class UnitError extends Error {
  override name = 'UnitError';
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const DURATION_WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/**
 * Parses `500ms`, `10s`, `30m`, `12h`, `7d`, `2w` and sequences like `1h30m` into milliseconds
 * (rounded to a whole millisecond). `0` alone is accepted; any other bare number is rejected because
 * "interval: 5" is ambiguous (callers that want bare numbers as milliseconds handle that themselves).
 */
export function parseDuration(input: string): number {
  const s = input.trim();
  if (s === '0') return 0;
  if (!DURATION_WHOLE.test(s)) {
    if (/^\d+(\.\d+)?$/.test(s)) throw new UnitError(`a duration needs a unit (ms, s, m, h, d, w), e.g. "${s}s"`);
    throw new UnitError('expected a duration like 500ms, 10s, 30m or 7d');
  }
  let ms = 0;
  for (const m of s.matchAll(DURATION_PART)) {
    ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  }
  ms = Math.round(ms);
  if (!Number.isSafeInteger(ms)) throw new UnitError('duration is too large');
  return ms;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/;

/**
 * Parses `512MiB`, `1GiB`, `10MB`, `64KiB`, `100B` into bytes. Units are case-insensitive; the `i`
 * forms are powers of 1024, the others powers of 1000. A bare integer is bytes. Bare `K`/`M`/`G`
 * are rejected (1000 or 1024?).
 */
export function parseSize(input: string): number {
  const m = SIZE_RE.exec(input.trim());
  if (!m) throw new UnitError('expected a size like 512MiB, 1GiB or 10MB');
  const unit = m[2]!.toLowerCase();
  const factor = unit === '' ? 1 : SIZE_UNITS[unit];
  if (factor === undefined) {
    if (/^[kmgt]$/.test(unit))
      throw new UnitError(
        `ambiguous size unit "${m[2]}": write ${m[2]!.toUpperCase()}iB (1024) or ${m[2]!.toUpperCase()}B (1000)`
      );
    throw new UnitError(`unknown size unit "${m[2]}" (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`);
  }
  if (unit === '' && m[1]!.includes('.')) throw new UnitError('a size in bytes must be a whole number');
  const bytes = Math.round(Number(m[1]) * factor);
  if (!Number.isSafeInteger(bytes)) throw new UnitError('size is too large');
  return bytes;
}

/** Parses a byte rate such as `2000MiB/s` or `100MB/s` into bytes per second. */
export function parseRate(input: string): number {
  const s = input.trim();
  if (!s.endsWith('/s')) throw new UnitError('expected a rate like 100MiB/s or 2GB/s');
  try {
    return parseSize(s.slice(0, -2));
  } catch (e) {
    throw new UnitError(`expected a rate like 100MiB/s or 2GB/s (${(e as Error).message})`);
  }
}

/** Formats milliseconds with the largest unit that divides it exactly: 1800000 → "30m". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const f = DURATION_UNITS[unit]!;
    if (ms % f === 0) return `${ms / f}${unit}`;
  }
  return `${ms}ms`;
}

/** Formats bytes with the largest binary (or else decimal) unit that divides it exactly. */
export function formatSize(bytes: number): string {
  if (bytes === 0) return '0B';
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB', 'TB', 'GB', 'MB', 'kB'] as const) {
    const f = SIZE_UNITS[unit.toLowerCase()]!;
    if (bytes % f === 0) return `${bytes / f}${unit}`;
  }
  return `${bytes}B`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatSize(bytesPerSecond)}/s`;
}
