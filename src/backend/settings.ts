// Datasource settings (DESIGN.md contract): jsonData { agents: [{ name, url }], discovery?, timeoutMs?,
// concurrency? }, secureJsonData { token }. Parsed strictly enough to give a clear error, leniently
// enough that an unknown extra key from a newer frontend does not break queries.
import { createHash } from 'node:crypto';
import type { DataSourceInstanceSettings } from './plugin/messages';

export interface AgentConfig {
  name: string;
  /** base URL, http(s)://host:port, no path or query */
  url: string;
}

export interface DatasourceSettings {
  uid: string;
  name: string;
  agents: AgentConfig[];
  /** DNS name for discovery: `[http(s)://]name[:port]`, or an SRV name starting with "_" */
  discovery: string | null;
  timeoutMs: number;
  concurrency: number;
  token: string | null;
}

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_CONCURRENCY = 16;
export const MAX_AGENTS = 2000;

export class SettingsError extends Error {}

/** Normalises an agent URL: http(s) only, no credentials, path or query; returns the origin. */
export function normaliseAgentUrl(raw: string): string {
  let u: URL;
  const text = raw.trim();
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new SettingsError(`agent URL ${JSON.stringify(raw)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new SettingsError(`agent URL ${JSON.stringify(raw)} must be http:// or https://`);
  }
  if (u.username || u.password)
    throw new SettingsError(`agent URL ${JSON.stringify(raw)} must not carry credentials (use the token)`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    throw new SettingsError(`agent URL ${JSON.stringify(raw)} must be a base URL without path or query`);
  }
  return u.origin;
}

function positiveInt(v: unknown, name: string, dflt: number, max: number): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0)
    throw new SettingsError(`jsonData.${name} must be a positive number`);
  return Math.min(Math.floor(n), max);
}

export function parseSettings(s: DataSourceInstanceSettings): DatasourceSettings {
  let json: Record<string, unknown> = {};
  const text = Buffer.from(s.jsonData ?? new Uint8Array())
    .toString('utf8')
    .trim();
  if (text !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new SettingsError(`jsonData is not valid JSON: ${(e as Error).message}`);
    }
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      json = parsed as Record<string, unknown>;
    else if (parsed !== null) throw new SettingsError('jsonData must be an object');
  }

  const agents: AgentConfig[] = [];
  const seenNames = new Set<string>();
  const rawAgents = json.agents ?? [];
  if (!Array.isArray(rawAgents)) throw new SettingsError('jsonData.agents must be a list of { name, url }');
  rawAgents.forEach((a: unknown, i) => {
    if (a === null || typeof a !== 'object') throw new SettingsError(`jsonData.agents[${i}] must be { name, url }`);
    const { name, url } = a as { name?: unknown; url?: unknown };
    if (typeof url !== 'string' || url.trim() === '') throw new SettingsError(`jsonData.agents[${i}].url is missing`);
    const origin = normaliseAgentUrl(url);
    let agentName = typeof name === 'string' && name.trim() !== '' ? name.trim() : new URL(origin).host;
    if (seenNames.has(agentName)) agentName = `${agentName}#${i}`;
    seenNames.add(agentName);
    agents.push({ name: agentName, url: origin });
  });
  if (agents.length > MAX_AGENTS) throw new SettingsError(`at most ${MAX_AGENTS} agents are supported`);

  let discovery: string | null = null;
  if (json.discovery !== undefined && json.discovery !== null && json.discovery !== '') {
    if (typeof json.discovery !== 'string') throw new SettingsError('jsonData.discovery must be a DNS name');
    discovery = json.discovery.trim();
  }

  const token = s.decryptedSecureJsonData?.token;
  return {
    uid: s.uid,
    name: s.name,
    agents,
    discovery,
    timeoutMs: positiveInt(json.timeoutMs, 'timeoutMs', DEFAULT_TIMEOUT_MS, 300_000),
    concurrency: positiveInt(json.concurrency, 'concurrency', DEFAULT_CONCURRENCY, 256),
    token: typeof token === 'string' && token !== '' ? token : null,
  };
}

/** What identifies one version of a datasource's settings: rebuild the instance when it changes. */
export function settingsFingerprint(s: DataSourceInstanceSettings): string {
  const h = createHash('sha256');
  h.update(String(s.uid ?? ''));
  h.update('\0');
  h.update(String(s.id ?? ''));
  h.update('\0');
  h.update(String(s.lastUpdatedMS ?? 0));
  h.update('\0');
  h.update(Buffer.from(s.jsonData ?? new Uint8Array()));
  h.update('\0');
  const secure = s.decryptedSecureJsonData ?? {};
  for (const k of Object.keys(secure).sort()) {
    h.update(k);
    h.update('=');
    h.update(secure[k] ?? '');
    h.update('\0');
  }
  return h.digest('hex');
}
