// Agent discovery through DNS (e.g. a Kubernetes headless Service in front of the agent DaemonSet).
//
// The setting `discovery` is `[http://|https://]NAME[:PORT]`:
// - NAME starting with "_" (e.g. `_api._tcp.huatuo-agent.monitoring.svc.cluster.local`) is looked up as
//   an SRV record set: one agent per target, on the port the record gives; an explicit :PORT overrides it.
// - any other NAME is looked up for A and AAAA records (through getaddrinfo, so /etc/hosts counts): one
//   agent per address, on PORT, or 19704 (the agent's default API port) when none is given.
// The scheme defaults to http. Discovered agents are named `NAME-or-target/address:port`. Results
// are cached for 30 s; a failed lookup keeps the last good answer for up to 5 minutes.
import * as dns from 'node:dns';
import { normaliseAgentUrl, type AgentConfig } from '../settings';

export const DEFAULT_AGENT_PORT = 19704;
export const DISCOVERY_TTL_MS = 30_000;
export const DISCOVERY_STALE_MS = 300_000;
const MAX_DISCOVERED = 2000;

export interface DiscoverySpec {
  scheme: 'http' | 'https';
  name: string;
  port: number | null;
  srv: boolean;
}

export function parseDiscovery(raw: string): DiscoverySpec {
  let text = raw.trim();
  let scheme: 'http' | 'https' = 'http';
  const m = /^(https?):\/\//i.exec(text);
  if (m) {
    scheme = m[1]!.toLowerCase() as 'http' | 'https';
    text = text.slice(m[0].length);
  }
  text = text.replace(/\/+$/, '');
  let port: number | null = null;
  const pm = /^(.*):(\d{1,5})$/.exec(text);
  if (pm && !pm[1]!.includes(':')) {
    text = pm[1]!;
    port = Number(pm[2]);
    if (port < 1 || port > 65535) throw new Error(`discovery port ${port} is out of range`);
  }
  if (!/^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$/.test(text))
    throw new Error(`discovery ${JSON.stringify(raw)} is not a DNS name`);
  return { scheme, name: text.replace(/\.$/, ''), port, srv: text.startsWith('_') };
}

/** The DNS operations discovery needs; injectable for tests. */
export interface DnsLike {
  lookupAll(name: string): Promise<Array<{ address: string; family: number }>>;
  resolveSrv(name: string): Promise<Array<{ name: string; port: number; priority: number; weight: number }>>;
}

export const systemDns: DnsLike = {
  lookupAll: (name) => dns.promises.lookup(name, { all: true, verbatim: true }),
  resolveSrv: (name) => dns.promises.resolveSrv(name),
};

function hostForUrl(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

export async function discoverAgents(raw: string, resolver: DnsLike = systemDns): Promise<AgentConfig[]> {
  const spec = parseDiscovery(raw);
  const out: AgentConfig[] = [];
  const seen = new Set<string>();
  const add = (name: string, host: string, port: number): void => {
    const url = normaliseAgentUrl(`${spec.scheme}://${hostForUrl(host)}:${port}`);
    if (seen.has(url) || out.length >= MAX_DISCOVERED) return;
    seen.add(url);
    out.push({ name, url });
  };
  if (spec.srv) {
    const records = await resolver.resolveSrv(spec.name);
    records.sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name));
    for (const r of records) {
      const port = spec.port ?? r.port;
      const target = r.name.replace(/\.$/, '');
      add(`${target}:${port}`, target, port);
    }
  } else {
    const addrs = await resolver.lookupAll(spec.name);
    const port = spec.port ?? DEFAULT_AGENT_PORT;
    for (const a of addrs) add(`${spec.name}/${a.address}:${port}`, a.address, port);
  }
  return out;
}

/** Cached discovery for one datasource instance. */
export class Discovery {
  private cache: { at: number; agents: AgentConfig[] } | null = null;
  private lastError: string | null = null;
  private inflight: Promise<AgentConfig[]> | null = null;

  constructor(
    readonly spec: string,
    private readonly resolver: DnsLike = systemDns,
    private readonly now: () => number = Date.now
  ) {}

  /** Discovered agents; throws only when no answer was ever had (or it is too old). */
  async agents(): Promise<AgentConfig[]> {
    const t = this.now();
    if (this.cache && t - this.cache.at < DISCOVERY_TTL_MS) return this.cache.agents;
    if (!this.inflight) {
      this.inflight = discoverAgents(this.spec, this.resolver)
        .then((agents) => {
          this.cache = { at: this.now(), agents };
          this.lastError = null;
          return agents;
        })
        .finally(() => {
          this.inflight = null;
        });
    }
    try {
      return await this.inflight;
    } catch (e) {
      this.lastError = (e as Error).message;
      if (this.cache && t - this.cache.at < DISCOVERY_STALE_MS) return this.cache.agents;
      throw new Error(`DNS discovery of ${this.spec} failed: ${this.lastError}`);
    }
  }

  get error(): string | null {
    return this.lastError;
  }
}
