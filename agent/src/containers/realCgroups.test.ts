// Real cgroups on the machine running the tests (needs root): make docker-shaped cgroups, move a
// `sleep` into them and check that identify / containerForPid / listContainers find it. Everything
// created is removed again, also when an assertion fails.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { readCgroupCpuUsage, readCgroupProcs } from '../host/cgroupFiles';
import { cgroupDir, detectCgroupLayout } from '../host/cgroupLayout';
import { readCgroupPressure } from '../host/pressure';
import { readPidCgroup } from '../host/process';
import { containerForPid, identifyPid } from './forPid';
import { identify } from './identify';
import { listContainers } from './list';

const layout = detectCgroupLayout();
const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'needs root to create cgroups' : layout.mode === 'none' ? 'no cgroup hierarchy mounted' : false;

/** Creates dir and any missing ancestors, remembering each one created (to remove in reverse). */
function mkdirTracked(dir: string, created: string[]): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    mkdirSync(d);
    created.push(d);
  }
}

async function cleanup(children: ChildProcess[], created: string[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        })
    )
  );
  for (const d of [...created].reverse()) {
    for (let i = 0; i < 40; i++) {
      try {
        rmdirSync(d);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code === 'ENOTEMPTY' || i === 39) break; // someone else's cgroups live there too: leave it
        await new Promise((r) => setTimeout(r, 25)); // EBUSY while the killed task detaches
      }
    }
  }
}

function spawnSleeper(children: ChildProcess[]): number {
  const c = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(c);
  assert.ok(c.pid, 'spawned');
  return c.pid;
}

test(
  'v1: a process moved into /docker/<id> in the cpu hierarchy is found',
  { skip: skip || (layout.v1.has('cpu') ? false : 'no v1 cpu hierarchy') },
  async () => {
    const created: string[] = [];
    const children: ChildProcess[] = [];
    try {
      const id = randomBytes(32).toString('hex');
      const path = `/docker/${id}`;
      const cpuDir = cgroupDir(layout, 'cpu', path) as string;
      const cpuacctDir = cgroupDir(layout, 'cpuacct', path) as string;
      mkdirTracked(cpuDir, created);
      if (cpuacctDir !== cpuDir) mkdirTracked(cpuacctDir, created);
      const pid = spawnSleeper(children);
      writeFileSync(`${cpuDir}/cgroup.procs`, String(pid));
      if (cpuacctDir !== cpuDir) writeFileSync(`${cpuacctDir}/cgroup.procs`, String(pid));

      assert.equal(readPidCgroup(pid)?.find((l) => l.controllers.includes('cpu'))?.path, path);
      assert.deepEqual(readCgroupProcs(cpuDir), [pid]);
      assert.deepEqual(identify(path), {
        id,
        name: null,
        runtime: 'docker',
        pod: null,
        namespace: null,
        qos: null,
        cgroup: path,
      });
      const r = identifyPid(pid, { layout });
      assert.equal(r?.hierarchy, 'cpu');
      assert.deepEqual(containerForPid(pid, { layout }), identify(path));
      const listed = listContainers({ layout }).find((c) => c.ref.id === id);
      assert.ok(listed, 'listed');
      assert.equal(listed.paths.v1, path);
      assert.equal(listed.dirs.cpu, cpuDir);
      assert.equal(listed.dirs.cpuacct, cpuacctDir);
      assert.ok(readCgroupCpuUsage(listed.dirs), 'cpuacct readable through the listed directories');

      await cleanup(children, []);
      assert.equal(containerForPid(pid, { layout }), null, 'gone with its process');
    } finally {
      await cleanup(children, created);
    }
    assert.ok(
      created.every((d) => !existsSync(d)),
      'cleaned up'
    );
  }
);

test(
  'unified: a process moved into system.slice/docker-<id>.scope is found',
  { skip: skip || (layout.unified ? false : 'no cgroup2 hierarchy') },
  async () => {
    const created: string[] = [];
    const children: ChildProcess[] = [];
    try {
      const id = randomBytes(32).toString('hex');
      const path = `/system.slice/docker-${id}.scope`;
      const dir = cgroupDir(layout, 'unified', path) as string;
      mkdirTracked(dir, created);
      const pid = spawnSleeper(children);
      writeFileSync(`${dir}/cgroup.procs`, String(pid));

      assert.equal(readPidCgroup(pid)?.find((l) => l.hierarchyId === 0)?.path, path);
      const r = identifyPid(pid, { layout });
      // On a hybrid host the cpu line is still "/", so the unified line has to win.
      assert.equal(r?.hierarchy, 'unified');
      assert.equal(r?.identity?.ref.id, id);
      assert.equal(containerForPid(pid, { layout })?.runtime, 'docker');
      const listed = listContainers({ layout }).find((c) => c.ref.id === id);
      assert.ok(listed, 'listed');
      assert.equal(listed.paths.unified, path);
      assert.equal(listed.dirs.unified, dir);
      if (existsSync('/proc/pressure/cpu')) assert.ok(readCgroupPressure(dir, 'cpu')?.some, 'per-cgroup PSI');
      assert.ok(readCgroupCpuUsage({ unified: dir }), 'cpu.stat exists in every cgroup2 directory');
    } finally {
      await cleanup(children, created);
    }
    assert.ok(
      created.every((d) => !existsSync(d)),
      'cleaned up'
    );
  }
);
