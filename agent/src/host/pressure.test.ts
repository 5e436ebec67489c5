import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { FIXTURE_HOSTS } from '../../../test/fixtures/hosts/hosts';
import { parsePressure, pressureStallPercent, readCgroupPressure, readPressure } from './pressure';

test('host PSI: some and full lines', () => {
  const io = readPressure('io', FIXTURE_HOSTS.v2);
  assert.deepEqual(io, {
    some: { avg10: 12.5, avg60: 3.21, avg300: 0.87, total: 98234511 },
    full: { avg10: 11.02, avg60: 2.98, avg300: 0.8, total: 90123007 },
  });
  const cpu = readPressure('cpu', FIXTURE_HOSTS.v2);
  assert.equal(cpu?.some?.avg10, 4.68);
});

test('the host-wide cpu file of older kernels has no full line', () => {
  const p = parsePressure('some avg10=1.00 avg60=0.50 avg300=0.10 total=1234\n');
  assert.ok(p);
  assert.equal(p.full, null);
  assert.equal(p.some?.total, 1234);
});

test('PSI missing (disabled or old kernel) is null, not an error', () => {
  assert.equal(readPressure('cpu', FIXTURE_HOSTS.v1), null);
  assert.equal(parsePressure(''), null);
});

test('cgroup v2 *.pressure files use the same format', () => {
  const p = readCgroupPressure(`${FIXTURE_HOSTS.v2}/sys/fs/cgroup/system.slice/sshd.service`, 'memory');
  assert.equal(p?.full?.total, 2292802);
  assert.equal(readCgroupPressure(`${FIXTURE_HOSTS.v2}/sys/fs/cgroup/gone`, 'memory'), null);
});

test('stall percent from two totals', () => {
  assert.equal(pressureStallPercent(1_000_000, 1_250_000, 1000), 25);
  assert.equal(pressureStallPercent(1_000_000, 900_000, 1000), null);
  assert.equal(pressureStallPercent(0, 5_000_000, 1000), 100);
});

test('live PSI when the kernel has it', (t) => {
  if (!existsSync('/proc/pressure/cpu')) {
    t.skip('no /proc/pressure on this kernel');
    return;
  }
  const p = readPressure('memory');
  assert.ok(p?.some && p.full);
  assert.ok(p.some.total >= p.full.total);
});
