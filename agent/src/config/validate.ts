// A small validator that walks the TypeBox schemas in schema.ts: it fills defaults, converts units
// (`10s` → 10000), and collects every problem at once as {path, message}, so an error names the full
// key path (`tracers.cpusys.sysThreshold: expected a number between 0 and 100, got "abc"`).
// TypeBox's own Value.Errors would report `/tracers/cpusys/sysThreshold Expected number` and knows
// nothing about units, hence this walk.
import { Kind, type TSchema } from '@sinclair/typebox';
import { UNIT, type ValueUnit } from './schema';
import { formatDuration, formatRate, formatSize, parseDuration, parseRate, parseSize, UnitError } from './units';
import { parseListen } from './listen';

export type ConfigPath = (string | number)[];
export interface ConfigIssue {
  path: ConfigPath;
  message: string;
}

export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out === '' ? '(top level)' : out;
}

export function formatIssue(i: ConfigIssue): string {
  return `${formatPath(i.path)}: ${i.message}`;
}

export interface WalkOptions {
  /** Only check the keys that are present; fill no defaults (PATCH bodies). */
  partial?: boolean;
  /** Accept bare numbers as milliseconds for durations (JSON from the API, which reports ms). */
  bareNumbersAreMs?: boolean;
}

interface Ctx extends WalkOptions {
  issues: ConfigIssue[];
}

type Schema = TSchema & Record<string, unknown>;

function kindOf(s: Schema): string {
  return String(s[Kind]);
}

function unitOf(s: Schema): ValueUnit | undefined {
  return s[UNIT] as ValueUnit | undefined;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

function unknownKeyMessage(key: string, allowed: string[]): string {
  const lower = key.toLowerCase();
  const close = allowed
    .map((k) => ({ k, d: k.toLowerCase() === lower ? 0 : levenshtein(lower, k.toLowerCase()) }))
    .filter((c) => c.d <= Math.max(2, Math.floor(key.length / 4)))
    .sort((x, y) => x.d - y.d);
  if (close.length > 0) return `unknown key (did you mean "${close[0]!.k}"?)`;
  return `unknown key (expected one of: ${allowed.join(', ')})`;
}

function rangeText(min: number | undefined, max: number | undefined, fmt: (n: number) => string): string {
  if (min !== undefined && max !== undefined) return ` between ${fmt(min)} and ${fmt(max)}`;
  if (min !== undefined) return ` of at least ${fmt(min)}`;
  if (max !== undefined) return ` of at most ${fmt(max)}`;
  return '';
}

function numberRange(s: Schema): { min: number | undefined; max: number | undefined } {
  return {
    min: typeof s.minimum === 'number' ? s.minimum : undefined,
    max: typeof s.maximum === 'number' ? s.maximum : undefined,
  };
}

function clone<T>(v: T): T {
  return v === undefined ? v : (structuredClone(v) as T);
}

function walkNumber(s: Schema, v: unknown, path: ConfigPath, ctx: Ctx): unknown {
  const unit = unitOf(s);
  const { min, max } = numberRange(s);
  const integer = kindOf(s) === 'Integer';
  let n: number;
  let noun: string;
  let fmt: (n: number) => string = String;
  if (unit === 'duration' || unit === 'size' || unit === 'rate') {
    noun = unit === 'duration' ? 'a duration' : unit === 'size' ? 'a size' : 'a rate';
    fmt = unit === 'duration' ? formatDuration : unit === 'size' ? formatSize : formatRate;
    const parse = unit === 'duration' ? parseDuration : unit === 'size' ? parseSize : parseRate;
    if (typeof v === 'string') {
      try {
        n = parse(v);
      } catch (e) {
        if (!(e instanceof UnitError)) throw e;
        ctx.issues.push({ path, message: `${e.message}, got ${describeValue(v)}` });
        return undefined;
      }
    } else if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && Number.isInteger(v)) {
      if (unit === 'duration' && v !== 0 && !ctx.bareNumbersAreMs) {
        ctx.issues.push({ path, message: `a duration needs a unit (ms, s, m, h, d, w), e.g. "${v}s", got ${v}` });
        return undefined;
      }
      n = v; // sizes: bytes, rates: bytes per second, durations (API): milliseconds
    } else {
      const example =
        unit === 'duration'
          ? 'like 500ms, 10s, 30m or 7d'
          : unit === 'size'
            ? 'like 512MiB, 1GiB or 10MB'
            : 'like 100MiB/s';
      ctx.issues.push({ path, message: `expected ${noun} ${example}, got ${describeValue(v)}` });
      return undefined;
    }
  } else {
    noun = integer ? 'an integer' : 'a number';
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      ctx.issues.push({ path, message: `expected ${noun}${rangeText(min, max, fmt)}, got ${describeValue(v)}` });
      return undefined;
    }
    n = v;
  }
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
    ctx.issues.push({
      path,
      message: `expected ${noun}${rangeText(min, max, fmt)}, got ${typeof v === 'string' ? v : fmt(n)}`,
    });
    return undefined;
  }
  return n;
}

const TOKEN_RE = /^[\x21-\x7e]+$/;
const GLOB_RE = /^[A-Za-z0-9_.\-*?]+$/;
const HOST_RE = /^[^\s\x00-\x1f\x7f]+$/;

