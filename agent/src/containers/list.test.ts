import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURE_HOSTS, IDS } from '../../../test/fixtures/hosts/hosts';
import { readCgroupCpuCapacity, readCgroupCpuUsage, readCgroupMemory } from '../host/cgroupFiles';
import { listContainers } from './list';

test('v1: containers from the cpu hierarchy with their directories per controller', () => {
  const root = FIXTURE_HOSTS.v1;
  const list = listContainers({ root });
  assert.deepEqual(
    list.map((c) => `${c.ref.runtime}:${c.ref.id}`).sort(),
    [
      `containerd:${IDS.ctrB}`,
      `containerd:${IDS.ctrC}`,
      `containerd:${IDS.ctrD}`,
      `containerd:${IDS.ctrG}`,
      `containerd:${IDS.pauseB}`,
      `crio:${IDS.crioE}`,
      `docker:${IDS.dockerA}`,
    ].sort()
  );
  const a = list.find((c) => c.ref.id === IDS.dockerA);
  assert.ok(a);
  assert.equal(a.ref.cgroup, `/docker/${IDS.dockerA}`);
  assert.deepEqual(a.dirs, {
    cpu: join(root, `sys/fs/cgroup/cpu,cpuacct/docker/${IDS.dockerA}`),
    cpuacct: join(root, `sys/fs/cgroup/cpu,cpuacct/docker/${IDS.dockerA}`),
    cpuset: join(root, `sys/fs/cgroup/cpuset/docker/${IDS.dockerA}`),
    memory: join(root, `sys/fs/cgroup/memory/docker/${IDS.dockerA}`),
    blkio: join(root, `sys/fs/cgroup/blkio/docker/${IDS.dockerA}`),
  });
  // The directories work with the cgroup readers.
  assert.equal(readCgroupCpuCapacity(a.dirs, 4), 0.5);
  assert.equal(readCgroupMemory(a.dirs)?.limitBytes, 536870912);
  const d = list.find((c) => c.ref.id === IDS.ctrD);
  assert.equal(d?.ref.qos, 'guaranteed');
  assert.equal(d?.podUid, IDS.podD);
  assert.deepEqual(
    list.map((c) => c.ref.cgroup),
    [...list.map((c) => c.ref.cgroup)].sort(),
    'sorted by path'
  );
});

test('v1: pods and units on request', () => {
  const list = listContainers({ root: FIXTURE_HOSTS.v1, kinds: ['pod', 'unit'] });
  assert.deepEqual(
    list
      .filter((c) => c.kind === 'pod')
      .map((c) => c.ref.id)
      .sort(),
    [IDS.podB, IDS.podC, IDS.podD, IDS.podE, IDS.podG].sort()
  );
  assert.deepEqual(
    list
      .filter((c) => c.kind === 'unit')
      .map((c) => c.ref.id)
      .sort(),
    ['containerd.service', 'session-4.scope', 'sshd.service', 'user@1000.service']
  );
  assert.ok(list.every((c) => c.kind !== 'container'));
});

test('v2: containers from the unified hierarchy, one directory each', () => {
  const root = FIXTURE_HOSTS.v2;
  const list = listContainers({ root });
  assert.deepEqual(
    list.map((c) => `${c.ref.runtime}:${c.ref.id}`).sort(),
    [
      `containerd:${IDS.ctrB}`,
      `containerd:${IDS.ctrC}`,
      `containerd:${IDS.ctrD}`,
      `containerd:${IDS.pauseB}`,
      `crio:${IDS.crioE}`,
      `docker:${IDS.dockerA}`,
      `podman:${IDS.podmanF}`,
    ].sort()
  );
  const b = list.find((c) => c.ref.id === IDS.ctrB);
  assert.ok(b);
  assert.deepEqual(Object.keys(b.dirs), ['unified']);
  assert.deepEqual(b.paths, { unified: b.ref.cgroup });
  assert.equal(readCgroupCpuCapacity(b.dirs, 4), 2);
  assert.equal(readCgroupCpuUsage(b.dirs)?.source, 'cpu.stat');
});

