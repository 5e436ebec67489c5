import assert from 'node:assert/strict';
import { totalmem } from 'node:os';
import { test } from 'node:test';
import { FIXTURE_HOSTS } from '../../../test/fixtures/hosts/hosts';
import { anonBytes, parseMeminfo, readMeminfo, readVmstat } from './meminfo';

test('meminfo: every key, kB values in bytes, unit-less counts unchanged', () => {
  const mi = readMeminfo(FIXTURE_HOSTS.v1);
  assert.ok(mi);
  assert.equal(mi.MemTotal, 16247740 * 1024);
  assert.equal(mi['Active(anon)'], 1901548 * 1024);
  assert.equal(mi.VmallocTotal, 34359738367 * 1024);
  assert.equal(mi.HugePages_Total, 4);
  assert.equal(mi.Hugepagesize, 2048 * 1024);
  assert.equal(Object.keys(mi).length, 54);
  assert.equal(anonBytes(mi), (1901548 + 409712) * 1024);
});

test('meminfo ignores malformed lines', () => {
  assert.deepEqual(parseMeminfo('MemTotal: 10 kB\ngarbage\nFoo:\nBar: x kB\n'), { MemTotal: 10240 });
});

test('vmstat: all keys as numbers', () => {
  const vm = readVmstat(FIXTURE_HOSTS.v2);
  assert.ok(vm);
  assert.equal(vm.pgmajfault, 1603);
  assert.equal(vm.oom_kill, 2);
  assert.equal(vm.nr_anon_pages, 579505);
});

test('a missing file reads as null', () => {
  assert.equal(readMeminfo('/nonexistent-root'), null);
  assert.equal(readVmstat('/nonexistent-root'), null);
});

test('live meminfo and vmstat', () => {
  const mi = readMeminfo();
  assert.ok(mi);
  // os.totalmem() is MemTotal too.
  assert.equal(mi.MemTotal, totalmem());
  assert.ok((mi.MemAvailable ?? 0) > 0);
  const vm = readVmstat();
  assert.ok(vm && vm.pgfault !== undefined && vm.pgfault > 0);
});
