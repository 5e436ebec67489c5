// Loading, validating, reloading and patching the agent's YAML config. See README.md beside this
// file for every key, its default and the rules (units, relative paths, tokens, loopback).
import { readFileSync, statSync, accessSync, constants as fsConstants } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { TracerType } from '../events/event';
import {
  ConfigSchema,
  TokensSchema,
  TRACER_SCHEMAS,
  COMMON_TRACER_KEYS,
  type AgentConfig,
  type Tokens,
  type TracersConfig,
} from './schema';
import { formatIssue, validateAgainst, type ConfigIssue, type ConfigPath } from './validate';
import { isLoopbackHost, parseListen } from './listen';
import { formatDuration } from './units';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly errors: string[],
    readonly file: string | null
  ) {
    super(`invalid config${file ? ` ${file}` : ''}:\n  ${errors.join('\n  ')}`);
  }
}

export interface ConfigOptions {
  /** Directory the default dataDir (and relative paths when there is no file) resolve against. */
  cwd?: string;
  /** Replaces os.hostname() for `host: auto` (tests). */
  hostname?: () => string;
}

export type ConfigResult =
  | { ok: true; config: AgentConfig; warnings: string[]; file: string | null }
  | { ok: false; errors: string[]; file: string | null };

export type ReloadResult =
  | {
      ok: true;
      config: AgentConfig;
      warnings: string[];
      /** dotted key paths whose value changed (token values never appear) */
      changed: string[];
      /** the subset of `changed` that takes effect only after a restart */
      restartRequired: string[];
    }
  | { ok: false; errors: string[] };

/** Keys the running daemon cannot apply without restarting (listen socket, TLS, server options, database). */
// api.bodyLimit and api.rateLimit are read per request, TLS files are reloaded in place; turning TLS on or off needs a restart
export const RESTART_REQUIRED_KEYS = ['dataDir', 'api.listen', 'api.tls'] as const;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function has(obj: unknown, ...keys: string[]): boolean {
  let cur: unknown = obj;
  for (const k of keys) {
    if (!isPlainObject(cur) || !Object.prototype.hasOwnProperty.call(cur, k)) return false;
    cur = cur[k];
  }
  return true;
}

interface ParsedYaml {
  value: unknown;
  errors: string[];
  /** "file:line" of the node at a key path, when known */
  locate: (path: ConfigPath) => string | null;
}

function parseYaml(text: string, label: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const locate = (path: ConfigPath): string | null => {
    try {
      const node = doc.getIn(path, true);
      if (isNode(node) && node.range) {
        const pos = lineCounter.linePos(node.range[0]);
        return `${label}:${pos.line}`;
      }
    } catch {
      /* path through a scalar */
    }
    return null;
  };
  if (doc.errors.length > 0) {
    return { value: undefined, errors: doc.errors.map((e) => `${label}: ${e.message.split('\n')[0]}`), locate };
  }
  try {
    return { value: doc.toJS({ maxAliasCount: 100 }), errors: [], locate };
  } catch (e) {
    return { value: undefined, errors: [`${label}: ${(e as Error).message}`], locate };
  }
}