test('hybrid: both hierarchies walked and merged; v1-only containers keep only v1 directories', () => {
  const root = FIXTURE_HOSTS.hybrid;
  const list = listContainers({ root });
  assert.deepEqual(
    list.map((c) => `${c.ref.runtime}:${c.ref.id}`).sort(),
    [
      `containerd:${IDS.ctrB}`,
      `containerd:${IDS.ctrC}`,
      `containerd:${IDS.pauseB}`,
      `crio:${IDS.crioE}`,
      `docker:${IDS.dockerA}`,
      `docker:${IDS.dockerB}`,
    ].sort()
  );
  const a = list.find((c) => c.ref.id === IDS.dockerA);
  assert.ok(a);
  const path = `/system.slice/docker-${IDS.dockerA}.scope`;
  assert.deepEqual(a.paths, { v1: path, unified: path });
  assert.equal(a.dirs.cpu, join(root, 'sys/fs/cgroup/cpu', path));
  assert.equal(a.dirs.cpuacct, join(root, 'sys/fs/cgroup/cpuacct', path));
  assert.equal(a.dirs.unified, join(root, 'sys/fs/cgroup/unified', path));
  assert.equal(readCgroupCpuUsage(a.dirs)?.source, 'cpuacct', 'v1 cpuacct preferred where it exists');
  const b = list.find((c) => c.ref.id === IDS.dockerB);
  assert.equal(b?.dirs.unified, undefined);
  assert.equal(b?.ref.cgroup, `/docker/${IDS.dockerB}`);
});

test('maxDepth bounds the walk; a missing hierarchy gives an empty list', () => {
  assert.deepEqual(
    listContainers({ root: FIXTURE_HOSTS.v1, maxDepth: 2 }).map((c) => c.ref.id),
    [IDS.dockerA]
  );
  assert.deepEqual(listContainers({ root: '/nonexistent-root' }), []);
});

test('checkDirs keeps only directories that exist', () => {
  const root = mkdtempSync(join(tmpdir(), 'list-'));
  try {
    mkdirSync(join(root, 'proc/self'), { recursive: true });
    copyFileSync(join(FIXTURE_HOSTS.hybrid, 'proc/self/mountinfo'), join(root, 'proc/self/mountinfo'));
    mkdirSync(join(root, `sys/fs/cgroup/cpu/docker/${IDS.dockerA}`), { recursive: true });
    mkdirSync(join(root, 'sys/fs/cgroup/memory/docker'), { recursive: true });
    assert.deepEqual(Object.keys(listContainers({ root })[0]?.dirs ?? {}), [
      'cpu',
      'cpuacct',
      'cpuset',
      'memory',
      'blkio',
    ]);
    assert.deepEqual(Object.keys(listContainers({ root, checkDirs: true })[0]?.dirs ?? {}), ['cpu']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('containers inside containers (kind nodes) are listed only with nested: true', () => {
  const root = mkdtempSync(join(tmpdir(), 'list-'));
  try {
    mkdirSync(join(root, 'proc/self'), { recursive: true });
    copyFileSync(join(FIXTURE_HOSTS.v2, 'proc/self/mountinfo'), join(root, 'proc/self/mountinfo'));
    const node = `/system.slice/docker-${IDS.dockerA}.scope`;
    const inner = `${node}/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${IDS.podC.replace(/-/g, '_')}.slice/cri-containerd-${IDS.ctrC}.scope`;
    mkdirSync(join(root, 'sys/fs/cgroup', inner), { recursive: true });
    assert.deepEqual(
      listContainers({ root }).map((c) => c.ref.id),
      [IDS.dockerA]
    );
    const all = listContainers({ root, nested: true });
    assert.deepEqual(
      all.map((c) => c.ref.id),
      [IDS.dockerA, IDS.ctrC]
    );
    assert.equal(all[1]?.podUid, IDS.podC);
    assert.equal(all[1]?.ref.qos, 'besteffort');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
