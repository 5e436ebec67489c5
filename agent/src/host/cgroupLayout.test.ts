import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURE_HOSTS } from '../../../test/fixtures/hosts/hosts';
import {
  cgroupDir,
  detectCgroupLayout,
  layoutFromMounts,
  parseMountinfo,
  parseProcMounts,
  v1Controllers,
} from './cgroupLayout';

test('pure v1 host: controllers, co-mounted cpu,cpuacct, named systemd hierarchy, no unified', () => {
  const l = detectCgroupLayout(FIXTURE_HOSTS.v1);
  assert.equal(l.mode, 'v1');
  assert.equal(l.unified, null);
  assert.equal(l.v1.get('cpu')?.mountPoint, '/sys/fs/cgroup/cpu,cpuacct');
  assert.equal(l.v1.get('cpuacct'), l.v1.get('cpu'));
  assert.deepEqual(l.v1.get('cpu')?.controllers, ['cpuacct', 'cpu']);
  assert.equal(l.v1.get('name=systemd')?.mountPoint, '/sys/fs/cgroup/systemd');
  assert.deepEqual(l.v1.get('net_cls')?.controllers, ['net_prio', 'net_cls']);
  assert.ok(!l.v1.has('release_agent=/usr/lib/systemd/systemd-cgroups-agent'));
  assert.ok(!l.v1.has('xattr'));
  assert.equal(cgroupDir(l, 'cpuacct', '/docker/x'), join(FIXTURE_HOSTS.v1, '/sys/fs/cgroup/cpu,cpuacct/docker/x'));
  assert.equal(cgroupDir(l, 'unified', '/docker/x'), null);
  assert.equal(cgroupDir(l, 'rdma', '/docker/x'), null);
});

test('pure v2 host: every controller maps to the one unified directory', () => {
  const l = detectCgroupLayout(FIXTURE_HOSTS.v2);
  assert.equal(l.mode, 'v2');
  assert.equal(l.v1.size, 0);
  assert.equal(l.unified?.mountPoint, '/sys/fs/cgroup');
  assert.ok(l.unifiedControllers.includes('memory'));
  const dir = join(FIXTURE_HOSTS.v2, '/sys/fs/cgroup/system.slice/sshd.service');
  assert.equal(cgroupDir(l, 'cpu', '/system.slice/sshd.service'), dir);
  assert.equal(cgroupDir(l, 'memory', '/system.slice/sshd.service/'), dir);
  assert.equal(cgroupDir(l, 'unified', '/'), join(FIXTURE_HOSTS.v2, '/sys/fs/cgroup'));
  assert.ok(existsSync(`${dir}/cpu.stat`));
});

test('hybrid host (like the build machine): separate cpu and cpuacct, cgroup2 at /sys/fs/cgroup/unified', () => {
  const l = detectCgroupLayout(FIXTURE_HOSTS.hybrid);
  assert.equal(l.mode, 'hybrid');
  assert.equal(l.v1.get('cpu')?.mountPoint, '/sys/fs/cgroup/cpu');
  assert.equal(l.v1.get('cpuacct')?.mountPoint, '/sys/fs/cgroup/cpuacct');
  assert.equal(l.unified?.mountPoint, '/sys/fs/cgroup/unified');
  assert.deepEqual(l.unifiedControllers, ['hugetlb']);
  // memory lives on v1; hugetlb was moved to the unified hierarchy.
  assert.equal(cgroupDir(l, 'memory', '/a'), join(FIXTURE_HOSTS.hybrid, '/sys/fs/cgroup/memory/a'));
  assert.equal(cgroupDir(l, 'hugetlb', '/a'), join(FIXTURE_HOSTS.hybrid, '/sys/fs/cgroup/unified/a'));
  assert.equal(cgroupDir(l, 'unified', '/a'), join(FIXTURE_HOSTS.hybrid, '/sys/fs/cgroup/unified/a'));
});

test('mountinfo: octal escapes, optional fields, mount roots', () => {
  const m = parseMountinfo(
    '28 27 254:16 / /mnt/data\\040disk rw,relatime shared:5 master:2 - ext4 /dev/vdb rw\n' +
      '50 31 0:29 /docker/abc /sys/fs/cgroup/cpu ro,nosuid - cgroup cgroup rw,cpu,cpuacct\n'
  );
  assert.equal(m[0]?.mountPoint, '/mnt/data disk');
  assert.equal(m[0]?.fsType, 'ext4');
  assert.equal(m[1]?.root, '/docker/abc');
  assert.deepEqual(v1Controllers(m[1]?.options ?? []), ['cpu', 'cpuacct']);
  // A container that sees its own cgroup bind-mounted at the mount point.
  const l = layoutFromMounts(m);
  assert.equal(l.mode, 'v1');
  assert.equal(cgroupDir(l, 'cpu', '/docker/abc'), '/sys/fs/cgroup/cpu');
  assert.equal(cgroupDir(l, 'cpu', '/docker/abc/sub'), '/sys/fs/cgroup/cpu/sub');
});

test('falls back to /proc/mounts when mountinfo is unreadable; nothing mounted → none', () => {
  const root = mkdtempSync(join(tmpdir(), 'layout-'));
  try {
    mkdirSync(join(root, 'proc'));
    writeFileSync(
      join(root, 'proc/mounts'),
      'cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n'
    );
    const l = detectCgroupLayout(root);
    assert.equal(l.mode, 'hybrid');
    assert.equal(l.v1.get('cpuacct')?.mountPoint, '/sys/fs/cgroup/cpu,cpuacct');
    assert.deepEqual(l.unifiedControllers, [], 'no cgroup.controllers file under the fixture');
    writeFileSync(join(root, 'proc/mounts'), '/dev/vda / ext4 rw 0 0\n');
    assert.equal(detectCgroupLayout(root).mode, 'none');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  assert.equal(parseProcMounts('x\n').length, 0);
});

test('live: the detected hierarchies exist and hold the expected interface files', () => {
  const l = detectCgroupLayout();
  assert.notEqual(l.mode, 'none');
  if (l.mode === 'v2') {
    assert.ok(existsSync(`${cgroupDir(l, 'cpu', '/')}/cgroup.controllers`));
    return;
  }
  const cpu = cgroupDir(l, 'cpu', '/');
  const cpuacct = cgroupDir(l, 'cpuacct', '/');
  assert.ok(cpu && readdirSync(cpu).includes('cpu.cfs_period_us'));
  assert.ok(cpuacct && readdirSync(cpuacct).includes('cpuacct.usage'));
  if (l.mode === 'hybrid') {
    const u = cgroupDir(l, 'unified', '/');
    assert.ok(u && existsSync(`${u}/cgroup.controllers`));
    assert.ok(!readdirSync(u).includes('cpu.cfs_period_us'));
  }
});