function readTokenFile(file: string, warnings: string[]): { tokens: Tokens | null; errors: string[] } {
  const where = `api.tokenFile: ${file}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      warnings.push(`${where}: readable by group or others (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`);
    }
  } catch (e) {
    return {
      tokens: null,
      errors: [`${where}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`],
    };
  }
  const y = parseYaml(text, file);
  if (y.errors.length > 0) return { tokens: null, errors: y.errors.map((m) => `api.tokenFile: ${m}`) };
  const r = validateAgainst(TokensSchema, y.value);
  if (r.issues.length > 0) return { tokens: null, errors: r.issues.map((i) => `${where}: ${formatIssue(i)}`) };
  return { tokens: r.value as Tokens, errors: [] };
}

function checkReadable(file: string): string | null {
  try {
    accessSync(file, fsConstants.R_OK);
    return null;
  } catch (e) {
    return `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
}

function tracerChecks(tracers: TracersConfig, budgetPerHour: number, issues: ConfigIssue[]): void {
  for (const type of Object.keys(tracers) as TracerType[]) {
    const t = tracers[type];
    if (t.baselineWindow < t.interval) {
      issues.push({
        path: ['tracers', type, 'baselineWindow'],
        message: `must be at least the sampling interval (${formatDuration(t.interval)}), got ${formatDuration(t.baselineWindow)}`,
      });
    }
    if (t.enabled && t.duration > budgetPerHour) {
      issues.push({
        path: ['tracers', type, 'duration'],
        message: `${formatDuration(t.duration)} is longer than capture.budgetPerHour (${formatDuration(budgetPerHour)}), so no capture could ever run`,
      });
    }
  }
  const m = tracers.memburst;
  if (m.growthWindow < m.interval) {
    issues.push({
      path: ['tracers', 'memburst', 'growthWindow'],
      message: `must be at least the sampling interval (${formatDuration(m.interval)}), got ${formatDuration(m.growthWindow)}`,
    });
  }
}

/**
 * Validates a parsed config value (what the YAML file held, or undefined for no file) and resolves
 * it: defaults, units, `host: auto`, absolute paths, token file, TLS files, the loopback rule.
 */
export function resolveConfig(
  raw: unknown,
  file: string | null,
  opts: ConfigOptions = {},
  locate?: (p: ConfigPath) => string | null
): ConfigResult {
  const cwd = opts.cwd ?? process.cwd();
  const baseDir = file ? dirname(file) : cwd;
  const warnings: string[] = [];
  const errors: string[] = [];
  const fmt = (i: ConfigIssue): string => {
    const at = locate?.(i.path);
    return at ? `${formatIssue(i)} (${at})` : formatIssue(i);
  };

  if (raw === null || raw === undefined) raw = {};
  const r = validateAgainst(ConfigSchema, raw);
  if (r.issues.length > 0) return { ok: false, errors: r.issues.map(fmt), file };
  const config = r.value as AgentConfig;
  const issues: ConfigIssue[] = [];

  // host
  // in a pod the host name is the pod's: AUTOTRACING_HOST (e.g. the downward API's spec.nodeName) wins
  if (config.host === 'auto') config.host = process.env.AUTOTRACING_HOST?.trim() || (opts.hostname ?? osHostname)();

  // paths: the default dataDir is relative to the working directory; paths written in a file are
  // relative to that file's directory.
  config.dataDir = resolvePath(has(raw, 'dataDir') ? baseDir : cwd, config.dataDir);

  // tokens
  const api = config.api;
  if (api.tokenFile !== null) {
    api.tokenFile = resolvePath(baseDir, api.tokenFile);
    if (has(raw, 'api', 'tokens')) {
      issues.push({ path: ['api', 'tokens'], message: 'set either api.tokens or api.tokenFile, not both' });
    } else {
      const t = readTokenFile(api.tokenFile, warnings);
      errors.push(...t.errors);
      if (t.tokens) api.tokens = t.tokens;
    }
  }

  // TLS
  const { tls } = api;
  if ((tls.cert === null) !== (tls.key === null)) {
    issues.push({ path: ['api', 'tls'], message: 'set both cert and key (or neither)' });
  } else if (tls.cert !== null && tls.key !== null) {
    tls.cert = resolvePath(baseDir, tls.cert);
    tls.key = resolvePath(baseDir, tls.key);
    for (const k of ['cert', 'key'] as const) {
      const e = checkReadable(tls[k]!);
      if (e) issues.push({ path: ['api', 'tls', k], message: e });
    }
  }

  // no tokens → loopback only
  const listen = parseListen(api.listen);
  const tokenCount = api.tokens.read.length + api.tokens.admin.length;
  if (!('error' in listen) && tokenCount === 0 && !isLoopbackHost(listen.host)) {
    issues.push({
      path: ['api', 'listen'],
      message: `${api.listen} is not a loopback address, and no tokens are configured: listening beyond this host needs api.tokens (read/admin) or api.tokenFile`,
    });
  }
  if (api.defaultPageSize > api.maxPageSize) {
    issues.push({
      path: ['api', 'defaultPageSize'],
      message: `must not exceed api.maxPageSize (${api.maxPageSize}), got ${api.defaultPageSize}`,
    });
  }

  tracerChecks(config.tracers, config.capture.budgetPerHour, issues);

  errors.push(...issues.map(fmt));
  if (errors.length > 0) return { ok: false, errors, file };
  return { ok: true, config, warnings, file };
}

/** Validates config text (YAML; JSON is YAML too). `file` names it in messages and anchors relative paths. */
export function parseConfigText(text: string, file: string | null, opts: ConfigOptions = {}): ConfigResult {
  const label = file ?? '(config)';
  const y = parseYaml(text, label);
  if (y.errors.length > 0) return { ok: false, errors: y.errors, file };
  return resolveConfig(y.value, file, opts, file ? y.locate : undefined);
}

/** Reads and validates a config file; `undefined` means no file: every default. Never throws for bad input. */
export function readConfig(file: string | undefined | null, opts: ConfigOptions = {}): ConfigResult {
  if (file === undefined || file === null) return resolveConfig(undefined, null, opts);
  const abs = resolvePath(opts.cwd ?? process.cwd(), file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    return {
      ok: false,
      errors: [`${abs}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`],
      file: abs,
    };
  }
  return parseConfigText(text, abs, opts);
}

/** Start-up: the config, or a ConfigError whose `errors` lists every problem. */
export function loadConfig(file?: string, opts: ConfigOptions = {}): AgentConfig {
  const r = readConfig(file, opts);
  if (!r.ok) throw new ConfigError(r.errors, r.file);
  return r.config;
}

/** The config an agent runs with when there is no file (cwd-relative ./data, loopback API). */
export function defaultConfig(opts: ConfigOptions = {}): AgentConfig {
  return loadConfig(undefined, opts);
}

function flatten(v: unknown, prefix: string, out: Map<string, string>): void {
  if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, JSON.stringify(v));
  }
}

