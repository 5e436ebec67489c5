// Which container a process belongs to, from /proc/PID/cgroup.
import type { ContainerRef } from '../events/event';
import { detectCgroupLayout, type CgroupLayout } from '../host/cgroupLayout';
import { readPidCgroup, type ProcCgroupLine } from '../host/process';
import { identifyCgroup, type CgroupIdentity } from './identify';

export interface PidCgroupChoice {
  /** The line the path was taken from. */
  line: ProcCgroupLine;
  /** The hierarchy it belongs to: 'unified', or a v1 controller name such as 'cpu' or 'name=systemd'. */
  hierarchy: string;
}

function lineFor(lines: ProcCgroupLine[], hierarchy: string): ProcCgroupLine | undefined {
  if (hierarchy === 'unified') return lines.find((l) => l.hierarchyId === 0 && l.controllers.length === 0);
  return lines.find((l) => l.hierarchyId !== 0 && l.controllers.includes(hierarchy));
}

/**
 * The hierarchies to consult, best first: on v2 the `0::` line; on hybrid and v1 hosts the cpu
 * controller's line (where the cgroup's CPU accounting lives), then `0::` (hybrid), then name=systemd.
 */
export function candidateHierarchies(mode: CgroupLayout['mode']): string[] {
  if (mode === 'v2') return ['unified', 'cpu', 'name=systemd'];
  if (mode === 'hybrid') return ['cpu', 'unified', 'cpuacct', 'name=systemd'];
  return ['cpu', 'cpuacct', 'name=systemd', 'unified'];
}

const RANK: Record<CgroupIdentity['kind'], number> = { container: 3, pod: 2, unit: 1 };

/**
 * Picks the identity from a process's cgroup lines. The preferred line decides unless another line
 * names something more specific (a container beats a pod beats a systemd unit): on a hybrid host with
 * docker's cgroupfs driver the cpu line says /docker/<id> while `0::` says /system.slice/containerd.service,
 * and a process placed only in the unified tree has `/` in every v1 line.
 */
export function identifyFromLines(
  lines: ProcCgroupLine[],
  mode: CgroupLayout['mode']
): { identity: CgroupIdentity | null; choice: PidCgroupChoice | null } {
  let best: { identity: CgroupIdentity | null; choice: PidCgroupChoice } | null = null;
  for (const h of candidateHierarchies(mode)) {
    const line = lineFor(lines, h);
    if (!line) continue;
    const identity = identifyCgroup(line.path);
    if (!best) {
      best = { identity, choice: { line, hierarchy: h } };
      continue;
    }
    const have = best.identity ? RANK[best.identity.kind] : 0;
    if (identity && RANK[identity.kind] > have) best = { identity, choice: { line, hierarchy: h } };
  }
  return best ?? { identity: null, choice: null };
}

export interface ForPidOptions {
  root?: string;
  /** Reuse a detected layout (detect once, not per pid). */
  layout?: CgroupLayout;
}

/**
 * The container, pod or systemd unit a process runs in, or null (host process, or the process is gone).
 * `cgroupPath` is the path of the chosen line, also for host processes.
 */
export function identifyPid(
  pid: number,
  opts: ForPidOptions = {}
): { identity: CgroupIdentity | null; cgroupPath: string; hierarchy: string } | null {
  const root = opts.root ?? '/';
  const lines = readPidCgroup(pid, root);
  if (!lines) return null;
  const layout = opts.layout ?? detectCgroupLayout(root);
  const { identity, choice } = identifyFromLines(lines, layout.mode);
  if (!choice) return null;
  return { identity, cgroupPath: choice.line.path, hierarchy: choice.hierarchy };
}

/** Shorthand: the ContainerRef of a process, or null for host processes and vanished ones. */
export function containerForPid(pid: number, opts: ForPidOptions = {}): ContainerRef | null {
  return identifyPid(pid, opts)?.identity?.ref ?? null;
}
