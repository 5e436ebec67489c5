// Absolute paths for the files the kernel named. The BPF program walks each file's dentry up to the
// root of its filesystem (any filesystem: it only uses the VFS dentry tree) and sends the components;
// here the mount point is added from mountinfo: the filesystem is found by its device number (s_dev,
// the same st_dev stat(2) reports) and the mount whose root (4th mountinfo field, for bind mounts and
// subvolumes) contains the file. When the agent's mount namespace does not have that filesystem, the
// process's own /proc/PID/mountinfo is tried, then its open file descriptors.
//
// Limits: one name per file (a hard-linked file shows the name its first cached dentry has); a file
// whose dentry left the cache (rare while it is in use) or whose filesystem is mounted only in
// another namespace of a process that is gone has no path (the inode and device are still given);
// files inside containers get the host path of the directory backing them (the overlay upper/lower
// directory, or the bind-mounted volume).
import fs from 'node:fs';

export interface MountDev {
  mountId: number;
  parentId: number;
  major: number;
  minor: number;
  /** root of the mount within its filesystem */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** /proc/PID/mountinfo with the device number of each mount's filesystem. */
export function parseMountinfoDevs(text: string): MountDev[] {
  const out: MountDev[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left.length < 6) continue;
    const m = /^(\d+):(\d+)$/.exec(left[2] ?? '');
    if (!m) continue;
    out.push({
      mountId: Number(left[0]),
      parentId: Number(left[1]),
      major: Number(m[1]),
      minor: Number(m[2]),
      root: unescape(left[3]!),
      mountPoint: unescape(left[4]!),
      fsType: right[0] ?? '',
      source: unescape(right[1] ?? ''),
    });
  }
  return out;
}

/** "/a/b/c" from the components the kernel sent (root first). */
export function relativePath(components: readonly string[]): string {
  return '/' + components.join('/');
}

function under(rel: string, root: string): string | null {
  if (root === '/') return rel;
  if (rel === root) return '/';
  if (rel.startsWith(root + '/')) return rel.slice(root.length);
  return null;
}

function joinMount(mountPoint: string, rest: string): string {
  if (rest === '/') return mountPoint;
  return mountPoint === '/' ? rest : mountPoint + rest;
}

/**
 * The absolute path of a file given its path from its filesystem's root, among mounts of that
 * filesystem (same major:minor). The mount nearest the filesystem's root wins (a plain mount before
 * a bind mount of a subdirectory), then the earliest; mounts hidden under a later mount on the same
 * mount point are skipped.
 */
export function resolveMountPath(
  rel: string,
  major: number,
  minor: number,
  mounts: readonly MountDev[]
): { path: string; mountPoint: string; fsType: string } | null {
  const shadowed = new Set<number>();
  const lastOnPoint = new Map<string, MountDev>();
  for (const m of mounts) {
    const prev = lastOnPoint.get(m.mountPoint);
    if (prev && m.parentId === prev.mountId) shadowed.add(prev.mountId);
    lastOnPoint.set(m.mountPoint, m);
  }
  let best: { m: MountDev; rest: string } | null = null;
  for (const m of mounts) {
    if (m.major !== major || m.minor !== minor || shadowed.has(m.mountId)) continue;
    const rest = under(rel, m.root);
    if (rest === null) continue;
    if (!best || m.root.length < best.m.root.length) best = { m, rest };
  }
  return best
    ? { path: joinMount(best.m.mountPoint, best.rest), mountPoint: best.m.mountPoint, fsType: best.m.fsType }
    : null;
}

/** Major and minor of a device number as Node's fs.stat reports it (glibc's encoding). */
export function userDevParts(dev: number | bigint): [number, number] {
  const d = BigInt(dev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n));
  const minor = Number((d & 0xffn) | ((d >> 12n) & 0xffffff00n));
  return [major, minor];
}

