import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { test } from 'node:test';
import { FIXTURE_HOSTS, IDS } from '../../../test/fixtures/hosts/hosts';
import {
  cgroupCpuCapacity,
  cgroupCpuPercent,
  parseCpuList,
  parseCpuMax,
  parseCpuStat,
  readCgroupCpuCapacity,
  readCgroupCpuUsage,
  readCgroupMemory,
  readCgroupProcs,
  readCpuacctStat,
  readCpuStat,
  readCpusetCpus,
  readMemoryStat,
  readOnlineCpus,
  type CgroupDirs,
} from './cgroupFiles';
import { cgroupDir, detectCgroupLayout } from './cgroupLayout';

function dirsFor(root: string, path: string): CgroupDirs {
  const l = detectCgroupLayout(root);
  if (l.mode === 'v2') return { unified: cgroupDir(l, 'unified', path) as string };
  const d: CgroupDirs = {};
  for (const c of ['cpu', 'cpuacct', 'cpuset', 'memory', 'blkio'] as const) d[c] = cgroupDir(l, c, path) ?? undefined;
  return d;
}

test('cpu list syntax', () => {
  assert.deepEqual(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(parseCpuList(''), []);
  assert.deepEqual(parseCpuList('5'), [5]);
  assert.deepEqual(parseCpuList('2,0-1,1'), [0, 1, 2]);
});

test('cpu.max and cpu.stat (v1 ns throttling, v2 µs usage) are normalised', () => {
  assert.deepEqual(parseCpuMax('max 100000\n'), { quotaUs: null, periodUs: 100000 });
  assert.deepEqual(parseCpuMax('50000 100000\n'), { quotaUs: 50000, periodUs: 100000 });
  assert.equal(parseCpuMax('bogus'), null);
  const v1 = parseCpuStat('nr_periods 10\nnr_throttled 2\nthrottled_time 5000\n');
  assert.equal(v1.throttledNs, 5000);
  assert.equal(v1.usageNs, null);
  const v2 = parseCpuStat('usage_usec 7\nuser_usec 5\nsystem_usec 2\nnr_periods 1\nnr_throttled 1\nthrottled_usec 3\n');
  assert.deepEqual([v2.usageNs, v2.userNs, v2.systemNs, v2.throttledNs], [7000, 5000, 2000, 3000]);
});

test('capacity = min(cpuset size, quota/period, online CPUs) as Huatuo computes it', () => {
  assert.equal(
    cgroupCpuCapacity({ cpuset: [0, 1, 2, 3], bandwidth: { quotaUs: 50000, periodUs: 100000 }, onlineCpus: 8 }),
    0.5
  );
  assert.equal(
    cgroupCpuCapacity({ cpuset: [2, 3], bandwidth: { quotaUs: 400000, periodUs: 100000 }, onlineCpus: 8 }),
    2
  );
  assert.equal(cgroupCpuCapacity({ cpuset: null, bandwidth: { quotaUs: null, periodUs: 100000 }, onlineCpus: 4 }), 4);
  assert.equal(cgroupCpuCapacity({ cpuset: [0, 1, 2, 3, 4, 5, 6, 7], bandwidth: null, onlineCpus: 2 }), 2);
});

for (const host of ['v1', 'v2', 'hybrid'] as const) {
  test(`${host}: reads a docker container's CPU usage, capacity and memory`, () => {
    const root = FIXTURE_HOSTS[host];
    const path = host === 'v1' ? `/docker/${IDS.dockerA}` : `/system.slice/docker-${IDS.dockerA}.scope`;
    const dirs = dirsFor(root, path);
    const online = readOnlineCpus(root).length;
    assert.equal(online, host === 'hybrid' ? 2 : 4);
    // quota 50000/100000 → half a CPU, whatever the cpuset (0-1) and online count say.
    assert.equal(readCgroupCpuCapacity(dirs, online), 0.5);
    const u = readCgroupCpuUsage(dirs);
    assert.ok(u);
    assert.equal(u.source, host === 'v2' ? 'cpu.stat' : 'cpuacct');
    assert.equal(u.userNs, 1200 * 10_000_000);
    assert.equal(u.systemNs, 300 * 10_000_000);
    assert.ok(u.usageNs >= u.userNs + u.systemNs);
    const m = readCgroupMemory(dirs);
    assert.deepEqual(m, { usageBytes: 73400320, limitBytes: 536870912 });
    assert.deepEqual(readCgroupProcs((dirs.cpu ?? dirs.unified) as string), [2101, 2102, 2200]);
    assert.ok((readMemoryStat((dirs.memory ?? dirs.unified) as string)?.pgfault ?? 0) > 0);
  });
}

test('v1 files: cpuacct.stat ticks, throttling, unlimited memory, cpuset', () => {
  const dirs = dirsFor(FIXTURE_HOSTS.v1, `/kubepods/pod${IDS.podD}/${IDS.ctrD}`);
  assert.deepEqual(readCpuacctStat(dirs.cpuacct as string), { user: 1200, system: 300 });
  assert.deepEqual(readCpusetCpus(dirs.cpuset as string), [2, 3]);
  assert.equal(readCgroupCpuCapacity(dirs, 4), 2);
  assert.equal(readCgroupMemory(dirs)?.limitBytes, null, '9223372036854771712 means no limit');
  const docker = dirsFor(FIXTURE_HOSTS.v1, `/docker/${IDS.dockerA}`);
  const st = readCpuStat(docker.cpu as string);
  assert.equal(st?.nrThrottled, 311);
  assert.equal(st?.throttledNs, 18234000000);
  // besteffort: no quota, cpuset = all 4 CPUs.
  assert.equal(
    readCgroupCpuCapacity(dirsFor(FIXTURE_HOSTS.v1, `/kubepods/besteffort/pod${IDS.podC}/${IDS.ctrC}`), 4),
    4
  );
});

test('v2 files: cpu.max "max", memory.max "max", throttling in µs', () => {
  const dirs = dirsFor(FIXTURE_HOSTS.v2, `/kubepods/besteffort/pod${IDS.podC}/${IDS.ctrC}`);
  assert.equal(readCgroupCpuCapacity(dirs, 4), 4);
  assert.equal(readCgroupMemory(dirs)?.limitBytes, null);
  const d = dirsFor(FIXTURE_HOSTS.v2, `/system.slice/docker-${IDS.dockerA}.scope`);
  assert.equal(readCpuStat(d.unified as string)?.throttledNs, 18234000000);
});

test('a cgroup that went away reads as null', () => {
  const dirs = dirsFor(FIXTURE_HOSTS.v2, '/system.slice/gone.service');
  assert.equal(readCgroupCpuUsage(dirs), null);
  assert.equal(readCgroupMemory(dirs), null);
  assert.equal(readCgroupProcs(dirs.unified as string), null);
  // Nothing limits a cgroup we know nothing about: capacity falls back to the online CPUs.
  assert.equal(readCgroupCpuCapacity(dirs, 3), 3);
});

test('cgroup CPU percent of capacity', () => {
  const prev = { usageNs: 0, userNs: 0, systemNs: 0, source: 'cpuacct' as const };
  const cur = { usageNs: 750_000_000, userNs: 500_000_000, systemNs: 250_000_000, source: 'cpuacct' as const };
  // 0.75 CPU-seconds in one second on a 1.5-CPU container = 50 %.
  assert.deepEqual(cgroupCpuPercent(prev, cur, 1000, 1.5), { user: 100 / 3, system: 100 / 6, total: 50 });
  assert.equal(cgroupCpuPercent(cur, prev, 1000, 1), null, 'recreated cgroup');
  assert.equal(cgroupCpuPercent(prev, cur, 0, 1), null);
});

test('live: online CPUs and the root cgroup CPU usage moves', async () => {
  assert.equal(readOnlineCpus().length, cpus().length);
  const l = detectCgroupLayout();
  const dirs: CgroupDirs =
    l.mode === 'v2'
      ? { unified: cgroupDir(l, 'unified', '/') as string }
      : { cpuacct: cgroupDir(l, 'cpuacct', '/') ?? undefined };
  const a = readCgroupCpuUsage(dirs);
  assert.ok(a);
  const end = Date.now() + 30;
  while (Date.now() < end) {
    /* spin */
  }
  const b = readCgroupCpuUsage(dirs);
  assert.ok(b && b.usageNs > a.usageNs);
});
