// The containers of a host, found by walking the cgroup tree (no runtime needed). Cheap enough to
// run every second: one readdir per cgroup directory, no stat calls unless asked.
import { existsSync, readdirSync } from 'node:fs';
import type { ContainerRef } from '../events/event';
import { cgroupDir, detectCgroupLayout, type CgroupLayout } from '../host/cgroupLayout';
import type { CgroupDirs } from '../host/cgroupFiles';
import { hostPath } from '../host/fsutil';
import { identifyCgroup, type CgroupKind } from './identify';

export interface ListedCgroup {
  kind: CgroupKind;
  /** Identity; ref.cgroup is the path in the primary hierarchy (cpu on v1/hybrid, unified on v2). */
  ref: ContainerRef;
  podUid: string | null;
  /** Path in each hierarchy it was found in (they differ on hybrid hosts with docker's cgroupfs driver). */
  paths: { v1?: string; unified?: string };
  /** Absolute directories (root prefix included): v1 cpu, cpuacct, cpuset, memory, blkio and/or unified. */
  dirs: CgroupDirs;
}

export interface ListOptions {
  root?: string;
  layout?: CgroupLayout;
  /** Which kinds to return; default ['container']. */
  kinds?: CgroupKind[];
  /** Do not descend deeper than this many levels below the hierarchy root (default 16). */
  maxDepth?: number;
  /** Keep only v1 directories that exist (one stat each). Default false: a missing one reads as null anyway. */
  checkDirs?: boolean;
  /**
   * Also look inside containers for nested ones (kind / k3d nodes, docker-in-docker). Default false:
   * container cgroups are leaves in practice, and not reading them halves the cost of a listing.
   */
  nested?: boolean;
}

const V1_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'blkio'] as const;

interface Found {
  path: string;
  kind: CgroupKind;
  ref: ContainerRef;
  podUid: string | null;
}

/** Walks one hierarchy below `base` (absolute), calling identify on every directory path. */
function walk(base: string, maxDepth: number, kinds: Set<CgroupKind>, nested: boolean): Found[] {
  const out: Found[] = [];
  const stack: Array<{ dir: string; rel: string; depth: number }> = [{ dir: base, rel: '', depth: 0 }];
  while (stack.length) {
    const { dir, rel, depth } = stack.pop() as { dir: string; rel: string; depth: number };
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue; // removed while we walked
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const childRel = `${rel}/${e.name}`;
      const id = identifyCgroup(childRel);
      if (id && kinds.has(id.kind)) out.push({ path: childRel, kind: id.kind, ref: id.ref, podUid: id.podUid });
      if (id?.kind === 'container' && !nested) continue;
      if (depth + 1 < maxDepth) stack.push({ dir: `${dir}/${e.name}`, rel: childRel, depth: depth + 1 });
    }
  }
  return out;
}

function keyOf(f: Found): string {
  return f.kind === 'unit' ? `unit:${f.path}` : `${f.ref.runtime}:${f.ref.id}`;
}

/**
 * Lists containers (and optionally pods and systemd units) by walking the cpu hierarchy on v1, the
 * unified one on v2, and both on hybrid hosts (merged by identity), sorted by cgroup path.
 */
export function listContainers(opts: ListOptions = {}): ListedCgroup[] {
  const root = opts.root ?? '/';
  const layout = opts.layout ?? detectCgroupLayout(root);
  const kinds = new Set<CgroupKind>(opts.kinds ?? ['container']);
  const maxDepth = opts.maxDepth ?? 16;
  const byKey = new Map<string, ListedCgroup>();

  const v1 =
    layout.mode === 'v1' || layout.mode === 'hybrid' ? (layout.v1.get('cpu') ?? layout.v1.get('cpuacct')) : undefined;
  if (v1) {
    for (const f of walk(hostPath(root, v1.mountPoint), maxDepth, kinds, opts.nested ?? false)) {
      const dirs: CgroupDirs = {};
      for (const c of V1_CONTROLLERS) {
        const d = cgroupDir(layout, c, f.path);
        if (d && (!opts.checkDirs || existsSync(d))) dirs[c] = d;
      }
      byKey.set(keyOf(f), { kind: f.kind, ref: f.ref, podUid: f.podUid, paths: { v1: f.path }, dirs });
    }
  }
  if (layout.unified && (layout.mode === 'v2' || layout.mode === 'hybrid')) {
    for (const f of walk(hostPath(root, layout.unified.mountPoint), maxDepth, kinds, opts.nested ?? false)) {
      const dir = cgroupDir(layout, 'unified', f.path) as string;
      const k = keyOf(f);
      const have = byKey.get(k);
      if (have) {
        have.paths.unified = f.path;
        have.dirs.unified = dir;
      } else {
        byKey.set(k, {
          kind: f.kind,
          ref: f.ref,
          podUid: f.podUid,
          paths: { unified: f.path },
          dirs: { unified: dir },
        });
      }
    }
  }
  return [...byKey.values()].sort((a, b) => (a.ref.cgroup < b.ref.cgroup ? -1 : a.ref.cgroup > b.ref.cgroup ? 1 : 0));
}