/** A path for (device, inode) among the open files of a process, or null. */
export function pathFromFds(pid: number, major: number, minor: number, ino: bigint, root = '/proc'): string | null {
  let fds: string[];
  try {
    fds = fs.readdirSync(`${root}/${pid}/fd`);
  } catch {
    return null;
  }
  for (const fd of fds.slice(0, 4096)) {
    const link = `${root}/${pid}/fd/${fd}`;
    try {
      const st = fs.statSync(link, { bigint: true });
      if (st.ino !== ino) continue;
      const [ma, mi] = userDevParts(st.dev);
      if (ma !== major || mi !== minor) continue;
      return fs.readlinkSync(link);
    } catch {
      /* closed meanwhile */
    }
  }
  return null;
}

export type PathSource = 'mountinfo' | 'process-mountinfo' | 'open-fd' | 'fs-relative' | 'none';

export interface ResolvedPath {
  /** absolute path, or the path from the filesystem root prefixed with "major:minor:" when no mount was found */
  path: string | null;
  source: PathSource;
  mountPoint: string | null;
  fsType: string | null;
  deleted: boolean;
  truncated: boolean;
}

export interface NameInfo {
  components: string[];
  truncated: boolean;
  deleted: boolean;
  noDentry: boolean;
}

/** Resolves (device, inode) → path with caches for the mount tables (one per capture). */
export class PathResolver {
  private readonly hostMounts: MountDev[];
  private readonly pidMounts = new Map<number, MountDev[] | null>();

  constructor(
    private readonly names: Map<string, NameInfo>,
    opts: { mountinfo?: string; procRoot?: string } = {}
  ) {
    this.procRoot = opts.procRoot ?? '/proc';
    let text = opts.mountinfo;
    if (text === undefined) {
      try {
        text = fs.readFileSync(`${this.procRoot}/self/mountinfo`, 'utf8');
      } catch {
        text = '';
      }
    }
    this.hostMounts = parseMountinfoDevs(text);
  }

  private readonly procRoot: string;

  static key(sbDev: number, ino: bigint): string {
    return `${sbDev}:${ino}`;
  }

  private mountsOf(pid: number): MountDev[] | null {
    if (!this.pidMounts.has(pid)) {
      try {
        this.pidMounts.set(pid, parseMountinfoDevs(fs.readFileSync(`${this.procRoot}/${pid}/mountinfo`, 'utf8')));
      } catch {
        this.pidMounts.set(pid, null);
      }
    }
    return this.pidMounts.get(pid) ?? null;
  }

  /** major:minor of the filesystem's device: the kernel's dev_t encoding (major << 20 | minor). */
  resolve(sbDev: number, ino: bigint, pids: readonly number[] = []): ResolvedPath {
    const major = sbDev >>> 20;
    const minor = sbDev & 0xfffff;
    const n = this.names.get(PathResolver.key(sbDev, ino));
    const base = { deleted: n?.deleted ?? false, truncated: n?.truncated ?? false };
    if (n && !n.noDentry && n.components.length > 0 && !n.truncated) {
      const rel = relativePath(n.components);
      const host = resolveMountPath(rel, major, minor, this.hostMounts);
      if (host)
        return { path: host.path, source: 'mountinfo', mountPoint: host.mountPoint, fsType: host.fsType, ...base };
      for (const pid of pids) {
        const mounts = pid > 0 ? this.mountsOf(pid) : null;
        const r = mounts ? resolveMountPath(rel, major, minor, mounts) : null;
        if (r)
          return { path: r.path, source: 'process-mountinfo', mountPoint: r.mountPoint, fsType: r.fsType, ...base };
      }
    }
    for (const pid of pids) {
      const p = pid > 0 ? pathFromFds(pid, major, minor, ino, this.procRoot) : null;
      if (p)
        return {
          path: p.replace(/ \(deleted\)$/, ''),
          source: 'open-fd',
          mountPoint: null,
          fsType: null,
          ...base,
          deleted: base.deleted || p.endsWith(' (deleted)'),
        };
    }
    if (n && n.components.length > 0) {
      // the path from the filesystem root ("…" when the walk stopped before the root)
      return {
        path: `${major}:${minor}:${n.truncated ? '…' : ''}${relativePath(n.components)}`,
        source: 'fs-relative',
        mountPoint: null,
        fsType: null,
        ...base,
      };
    }
    return { path: null, source: 'none', mountPoint: null, fsType: null, ...base };
  }
}
