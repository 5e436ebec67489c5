// Optional: names, images and Kubernetes labels of docker containers from the Docker Engine API on
// its unix socket. Best effort: short timeout, cached, failures returned as a reason.
import { getJson, TtlCache } from './http';

export interface DockerContainerInfo {
  id: string;
  /** First name without the leading '/'. */
  name: string | null;
  image: string | null;
  state: string | null;
  labels: Record<string, string>;
}

export type SourceResult<T> = { ok: true; value: T; at: number } | { ok: false; reason: string; at: number };

export interface DockerOptions {
  socketPath?: string;
  timeoutMs?: number;
  /** How long a result (or a failure) is reused; default 5000 ms. */
  ttlMs?: number;
  now?: () => number;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** Parses GET /containers/json. Entries without an Id are skipped. */
export function parseDockerContainers(body: unknown): Map<string, DockerContainerInfo> {
  const out = new Map<string, DockerContainerInfo>();
  if (!Array.isArray(body)) throw new Error('unexpected /containers/json body');
  for (const c of body as unknown[]) {
    if (typeof c !== 'object' || c === null) continue;
    const o = c as Record<string, unknown>;
    const id = str(o.Id);
    if (!id) continue;
    const names = Array.isArray(o.Names)
      ? (o.Names as unknown[]).filter((n): n is string => typeof n === 'string')
      : [];
    const labels: Record<string, string> = {};
    if (typeof o.Labels === 'object' && o.Labels !== null) {
      for (const [k, v] of Object.entries(o.Labels as Record<string, unknown>))
        if (typeof v === 'string') labels[k] = v;
    }
    out.set(id, { id, name: names[0]?.replace(/^\//, '') ?? null, image: str(o.Image), state: str(o.State), labels });
  }
  return out;
}

export class DockerClient {
  readonly socketPath: string;
  private readonly cache: TtlCache<SourceResult<Map<string, DockerContainerInfo>>>;

  constructor(opts: DockerOptions = {}) {
    this.socketPath = opts.socketPath ?? '/var/run/docker.sock';
    const timeoutMs = opts.timeoutMs ?? 500;
    const now = opts.now ?? Date.now;
    this.cache = new TtlCache(
      opts.ttlMs ?? 5000,
      async () => {
        try {
          const body = await getJson({ socketPath: this.socketPath, url: '/containers/json', timeoutMs });
          return { ok: true as const, value: parseDockerContainers(body), at: now() };
        } catch (e) {
          return { ok: false as const, reason: `docker ${this.socketPath}: ${(e as Error).message}`, at: now() };
        }
      },
      now
    );
  }

  /** Running containers by full id (cached). */
  containers(): Promise<SourceResult<Map<string, DockerContainerInfo>>> {
    return this.cache.get();
  }
}
