// One datasource instance per configured Grafana datasource (keyed by uid), rebuilt whenever its
// settings change (fingerprint of lastUpdated, jsonData and secure data). It owns the agent clients
// (keep-alive sockets), the concurrency semaphore, DNS discovery and small caches.
import { AgentClient } from './agents/client';
import { Discovery, type DnsLike } from './agents/discovery';
import { Semaphore } from './agents/fanout';
import type { Logger } from './log';
import type { DataSourceInstanceSettings } from './plugin/messages';
import { parseSettings, settingsFingerprint, type AgentConfig, type DatasourceSettings } from './settings';

export interface AgentSet {
  clients: AgentClient[];
  /** set when DNS discovery failed (explicit agents still work) */
  discoveryError: string | null;
}

export class DatasourceInstance {
  readonly semaphore: Semaphore;
  private readonly discovery: Discovery | null;
  private readonly clients = new Map<string, AgentClient>();
  /** agent name → host name it reported (from info, events or counts) */
  readonly hostOf = new Map<string, string>();
  /** event id → agent name that holds it (bounded) */
  private readonly eventAgent = new Map<string, string>();
  private disposed = false;

  constructor(
    readonly settings: DatasourceSettings,
    readonly fingerprint: string,
    readonly log: Logger,
    resolver?: DnsLike,
    private readonly observe?: (outcome: string) => void
  ) {
    this.semaphore = new Semaphore(settings.concurrency);
    this.discovery = settings.discovery ? new Discovery(settings.discovery, resolver) : null;
  }

  private client(cfg: AgentConfig): AgentClient {
    const key = `${cfg.name}\0${cfg.url}`;
    let c = this.clients.get(key);
    if (!c) {
      c = new AgentClient(
        cfg,
        this.settings.token,
        this.settings.timeoutMs,
        Math.min(this.settings.concurrency, 16),
        this.observe
      );
      this.clients.set(key, c);
    }
    return c;
  }

  /** Every agent: the configured ones, then the discovered ones not already configured. */
  async agents(): Promise<AgentSet> {
    const configs: AgentConfig[] = [...this.settings.agents];
    let discoveryError: string | null = null;
    if (this.discovery) {
      try {
        const urls = new Set(configs.map((c) => c.url));
        for (const d of await this.discovery.agents()) if (!urls.has(d.url)) configs.push(d);
      } catch (e) {
        discoveryError = (e as Error).message;
      }
    }
    const wanted = new Set(configs.map((c) => `${c.name}\0${c.url}`));
    for (const [key, c] of this.clients) {
      if (!wanted.has(key)) {
        c.close();
        this.clients.delete(key);
      }
    }
    return { clients: configs.map((c) => this.client(c)), discoveryError };
  }

  rememberEvent(id: string, agent: string): void {
    if (this.eventAgent.size >= 10_000) {
      const first = this.eventAgent.keys().next();
      if (!first.done) this.eventAgent.delete(first.value);
    }
    this.eventAgent.set(id, agent);
  }

  agentOfEvent(id: string): string | undefined {
    return this.eventAgent.get(id);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

export class InstanceManager {
  private readonly instances = new Map<string, DatasourceInstance>();

  constructor(
    private readonly log: Logger,
    private readonly resolver?: DnsLike,
    private readonly observe?: (outcome: string) => void
  ) {}

  /** The instance for these settings, rebuilt if they changed. Throws SettingsError for bad settings. */
  get(s: DataSourceInstanceSettings | null | undefined): DatasourceInstance {
    if (!s) throw new Error('the request carries no datasource instance settings');
    const key = s.uid || `id:${s.id}`;
    const fp = settingsFingerprint(s);
    const current = this.instances.get(key);
    if (current && current.fingerprint === fp) return current;
    const settings = parseSettings(s);
    const next = new DatasourceInstance(
      settings,
      fp,
      this.log.child({ datasource: settings.uid || settings.name }),
      this.resolver,
      this.observe
    );
    if (current) {
      current.dispose();
      this.log.info('datasource settings changed, instance rebuilt', { uid: key, agents: settings.agents.length });
    } else {
      this.log.info('datasource instance created', {
        uid: key,
        agents: settings.agents.length,
        discovery: settings.discovery ?? '',
      });
    }
    this.instances.set(key, next);
    return next;
  }

  get size(): number {
    return this.instances.size;
  }

  disposeAll(): void {
    for (const i of this.instances.values()) i.dispose();
    this.instances.clear();
  }
}
