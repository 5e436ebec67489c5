import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { test } from 'node:test';
import { FIXTURE_HOSTS } from '../../../test/fixtures/hosts/hosts';
import { parseLoadavg, readLoadavg } from './loadavg';

test('parses /proc/loadavg', () => {
  assert.deepEqual(readLoadavg(FIXTURE_HOSTS.v1), {
    load1: 2.15,
    load5: 1.87,
    load15: 1.42,
    running: 3,
    total: 412,
    lastPid: 5123,
  });
  assert.equal(parseLoadavg('nonsense'), null);
});

test('live loadavg agrees with os.loadavg()', () => {
  const l = readLoadavg();
  assert.ok(l);
  assert.ok(l.running >= 1, 'we are running');
  assert.ok(Math.abs(l.load15 - (loadavg()[2] as number)) < 0.05);
});
