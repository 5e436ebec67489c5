// Best-effort enrichment of ContainerRefs (name, pod, namespace, runtime fix-ups) from the optional
// sources. Never required: with every source off or failing, refs come back unchanged and the reasons
// say why.
import type { ContainerRef } from '../events/event';
import { DockerClient, type DockerContainerInfo, type DockerOptions } from './docker';
import { KubeletClient, type KubeletOptions, type KubeletPods } from './kubelet';

export interface EnricherOptions {
  /** Docker Engine API; default on (socket /var/run/docker.sock). false to disable. */
  docker?: DockerOptions | false;
  /** Kubelet pod list; default off. */
  kubelet?: KubeletOptions | false;
  /** Called once per distinct failure reason change (not every second). */
  log?: (message: string) => void;
}

export interface EnrichResult {
  refs: ContainerRef[];
  /** Why a source gave nothing this time (e.g. "docker /var/run/docker.sock: ENOENT: …"). */
  reasons: string[];
}

/** Applies docker and kubelet facts to one ref (pure). */
export function applyEnrichment(
  ref: ContainerRef,
  docker: Map<string, DockerContainerInfo> | null,
  kubelet: KubeletPods | null
): ContainerRef {
  const out: ContainerRef = { ...ref };
  const d = docker?.get(ref.id);
  if (d) {
    out.runtime = 'docker';
    out.name = d.labels['io.kubernetes.container.name'] ?? d.name ?? out.name;
    out.pod = d.labels['io.kubernetes.pod.name'] ?? out.pod;
    out.namespace = d.labels['io.kubernetes.pod.namespace'] ?? out.namespace;
  }
  const k = kubelet?.containers.get(ref.id);
  if (k) {
    out.name = k.name;
    out.pod = k.pod.name;
    out.namespace = k.pod.namespace;
    out.qos = out.qos ?? k.pod.qos;
    if (k.runtime && out.runtime === 'cgroup') out.runtime = k.runtime;
  } else if (ref.runtime === 'kubepods') {
    const p = kubelet?.pods.get(ref.id);
    if (p) {
      out.name = p.name;
      out.pod = p.name;
      out.namespace = p.namespace;
      out.qos = out.qos ?? p.qos;
    }
  }
  return out;
}

export class ContainerEnricher {
  private readonly docker: DockerClient | null;
  private readonly kubelet: KubeletClient | null;
  private readonly log: (message: string) => void;
  private lastReasons = '';

  constructor(opts: EnricherOptions = {}) {
    this.docker = opts.docker === false ? null : new DockerClient(opts.docker ?? {});
    this.kubelet = opts.kubelet ? new KubeletClient(opts.kubelet) : null;
    this.log = opts.log ?? (() => undefined);
  }

  /** Enriches refs with whatever the enabled sources know (each source cached for its TTL). */
  async enrich(refs: ContainerRef[]): Promise<EnrichResult> {
    const [d, k] = await Promise.all([this.docker?.containers() ?? null, this.kubelet?.pods() ?? null]);
    const reasons: string[] = [];
    if (d && !d.ok) reasons.push(d.reason);
    if (k && !k.ok) reasons.push(k.reason);
    const joined = reasons.join('; ');
    if (joined !== this.lastReasons) {
      if (joined) this.log(`container enrichment degraded: ${joined}`);
      else if (this.lastReasons) this.log('container enrichment recovered');
      this.lastReasons = joined;
    }
    const dockerMap = d && d.ok ? d.value : null;
    const kubeletPods = k && k.ok ? k.value : null;
    return { refs: refs.map((r) => applyEnrichment(r, dockerMap, kubeletPods)), reasons };
  }

  /** One ref (null passes through). */
  async enrichOne(ref: ContainerRef | null): Promise<ContainerRef | null> {
    if (!ref) return null;
    return (await this.enrich([ref])).refs[0] ?? ref;
  }
}
