// Container identity from a cgroup path alone, with no runtime to ask. Recognises docker, containerd
// (CRI and nerdctl), CRI-O, podman, Kubernetes pods (systemd and cgroupfs drivers, QoS classes) and
// systemd units, on cgroup v1 and v2 path shapes.
import type { ContainerRef } from '../events/event';

export type CgroupKind = 'container' | 'pod' | 'unit';
export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';

/** Everything a cgroup path tells. `ref` is the event contract's ContainerRef. */
export interface CgroupIdentity {
  kind: CgroupKind;
  ref: ContainerRef;
  /** Kubernetes pod uid with dashes, when the path runs through a pod cgroup. */
  podUid: string | null;
  /** The path component that named the container / pod / unit. */
  component: string;
}

const HEX64 = '[0-9a-f]{64}';

/** Prefixed container scopes: `<prefix>-<id>.scope` (systemd driver) or `<prefix>-<id>` (cgroupfs, CRI-O). */
const PREFIXED: Array<{ re: RegExp; runtime: string }> = [
  { re: new RegExp(`^docker-(${HEX64})(?:\\.scope)?$`), runtime: 'docker' },
  { re: new RegExp(`^cri-containerd-(${HEX64})(?:\\.scope)?$`), runtime: 'containerd' },
  { re: new RegExp(`^nerdctl-(${HEX64})(?:\\.scope)?$`), runtime: 'containerd' },
  { re: new RegExp(`^crio-(${HEX64})(?:\\.scope)?$`), runtime: 'crio' },
  { re: new RegExp(`^libpod-(${HEX64})(?:\\.scope)?$`), runtime: 'podman' },
];
const BARE_ID = new RegExp(`^${HEX64}$`);
/** Monitors that sit beside a container, not inside it: CRI-O's and podman's conmon. */
const CONMON = /^(?:crio|libpod)-conmon-/;

/** systemd pod slice, e.g. kubepods-burstable-pod<uid_with_underscores>.slice (or kubelet-kubepods-… with --cgroup-root). */
const POD_SLICE = /(?:^|-)kubepods(?:-(burstable|besteffort))?-pod([0-9a-f_]+)\.slice$/;
/** cgroupfs pod dir, e.g. pod0f7d… under /kubepods[/burstable|/besteffort]. */
const POD_DIR = /^pod([0-9a-f-]+)$/;
const QOS_SLICE = /(?:^|-)kubepods-(burstable|besteffort)\.slice$/;
const KUBEPODS = /^(?:kubepods|.*-kubepods)(?:\.slice)?$/;

const UNIT = /^[^/]+\.(service|scope)$/;

function podUidFromSystemd(u: string): string {
  return u.replace(/_/g, '-');
}

interface PodMatch {
  index: number;
  uid: string;
  qos: QosClass;
}

/** Finds the innermost pod component and its QoS class. */
function findPod(parts: string[]): PodMatch | null {
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i] as string;
    const s = POD_SLICE.exec(p);
    if (s)
      return { index: i, uid: podUidFromSystemd(s[2] as string), qos: (s[1] as QosClass | undefined) ?? 'guaranteed' };
    const d = POD_DIR.exec(p);
    if (d && i > 0) {
      const parent = parts[i - 1] as string;
      const grand = i > 1 ? (parts[i - 2] as string) : '';
      if (KUBEPODS.test(parent)) return { index: i, uid: d[1] as string, qos: 'guaranteed' };
      if ((parent === 'burstable' || parent === 'besteffort') && KUBEPODS.test(grand)) {
        return { index: i, uid: d[1] as string, qos: parent };
      }
      if (QOS_SLICE.test(parent))
        return { index: i, uid: d[1] as string, qos: (QOS_SLICE.exec(parent)?.[1] as QosClass) ?? 'guaranteed' };
    }
  }
  return null;
}

function ref(id: string, runtime: string, cgroup: string, qos: string | null): ContainerRef {
  return { id, name: null, runtime, pod: null, namespace: null, qos, cgroup };
}

/** Normalises a cgroup path: leading '/', no trailing '/', no empty components. */
export function normalizeCgroupPath(path: string): string {
  // An agent in a private cgroup namespace (a pod on a cgroup v2 node) reads other processes' paths
  // relative to its own root: "/../../kubepods.slice/…". The part after the ups is the host path below
  // the common ancestor, which on Kubernetes nodes is the hierarchy root: drop the ups.
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  while (parts[0] === '..') parts.shift();
  return `/${parts.join('/')}`;
}

/**
 * Everything the path says about who owns the cgroup, or null for the root, slices and unknown shapes.
 * The innermost container-looking component wins (docker-in-docker, kind nodes); a container beats a
 * pod, and a pod beats a systemd unit.
 */
export function identifyCgroup(cgroupPath: string): CgroupIdentity | null {
  const cgroup = normalizeCgroupPath(cgroupPath);
  const parts = cgroup.split('/').filter(Boolean);
  if (!parts.length) return null;
  const pod = findPod(parts);
  const qosFor = (i: number): string | null => (pod && pod.index < i ? pod.qos : null);
  const podUidFor = (i: number): string | null => (pod && pod.index < i ? pod.uid : null);

  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i] as string;
    if (CONMON.test(p)) continue;
    for (const { re, runtime } of PREFIXED) {
      const m = re.exec(p);
      if (m)
        return {
          kind: 'container',
          ref: ref(m[1] as string, runtime, cgroup, qosFor(i)),
          podUid: podUidFor(i),
          component: p,
        };
    }
    if (BARE_ID.test(p)) {
      const parent = i > 0 ? (parts[i - 1] as string) : '';
      // /docker/<id> is docker's cgroupfs driver; /kubepods/<qos>/pod<uid>/<id> is a CRI runtime with the
      // cgroupfs driver (containerd since dockershim left); anything else is a container of unknown runtime.
      const runtime = parent === 'docker' ? 'docker' : pod && pod.index === i - 1 ? 'containerd' : 'cgroup';
      return { kind: 'container', ref: ref(p, runtime, cgroup, qosFor(i)), podUid: podUidFor(i), component: p };
    }
  }
  if (pod) {
    return {
      kind: 'pod',
      ref: ref(pod.uid, 'kubepods', cgroup, pod.qos),
      podUid: pod.uid,
      component: parts[pod.index] as string,
    };
  }
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i] as string;
    if (UNIT.test(p)) return { kind: 'unit', ref: ref(p, 'systemd', cgroup, null), podUid: null, component: p };
  }
  return null;
}

/** The ContainerRef for a cgroup path, or null when it is not a container, pod or systemd unit. */
export function identify(cgroupPath: string): ContainerRef | null {
  return identifyCgroup(cgroupPath)?.ref ?? null;
}

/**
 * identify(), but an unrecognised non-root cgroup still gets a ref (runtime 'cgroup', id = the path),
 * so evidence about /process_api/x or /custom.slice is labelled rather than dropped. null for the root.
 */
export function cgroupRef(cgroupPath: string): ContainerRef | null {
  const known = identify(cgroupPath);
  if (known) return known;
  const cgroup = normalizeCgroupPath(cgroupPath);
  return cgroup === '/' ? null : ref(cgroup, 'cgroup', cgroup, null);
}
