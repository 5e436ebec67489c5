// Time and step parameters: `from`/`to` take ms since the epoch, an RFC 3339 date-time or a
// Grafana-style relative time (`now`, `now-1h`, `now-15m`, `now+30s`); `step` takes a number of
// milliseconds or a duration (`30s`, `5m`). Anything else is a 400 naming the parameter.
import { parseDuration, UnitError } from '../config/units';
import { badRange, badRequest } from './errors';

/** Latest time we accept: year 9999 (and nothing before the epoch). */
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export function parseTime(name: string, input: string, now: number = Date.now()): number {
  const s = input.trim();
  let t: number;
  if (/^\d{1,16}$/.test(s)) {
    t = Number(s);
  } else if (/^now([+\- ].*)?$/.test(s)) {
    // (a '+' left unescaped in a query string arrives as a space)
    t = now;
    if (s.length > 3) {
      let d: number;
      try {
        d = parseDuration(s.slice(4));
      } catch (e) {
        throw badRequest(`${name}: "${input}": ${e instanceof UnitError ? e.message : 'bad duration'} (e.g. now-1h)`);
      }
      // further back than the epoch means "from the start"
      t = s[3] === '-' ? Math.max(0, now - d) : now + d;
    }
  } else if (RFC3339.test(s)) {
    const m = RFC3339.exec(s)!;
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    // Date.parse rolls 2024-02-31 over into March: check the day against the month first
    const daysInMonth = mo >= 1 && mo <= 12 ? new Date(Date.UTC(y, mo, 0)).getUTCDate() : 0;
    t = d >= 1 && d <= daysInMonth ? Date.parse(s.replace(' ', 'T')) : NaN;
    if (!Number.isFinite(t)) throw badRequest(`${name}: "${input}" is not a valid date-time`);
  } else {
    throw badRequest(
      `${name}: expected milliseconds since the epoch, an RFC 3339 date-time or now-<duration>, got "${input.slice(0, 64)}"`
    );
  }
  t = Math.floor(t);
  if (!Number.isSafeInteger(t) || t < 0 || t > MAX_TIME) throw badRequest(`${name}: "${input}" is out of range`);
  return t;
}

export interface TimeRange {
  from: number | undefined;
  to: number | undefined;
}

/** Both ends optional; `from` after `to` is a 400 BAD_RANGE. */
export function parseRange(q: { from?: string; to?: string }, now: number = Date.now()): TimeRange {
  const from = q.from === undefined ? undefined : parseTime('from', q.from, now);
  const to = q.to === undefined ? undefined : parseTime('to', q.to, now);
  if (from !== undefined && to !== undefined && from > to) {
    throw badRange(`from (${new Date(from).toISOString()}) is after to (${new Date(to).toISOString()})`);
  }
  return { from, to };
}

/** A bucket width: a positive number of milliseconds or a duration. */
export function parseStep(input: string): number {
  const s = input.trim();
  let ms: number;
  if (/^\d{1,15}$/.test(s)) ms = Number(s);
  else {
    try {
      ms = parseDuration(s);
    } catch (e) {
      throw badRequest(`step: ${e instanceof UnitError ? e.message : 'bad duration'}, got "${input.slice(0, 32)}"`);
    }
  }
  if (!(ms >= 1)) throw badRequest('step must be at least 1ms');
  return ms;
}

const NICE_STEPS = [
  1,
  5,
  10,
  15,
  30,
  60,
  300,
  600,
  900,
  1800,
  3600,
  3 * 3600,
  6 * 3600,
  12 * 3600,
  86400,
  7 * 86400,
].map((s) => s * 1000);

/** A round bucket width giving at most `maxBuckets` buckets over [from, to]. */
export function autoStep(from: number, to: number, maxBuckets = 300): number {
  const span = Math.max(1, to - from);
  for (const s of NICE_STEPS) if (span / s <= maxBuckets) return s;
  return Math.ceil(span / maxBuckets / 86_400_000) * 86_400_000;
}