function walkString(s: Schema, v: unknown, path: ConfigPath, ctx: Ctx): unknown {
  const unit = unitOf(s);
  if (unit === 'token') {
    // never echo a token (or what was meant to be one) in a message
    if (typeof v !== 'string' || !TOKEN_RE.test(v) || v.length < 16 || v.length > 512) {
      ctx.issues.push({
        path,
        message: 'a token must be a string of 16 to 512 printable ASCII characters without spaces (value not shown)',
      });
      return undefined;
    }
    return v;
  }
  if (typeof v !== 'string') {
    ctx.issues.push({ path, message: `expected a string, got ${describeValue(v)}` });
    return undefined;
  }
  const minLength = typeof s.minLength === 'number' ? s.minLength : 0;
  const maxLength = typeof s.maxLength === 'number' ? s.maxLength : Infinity;
  if (v.length < minLength) {
    ctx.issues.push({
      path,
      message:
        v.length === 0 ? 'must not be empty' : `must be at least ${minLength} characters, got ${describeValue(v)}`,
    });
    return undefined;
  }
  if (v.length > maxLength) {
    ctx.issues.push({ path, message: `must be at most ${maxLength} characters` });
    return undefined;
  }
  switch (unit) {
    case 'listen': {
      const r = parseListen(v);
      if ('error' in r) {
        ctx.issues.push({ path, message: `${r.error}, got ${describeValue(v)}` });
        return undefined;
      }
      return v;
    }
    case 'regex':
      try {
        new RegExp(v);
      } catch (e) {
        ctx.issues.push({
          path,
          message: `invalid regular expression ${describeValue(v)}: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`,
        });
        return undefined;
      }
      return v;
    case 'glob':
      if (!GLOB_RE.test(v)) {
        ctx.issues.push({
          path,
          message: `expected a device name pattern (letters, digits, . _ - and the wildcards * ?), got ${describeValue(v)}`,
        });
        return undefined;
      }
      return v;
    case 'path':
      if (v.includes('\0')) {
        ctx.issues.push({ path, message: 'a path must not contain NUL characters' });
        return undefined;
      }
      return v;
    case 'host':
      if (!HOST_RE.test(v) || v.length > 253) {
        ctx.issues.push({
          path,
          message: `expected a host name without spaces (at most 253 characters) or "auto", got ${describeValue(v)}`,
        });
        return undefined;
      }
      return v;
    default:
      return v;
  }
}

function walk(schema: TSchema, v: unknown, path: ConfigPath, ctx: Ctx): unknown {
  const s = schema as Schema;
  const kind = kindOf(s);
  if (v === undefined && kind !== 'Object') {
    if (s.default !== undefined) return clone(s.default);
    ctx.issues.push({ path, message: 'is required' });
    return undefined;
  }
  switch (kind) {
    case 'Object': {
      if (v === undefined || v === null) v = {}; // `section:` with nothing under it → defaults
      if (!isPlainObject(v)) {
        ctx.issues.push({ path, message: `expected a mapping of keys, got ${describeValue(v)}` });
        return undefined;
      }
      const props = s.properties as Record<string, TSchema>;
      const allowed = Object.keys(props);
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(v)) {
        if (!Object.prototype.hasOwnProperty.call(props, key)) {
          ctx.issues.push({ path: [...path, key], message: unknownKeyMessage(key, allowed) });
        }
      }
      for (const key of allowed) {
        const has = Object.prototype.hasOwnProperty.call(v, key);
        if (ctx.partial && !has) continue;
        const r = walk(props[key]!, has ? v[key] : undefined, [...path, key], ctx);
        if (r !== undefined) out[key] = r;
      }
      return out;
    }
    case 'Array': {
      if (!Array.isArray(v)) {
        ctx.issues.push({ path, message: `expected a list, got ${describeValue(v)}` });
        return undefined;
      }
      const maxItems = typeof s.maxItems === 'number' ? s.maxItems : Infinity;
      if (v.length > maxItems) {
        ctx.issues.push({ path, message: `expected at most ${maxItems} items, got ${v.length}` });
        return undefined;
      }
      // items are complete values even in partial mode
      const itemCtx: Ctx = { ...ctx, partial: false };
      return v.map((item, i) => walk(s.items as TSchema, item, [...path, i], itemCtx));
    }
    case 'Union': {
      const variants = s.anyOf as Schema[];
      if (variants.every((x) => kindOf(x) === 'Literal')) {
        const values = variants.map((x) => x.const);
        if (!values.includes(v)) {
          ctx.issues.push({ path, message: `expected one of ${values.join(', ')}, got ${describeValue(v)}` });
          return undefined;
        }
        return v;
      }
      const nonNull = variants.filter((x) => kindOf(x) !== 'Null');
      if (v === null && nonNull.length < variants.length) return null;
      if (nonNull.length === 1) return walk(nonNull[0]!, v, path, ctx);
      throw new Error(`config schema: unsupported union at ${formatPath(path)}`);
    }
    case 'Integer':
    case 'Number':
      return walkNumber(s, v, path, ctx);
    case 'String':
      return walkString(s, v, path, ctx);
    case 'Boolean':
      if (typeof v !== 'boolean') {
        ctx.issues.push({ path, message: `expected true or false, got ${describeValue(v)}` });
        return undefined;
      }
      return v;
    default:
      throw new Error(`config schema: unsupported kind ${kind} at ${formatPath(path)}`);
  }
}

/** Validates `value` against `schema`, filling defaults; `value` is meaningful only when issues is empty. */
export function validateAgainst(
  schema: TSchema,
  value: unknown,
  opts: WalkOptions = {},
  basePath: ConfigPath = []
): { value: unknown; issues: ConfigIssue[] } {
  const ctx: Ctx = { ...opts, issues: [] };
  const out = walk(schema, value, basePath, ctx);
  return { value: out, issues: ctx.issues };
}

/** The defaults of a schema (what an empty config resolves to, before host/path resolution). */
export function defaultsOf(schema: TSchema): unknown {
  const r = validateAgainst(schema, undefined);
  if (r.issues.length > 0)
    throw new Error(`config schema has no complete defaults: ${r.issues.map(formatIssue).join('; ')}`);
  return r.value;
}
