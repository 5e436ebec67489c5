// The host's containers, listed at most once per refresh interval and shared by every tracer in a
// tick (cpuidle, dload, memburst attribution), plus lookups by id, id prefix or name.
import { listContainers, type ListedCgroup, containerForPid } from '../containers';
import { detectCgroupLayout, type CgroupLayout } from '../host/cgroupLayout';
import type { ContainerRef } from '../events/event';

export class ContainerIndex {
  private cached: ListedCgroup[] = [];
  private at = 0;
  readonly layout: CgroupLayout;

  constructor(private readonly opts: { root?: string; maxAgeMs?: number; layout?: CgroupLayout } = {}) {
    this.layout = opts.layout ?? detectCgroupLayout(opts.root ?? '/');
  }

  list(now = Date.now()): ListedCgroup[] {
    if (now - this.at >= (this.opts.maxAgeMs ?? 900)) {
      this.cached = listContainers({ root: this.opts.root, layout: this.layout });
      this.at = now;
    }
    return this.cached;
  }

  /** By full id, an id prefix of at least 4 characters, a name, or a pod name. */
  find(query: string, now = Date.now()): ListedCgroup | null {
    const q = query.trim();
    if (!q) return null;
    const all = this.list(now);
    const exact = all.find((c) => c.ref.id === q || c.ref.name === q);
    if (exact) return exact;
    if (q.length >= 4) {
      const byPrefix = all.filter((c) => c.ref.id.startsWith(q));
      if (byPrefix.length === 1) return byPrefix[0]!;
    }
    const byPod = all.filter((c) => c.ref.pod === q);
    return byPod.length === 1 ? byPod[0]! : null;
  }

  forPid(pid: number): ContainerRef | null {
    try {
      return containerForPid(pid, { root: this.opts.root, layout: this.layout });
    } catch {
      return null;
    }
  }
}
