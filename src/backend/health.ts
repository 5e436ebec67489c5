// CheckHealth: every agent reachable (/healthz), authorised (/api/v1/info with the token) and its
// version. OK only when all are; ERROR names each broken agent with the reason. jsonDetails carries
// the per-agent results for the config page.
import type { InfoResponse } from '../../agent/src/api/schemas';
import { AgentError, type AgentClient } from './agents/client';
import { fanOut } from './agents/fanout';
import type { DatasourceInstance } from './instance';
import { HealthStatus, type CheckHealthResponse } from './plugin/messages';
import { SettingsError } from './settings';

export interface AgentHealth {
  name: string;
  url: string;
  ok: boolean;
  reachable: boolean;
  authorised: boolean;
  host: string | null;
  version: string | null;
  kernel: string | null;
  latencyMs: number | null;
  error: string | null;
  info: InfoResponse | null;
}

/** Probes one agent; never throws. */
export async function probeAgent(client: AgentClient, signal?: AbortSignal): Promise<AgentHealth> {
  const h: AgentHealth = {
    name: client.name,
    url: client.config.url,
    ok: false,
    reachable: false,
    authorised: false,
    host: null,
    version: null,
    kernel: null,
    latencyMs: null,
    error: null,
    info: null,
  };
  const t0 = performance.now();
  try {
    const res = await client.health({ signal });
    h.latencyMs = Math.round((performance.now() - t0) * 10) / 10;
    h.reachable = true;
    if (res.status !== 200) {
      h.error = `not healthy (/healthz answered HTTP ${res.status})`;
      return h;
    }
  } catch (e) {
    h.error = e instanceof AgentError ? `unreachable: ${e.reason}` : `unreachable: ${(e as Error).message}`;
    return h;
  }
  try {
    const info = await client.info({ signal });
    h.authorised = true;
    h.host = info.host;
    h.version = info.version;
    h.kernel = info.kernel;
    h.info = info;
    h.ok = true;
  } catch (e) {
    if (e instanceof AgentError) {
      if (e.kind === 'unauthorised' || e.kind === 'forbidden') h.error = `not authorised: ${e.reason}`;
      else h.error = e.reason;
    } else {
      h.error = (e as Error).message;
    }
  }
  return h;
}

/** Probes every agent of the instance with the fan-out rules (cap, per-agent timeout). */
export async function probeAll(
  inst: DatasourceInstance,
  signal?: AbortSignal
): Promise<{ agents: AgentHealth[]; discoveryError: string | null }> {
  const set = await inst.agents();
  const res = await fanOut(set.clients, (c, sig) => probeAgent(c, sig), {
    semaphore: inst.semaphore,
    timeoutMs: inst.settings.timeoutMs,
    signal,
  });
  const byName = new Map(res.ok.map((r) => [r.agent, r.value]));
  const failedByName = new Map(res.failed.map((f) => [f.agent, f]));
  const agents = set.clients.map((c): AgentHealth => {
    const got = byName.get(c.name);
    if (got) {
      if (got.host) inst.hostOf.set(c.name, got.host);
      return got;
    }
    const f = failedByName.get(c.name);
    return {
      name: c.name,
      url: c.config.url,
      ok: false,
      reachable: false,
      authorised: false,
      host: null,
      version: null,
      kernel: null,
      latencyMs: null,
      error: f ? `unreachable: ${f.reason}` : 'no answer',
      info: null,
    };
  });
  return { agents, discoveryError: set.discoveryError };
}

export async function checkHealth(
  getInstance: () => DatasourceInstance,
  signal?: AbortSignal
): Promise<CheckHealthResponse> {
  const details = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));
  let inst: DatasourceInstance;
  try {
    inst = getInstance();
  } catch (e) {
    const msg = e instanceof SettingsError ? `Invalid settings: ${e.message}` : (e as Error).message;
    return { status: HealthStatus.ERROR, message: msg, jsonDetails: details({ agents: [], error: msg }) };
  }
  const { agents, discoveryError } = await probeAll(inst, signal);
  const summary = agents.map(({ info: _info, ...rest }) => ({ ...rest, capabilities: _info?.capabilities ?? null }));
  const jsonDetails = details({ agents: summary, discovery: inst.settings.discovery, discoveryError });
  if (agents.length === 0) {
    const msg = discoveryError
      ? `No agents: ${discoveryError}`
      : 'No agents configured: add agents (name and URL) or a DNS discovery name';
    return { status: HealthStatus.ERROR, message: msg, jsonDetails };
  }
  const broken = agents.filter((a) => !a.ok);
  const versions = [...new Set(agents.filter((a) => a.version).map((a) => a.version!))];
  const versionText = versions.length > 0 ? ` (version ${versions.join(', ')})` : '';
  if (broken.length === 0 && !discoveryError) {
    return {
      status: HealthStatus.OK,
      message: `${agents.length} agent${agents.length === 1 ? '' : 's'} reachable and authorised${versionText}`,
      jsonDetails,
    };
  }
  const parts = broken.slice(0, 10).map((a) => `${a.name} (${a.url}): ${a.error}`);
  if (broken.length > 10) parts.push(`and ${broken.length - 10} more`);
  if (discoveryError) parts.push(`discovery: ${discoveryError}`);
  return {
    status: HealthStatus.ERROR,
    message: `${broken.length} of ${agents.length} agent${agents.length === 1 ? '' : 's'} failed: ${parts.join('; ')}`,
    jsonDetails,
  };
}
