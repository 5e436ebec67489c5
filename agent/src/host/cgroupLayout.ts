// Where the cgroup hierarchies are: mode detection ('v1' | 'v2' | 'hybrid') from mountinfo, the mount
// point of every v1 controller, the unified (cgroup2) mount, and the mapping of a cgroup path (as in
// /proc/PID/cgroup) to the directory that holds its files for a controller.
import { hostPath, readTextOrNull } from './fsutil';

export type CgroupMode = 'v1' | 'v2' | 'hybrid' | 'none';

export interface MountEntry {
  /** Root of the mount within its filesystem (4th mountinfo field; '/' for /proc/mounts). */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  /** Per-mount options followed by superblock options (for cgroup v1 these name the controllers). */
  options: string[];
}

/** Undoes the octal escapes mountinfo uses for space, tab, newline and backslash. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/PID/mountinfo. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left.length < 6 || right.length < 2) continue;
    out.push({
      root: unescapeMount(left[3] as string),
      mountPoint: unescapeMount(left[4] as string),
      fsType: right[0] as string,
      source: unescapeMount(right[1] as string),
      options: [...(left[5] as string).split(','), ...(right[2] ?? '').split(',')].filter(Boolean),
    });
  }
  return out;
}

/** Parses /proc/mounts (the fallback when mountinfo is unavailable). */
export function parseProcMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 4) continue;
    out.push({
      root: '/',
      mountPoint: unescapeMount(f[1] as string),
      fsType: f[2] as string,
      source: unescapeMount(f[0] as string),
      options: (f[3] as string).split(',').filter(Boolean),
    });
  }
  return out;
}

/** Mount options of a cgroup v1 mount that are not controllers. */
const NON_CONTROLLER_OPTIONS = new Set([
  'rw',
  'ro',
  'nosuid',
  'nodev',
  'noexec',
  'relatime',
  'noatime',
  'nodiratime',
  'strictatime',
  'lazytime',
  'sync',
  'async',
  'dirsync',
  'mand',
  'nomand',
  'silent',
  'loud',
  'xattr',
  'noprefix',
  'clone_children',
  'cpuset_v2_mode',
  'favordynmods',
  'nsdelegate',
  'none',
  'all',
  'memory_localevents',
  'memory_recursiveprot',
  'memory_hugetlb_accounting',
]);

/** Controllers (and `name=X` named hierarchies) a cgroup v1 mount carries, from its options. */
export function v1Controllers(options: string[]): string[] {
  return options.filter((o) => !NON_CONTROLLER_OPTIONS.has(o) && (!o.includes('=') || o.startsWith('name=')));
}

export interface V1Hierarchy {
  mountPoint: string;
  /** Root of the mount within the hierarchy (not '/' inside a cgroup namespace or a bind mount). */
  mountRoot: string;
  controllers: string[];
}

export interface CgroupLayout {
  mode: CgroupMode;
  /** Root prefix the layout was read under; directories returned below include it. */
  root: string;
  /** v1 hierarchies by controller name ('cpu', 'cpuacct', 'name=systemd', …); comounted controllers share one. */
  v1: Map<string, V1Hierarchy>;
  /** The cgroup2 mount, if any (/sys/fs/cgroup on v2 hosts, /sys/fs/cgroup/unified on systemd hybrid hosts). */
  unified: { mountPoint: string; mountRoot: string } | null;
  /** Controllers enabled on the cgroup2 root (its cgroup.controllers); on hybrid hosts usually none. */
  unifiedControllers: string[];
}

/** Builds the layout from mount entries (pure; the unified controllers list is passed in). */
export function layoutFromMounts(mounts: MountEntry[], root = '/', unifiedControllers: string[] = []): CgroupLayout {
  const v1 = new Map<string, V1Hierarchy>();
  let unified: CgroupLayout['unified'] = null;
  for (const m of mounts) {
    if (m.fsType === 'cgroup2') {
      // Prefer a mount of the hierarchy's root over a bind mount of a sub-tree.
      if (!unified || (unified.mountRoot !== '/' && m.root === '/'))
        unified = { mountPoint: m.mountPoint, mountRoot: m.root };
    } else if (m.fsType === 'cgroup') {
      const controllers = v1Controllers(m.options);
      const h: V1Hierarchy = { mountPoint: m.mountPoint, mountRoot: m.root, controllers };
      for (const c of controllers) {
        const cur = v1.get(c);
        if (!cur || (cur.mountRoot !== '/' && m.root === '/')) v1.set(c, h);
      }
    }
  }
  const realV1 = [...v1.keys()].some((c) => !c.startsWith('name='));
  const mode: CgroupMode = realV1 ? (unified ? 'hybrid' : 'v1') : unified ? 'v2' : 'none';
  return { mode, root, v1, unified, unifiedControllers: unified ? unifiedControllers : [] };
}

export interface DetectOptions {
  /**
   * Whose mount namespace to read: 'self' by default. With a root prefix pointing at the host's /proc
   * from inside a container, pass 1 to see the host's mounts.
   */
  pid?: number | 'self';
}

/** Detects the cgroup layout from <root>/proc/<pid>/mountinfo, falling back to <root>/proc/mounts. */
export function detectCgroupLayout(root = '/', opts: DetectOptions = {}): CgroupLayout {
  const pid = opts.pid ?? 'self';
  const mi = readTextOrNull(hostPath(root, `/proc/${pid}/mountinfo`));
  let mounts: MountEntry[];
  if (mi !== null) mounts = parseMountinfo(mi);
  else mounts = parseProcMounts(readTextOrNull(hostPath(root, '/proc/mounts')) ?? '');
  let layout = layoutFromMounts(mounts, root);
  if (layout.unified) {
    const ctl = readTextOrNull(hostPath(root, `${layout.unified.mountPoint}/cgroup.controllers`));
    if (ctl !== null) layout = layoutFromMounts(mounts, root, ctl.trim().split(/\s+/).filter(Boolean));
  }
  return layout;
}

/** A path inside a hierarchy → directory, given where the hierarchy is mounted. null if outside the mount. */
function underMount(root: string, mountPoint: string, mountRoot: string, cgroupPath: string): string | null {
  let rel = `/${cgroupPath.split('/').filter(Boolean).join('/')}`;
  if (mountRoot !== '/') {
    if (rel === mountRoot) rel = '/';
    else if (rel.startsWith(`${mountRoot}/`)) rel = rel.slice(mountRoot.length);
    // Inside a cgroup namespace /proc/PID/cgroup is already relative to the namespace root (= mount root).
  }
  const dir = rel === '/' ? mountPoint : `${mountPoint.replace(/\/$/, '')}${rel}`;
  return hostPath(root, dir);
}

/**
 * Absolute directory (root prefix included) of a cgroup for a controller: the v1 hierarchy that carries
 * the controller, else the unified hierarchy when it has the controller (or the host is pure v2). Pass
 * 'unified' for the cgroup2 directory itself (PSI and cpu.stat exist there even with no controllers).
 * Returns null when no hierarchy serves the controller.
 */
export function cgroupDir(layout: CgroupLayout, controller: string, cgroupPath: string): string | null {
  if (controller !== 'unified') {
    const h = layout.v1.get(controller);
    if (h) return underMount(layout.root, h.mountPoint, h.mountRoot, cgroupPath);
  }
  const u = layout.unified;
  if (!u) return null;
  if (controller === 'unified' || layout.mode === 'v2' || layout.unifiedControllers.includes(controller)) {
    return underMount(layout.root, u.mountPoint, u.mountRoot, cgroupPath);
  }
  return null;
}