/** Dotted key paths whose values differ between two configs (token lists are compared, never shown). */
export function diffConfig(a: AgentConfig, b: AgentConfig): string[] {
  const fa = new Map<string, string>();
  const fb = new Map<string, string>();
  flatten(a, '', fa);
  flatten(b, '', fb);
  const keys = new Set([...fa.keys(), ...fb.keys()]);
  return [...keys].filter((k) => fa.get(k) !== fb.get(k)).sort();
}

/**
 * SIGHUP: read the file again. On any error the caller keeps `previous` and logs `errors`; on success
 * it gets the new config and which keys changed (and which of those need a restart).
 */
export function reloadConfig(
  file: string | undefined | null,
  previous: AgentConfig,
  opts: ConfigOptions = {}
): ReloadResult {
  const r = readConfig(file, opts);
  if (!r.ok) return { ok: false, errors: r.errors };
  const changed = diffConfig(previous, r.config);
  const restartRequired = changed.filter((k) => RESTART_REQUIRED_KEYS.some((p) => k === p || k.startsWith(`${p}.`)));
  return { ok: true, config: r.config, warnings: r.warnings, changed, restartRequired };
}

export type TracerPatchResult = { ok: true; config: AgentConfig } | { ok: false; errors: string[] };

/**
 * PATCH /api/v1/tracers/:type: `patch` holds some of the tracer's keys (`enabled`, thresholds, …) in
 * config syntax; durations may also be plain numbers of milliseconds (what the API reports). Returns a
 * new config (the old one is not modified) or every problem, named `tracers.<type>.<key>`.
 */
export function applyTracerPatch(config: AgentConfig, type: TracerType, patch: unknown): TracerPatchResult {
  const schema = TRACER_SCHEMAS[type];
  if (!isPlainObject(patch)) return { ok: false, errors: [`tracers.${type}: expected an object of settings`] };
  const r = validateAgainst(schema, patch, { partial: true, bareNumbersAreMs: true }, ['tracers', type]);
  if (r.issues.length > 0) return { ok: false, errors: r.issues.map(formatIssue) };
  const next = structuredClone(config);
  Object.assign(next.tracers[type], r.value as object);
  const issues: ConfigIssue[] = [];
  tracerChecks(next.tracers, next.capture.budgetPerHour, issues);
  const mine = issues.filter((i) => i.path[1] === type);
  if (mine.length > 0) return { ok: false, errors: mine.map(formatIssue) };
  return { ok: true, config: next };
}

/** A tracer's keys other than the common ones: its thresholds and capture settings. */
export function tracerThresholds<T extends object>(tracerConfig: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(tracerConfig)) {
    if (!(COMMON_TRACER_KEYS as readonly string[]).includes(k)) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** A copy safe to log or serve: token values replaced by how many there are. */
export function redactConfig(config: AgentConfig): Omit<AgentConfig, 'api'> & {
  api: Omit<AgentConfig['api'], 'tokens'> & { tokens: { read: number; admin: number } };
} {
  const c = structuredClone(config);
  return { ...c, api: { ...c.api, tokens: { read: c.api.tokens.read.length, admin: c.api.tokens.admin.length } } };
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\-]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** iotracing include/exclude globs → a predicate on device names (`sda`, `nvme0n1`). Exclude wins. */
export function compileDeviceFilter(
  include: readonly string[],
  exclude: readonly string[]
): (device: string) => boolean {
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  return (device) => (inc.length === 0 || inc.some((r) => r.test(device))) && !exc.some((r) => r.test(device));
}
