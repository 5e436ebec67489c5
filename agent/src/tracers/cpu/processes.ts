// Per-process CPU time across a capture window: a snapshot of every process (or of a cgroup's
// processes) at the start and at the end, turned into user/sys percent of one CPU.
import { listPids, readPidStat, readPidCmdline, displayCommand, USER_HZ } from '../../host/process';

export interface ProcSnap {
  pid: number;
  comm: string;
  command: string;
  utime: number;
  stime: number;
}

export type ProcSnapshot = Map<number, ProcSnap>;

/** Snapshot pids (default: every process). Processes that exit while we read are skipped. */
export function snapshotProcesses(pids?: Iterable<number>, opts: { cmdline?: boolean } = {}): ProcSnapshot {
  const out: ProcSnapshot = new Map();
  for (const pid of pids ?? listPids()) {
    const st = readPidStat(pid);
    if (!st) continue;
    let command = st.comm;
    if (opts.cmdline !== false) {
      const argv = readPidCmdline(pid);
      if (argv) command = displayCommand(argv, st.comm, 512);
    }
    out.set(pid, { pid, comm: st.comm, command, utime: st.utime, stime: st.stime });
  }
  return out;
}

export interface ProcCpu {
  pid: number;
  comm: string;
  command: string | null;
  /** percent of one CPU over the window */
  userPct: number;
  sysPct: number;
  /** false when the process was not there at the end (exited during the window) */
  alive: boolean;
}

/** CPU use per process between two snapshots. Processes born during the window count from zero. */
export function cpuBetween(start: ProcSnapshot, end: ProcSnapshot, elapsedMs: number): Map<number, ProcCpu> {
  const out = new Map<number, ProcCpu>();
  const secs = Math.max(elapsedMs, 1) / 1000;
  const pct = (ticks: number) => (100 * ticks) / USER_HZ / secs;
  for (const [pid, e] of end) {
    const s = start.get(pid);
    // a recycled pid (different comm) counts as a new process
    const base = s && s.comm === e.comm ? s : { utime: 0, stime: 0 };
    out.set(pid, {
      pid,
      comm: e.comm,
      command: e.command,
      userPct: pct(Math.max(0, e.utime - base.utime)),
      sysPct: pct(Math.max(0, e.stime - base.stime)),
      alive: true,
    });
  }
  for (const [pid, s] of start) {
    if (!out.has(pid)) out.set(pid, { pid, comm: s.comm, command: s.command, userPct: 0, sysPct: 0, alive: false });
  }
  return out;
}
