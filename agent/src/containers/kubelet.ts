// Optional: pod names, namespaces, container names and QoS classes from the kubelet's /pods endpoint
// (off by default). Best effort like the docker source.
import { readFileSync } from 'node:fs';
import { getJson, TtlCache } from './http';
import type { SourceResult } from './docker';

export interface KubeletOptions {
  /** Default https://127.0.0.1:10250/pods (needs a token allowed to get nodes/proxy). */
  url?: string;
  /** Bearer token file; default the service account token. Read on every fetch (tokens rotate). */
  tokenFile?: string | null;
  /** CA bundle for the kubelet's serving certificate. */
  caFile?: string | null;
  /** Kubelet serving certificates are often self-signed; default false (verify). */
  insecureSkipVerify?: boolean;
  timeoutMs?: number;
  ttlMs?: number;
  now?: () => number;
}

export interface KubeletPodInfo {
  uid: string;
  name: string;
  namespace: string;
  /** Lower case: guaranteed | burstable | besteffort. */
  qos: string | null;
}

export interface KubeletContainerInfo {
  /** Container id without the runtime scheme. */
  id: string;
  /** Runtime from the id's scheme (containerd, cri-o → crio, docker). */
  runtime: string | null;
  name: string;
  pod: KubeletPodInfo;
}

export interface KubeletPods {
  pods: Map<string, KubeletPodInfo>;
  containers: Map<string, KubeletContainerInfo>;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Parses a v1 PodList (GET /pods). */
export function parseKubeletPods(body: unknown): KubeletPods {
  const pods = new Map<string, KubeletPodInfo>();
  const containers = new Map<string, KubeletContainerInfo>();
  const items = obj(body).items;
  if (!Array.isArray(items)) throw new Error('unexpected /pods body');
  for (const item of items) {
    const meta = obj(obj(item).metadata);
    const status = obj(obj(item).status);
    if (typeof meta.uid !== 'string' || typeof meta.name !== 'string') continue;
    const pod: KubeletPodInfo = {
      uid: meta.uid,
      name: meta.name,
      namespace: typeof meta.namespace === 'string' ? meta.namespace : 'default',
      qos: typeof status.qosClass === 'string' ? status.qosClass.toLowerCase() : null,
    };
    pods.set(pod.uid, pod);
    for (const key of ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses']) {
      for (const cs of arr(status[key])) {
        const c = obj(cs);
        if (typeof c.containerID !== 'string' || typeof c.name !== 'string') continue;
        const m = /^([a-z-]+):\/\/(.+)$/.exec(c.containerID);
        const id = m ? (m[2] as string) : c.containerID;
        const scheme = m ? (m[1] as string) : null;
        containers.set(id, { id, runtime: scheme === 'cri-o' ? 'crio' : scheme, name: c.name, pod });
      }
    }
  }
  return { pods, containers };
}

export class KubeletClient {
  readonly url: string;
  private readonly cache: TtlCache<SourceResult<KubeletPods>>;

  constructor(opts: KubeletOptions = {}) {
    this.url = opts.url ?? 'https://127.0.0.1:10250/pods';
    const tokenFile =
      opts.tokenFile === undefined ? '/var/run/secrets/kubernetes.io/serviceaccount/token' : opts.tokenFile;
    const timeoutMs = opts.timeoutMs ?? 1000;
    const now = opts.now ?? Date.now;
    this.cache = new TtlCache(
      opts.ttlMs ?? 10_000,
      async () => {
        try {
          const headers: Record<string, string> = {};
          if (tokenFile) headers.Authorization = `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`;
          const body = await getJson({
            url: this.url,
            timeoutMs,
            headers,
            ca: opts.caFile ? readFileSync(opts.caFile) : undefined,
            rejectUnauthorized: !opts.insecureSkipVerify,
          });
          return { ok: true as const, value: parseKubeletPods(body), at: now() };
        } catch (e) {
          return { ok: false as const, reason: `kubelet ${this.url}: ${(e as Error).message}`, at: now() };
        }
      },
      now
    );
  }

  pods(): Promise<SourceResult<KubeletPods>> {
    return this.cache.get();
  }
}
