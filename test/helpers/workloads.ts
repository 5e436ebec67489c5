// Real workloads for tests: processes with known stacks, CPU time read back from /proc, and cgroups
// created in the live hierarchies to stand in for containers.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readPidStat, USER_HZ } from '../../agent/src/host/process';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = path.resolve(__dirname, '../..').replace(/\/build$/, '');
export const WORKLOADS = path.join(ROOT, 'build/workloads');

export function workload(name: string): string {
  const p = path.join(WORKLOADS, name);
  if (!fs.existsSync(p)) throw new Error(`test workload ${p} is not built (make -C test/workloads)`);
  return p;
}

export interface Running {
  child: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

export function start(cmd: string, args: string[], opts: { cgroupProcs?: string[] } = {}): Running {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (!child.pid) throw new Error(`failed to start ${cmd}`);
  const pid = child.pid;
  for (const procs of opts.cgroupProcs ?? []) fs.writeFileSync(procs, String(pid));
  return {
    child,
    pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    },
  };
}

/** The spinner: main → autotracing_spin_outer → autotracing_spin_middle → autotracing_spin_leaf. */
export function spinner(seconds: number, opts: { syscalls?: boolean; cgroupProcs?: string[] } = {}): Running {
  return start(workload('spinner'), [String(seconds), ...(opts.syscalls ? ['syscalls'] : [])], opts);
}

/** user+system CPU seconds consumed so far by a process (all its threads), from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const st = readPidStat(pid);
  if (!st) throw new Error(`process ${pid} is gone`);
  return (st.utime + st.stime) / USER_HZ;
}

/** Sum of cpuSeconds over several processes, ignoring ones that exited. */
export function cpuSecondsAll(pids: number[]): number {
  let s = 0;
  for (const p of pids) {
    try {
      s += cpuSeconds(p);
    } catch {
      /* exited */
    }
  }
  return s;
}

export interface TestCgroup {
  dir: string;
  procs: string;
  remove(): Promise<void>;
}

/** Create a cgroup directory (e.g. under /sys/fs/cgroup/cpu or /sys/fs/cgroup/unified); removal
 *  waits for its processes to be gone. */
export function makeCgroup(parentDir: string, rel: string): TestCgroup {
  const dir = path.join(parentDir, rel);
  fs.mkdirSync(dir, { recursive: true });
  return {
    dir,
    procs: path.join(dir, 'cgroup.procs'),
    async remove() {
      for (let i = 0; i < 100; i++) {
        try {
          // deepest first
          const subdirs = fs
            .readdirSync(dir, { withFileTypes: true })
            .filter((d) => d.isDirectory())
            .map((d) => path.join(dir, d.name));
          for (const s of subdirs) fs.rmdirSync(s);
          fs.rmdirSync(dir);
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
          await sleep(50);
        }
      }
      // remove now-empty parents we created under the hierarchy root, best effort
      let p = path.dirname(dir);
      while (p.length > parentDir.length) {
        try {
          fs.rmdirSync(p);
        } catch {
          break;
        }
        p = path.dirname(p);
      }
    },
  };
}

export const CGROUP_V1_CPU = '/sys/fs/cgroup/cpu';
export const CGROUP_UNIFIED = fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs')
  ? '/sys/fs/cgroup/unified'
  : '/sys/fs/cgroup';

/** A fake container id: 64 hex chars, a hash of the whole label, so tests can find it again. */
export function fakeContainerId(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}
