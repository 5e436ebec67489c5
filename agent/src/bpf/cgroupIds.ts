// Kernfs cgroup ids (what BPF programs read from task->cgroups) → the container they belong to. A
// cgroup directory's inode number is its kernfs id; ids are unique within one hierarchy only, so the v1
// hierarchy of one controller (cpu for dload, memory for memburst) and the unified one are kept apart.
// Sub-cgroups inside a container (systemd in a container, nested runtimes) map to the container too.
import fs from 'node:fs';
import path from 'node:path';
import type { ListedCgroup } from '../containers';

export type V1Controller = 'cpu' | 'memory';

const MAX_DESCENDANTS = 256;
const MAX_DEPTH = 8;

function inode(dir: string): bigint | null {
  try {
    return fs.statSync(dir, { bigint: true }).ino;
  } catch {
    return null;
  }
}

export class CgroupIdResolver {
  private byV1 = new Map<bigint, ListedCgroup>();
  private byDfl = new Map<bigint, ListedCgroup>();
  private scannedAt = 0;
  private lastKeys = '';

  constructor(
    private readonly controller: V1Controller,
    private readonly opts: { rescanMs?: number } = {}
  ) {}

  private static key(c: ListedCgroup): string {
    return `${c.ref.runtime}:${c.ref.id}:${c.dirs.cpu ?? ''}:${c.dirs.memory ?? ''}:${c.dirs.unified ?? ''}`;
  }

  /** Bring the maps up to date with a container listing: new containers are looked up at once,
   *  sub-cgroups when the set changes and every rescanMs (default 30 s). */
  update(list: readonly ListedCgroup[], now = Date.now()): void {
    const keys = list.map(CgroupIdResolver.key);
    const joined = keys.join('\n');
    const rescan = joined !== this.lastKeys || now - this.scannedAt >= (this.opts.rescanMs ?? 30_000);
    if (!rescan) return;
    this.lastKeys = joined;
    this.scannedAt = now;
    this.byV1.clear();
    this.byDfl.clear();
    for (const c of list) {
      // the container directory first, then its sub-cgroups (ids are unique, so order only documents intent)
      for (const id of this.ids(c.dirs[this.controller])) this.byV1.set(id, c);
      for (const id of this.ids(c.dirs.unified)) this.byDfl.set(id, c);
    }
  }

  /** Ids of a container directory and its sub-cgroups (bounded). */
  private ids(dir: string | undefined): bigint[] {
    if (!dir) return [];
    const top = inode(dir);
    if (top === null) return [];
    const out = [top];
    const stack: Array<{ d: string; depth: number }> = [{ d: dir, depth: 0 }];
    while (stack.length && out.length < MAX_DESCENDANTS) {
      const { d, depth } = stack.pop()!;
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(d, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        const sub = path.join(d, e.name);
        const id = inode(sub);
        if (id !== null) out.push(id);
        if (depth + 1 < MAX_DEPTH) stack.push({ d: sub, depth: depth + 1 });
      }
    }
    return out;
  }

  /** The container of a task from its two cgroup ids: the v1 hierarchy first (hybrid hosts with the
   *  cgroupfs driver put containers there), then the unified one. */
  resolve(cgV1: bigint, cgDfl: bigint): ListedCgroup | null {
    return this.byV1.get(cgV1) ?? this.byDfl.get(cgDfl) ?? null;
  }

  /** How many cgroup ids map to containers (for tests and diagnostics). */
  get size(): number {
    return this.byV1.size + this.byDfl.size;
  }
}
