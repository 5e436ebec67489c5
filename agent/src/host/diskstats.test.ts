import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { FIXTURE_HOSTS } from '../../../test/fixtures/hosts/hosts';
import { diskIoRates, parseDiskstats, partitionParents, readBlockDevices, readDiskstats } from './diskstats';

const line = (name: string, v: number[]): string => `   8       0 ${name} ${v.join(' ')}`;

test('parses all 17 counters; older 14-column lines leave discard/flush at 0', () => {
  const d = readDiskstats(FIXTURE_HOSTS.v2);
  assert.ok(d);
  const nvme = d.get('nvme0n1');
  assert.ok(nvme);
  assert.equal(nvme.major, 259);
  assert.equal(nvme.readsCompleted, 2390021);
  assert.equal(nvme.sectorsWritten, 601223340);
  assert.equal(nvme.weightedIoMs, 5122012);
  assert.equal(nvme.flushesCompleted, 120331);
  assert.equal(nvme.flushMs, 198211);
  const old = parseDiskstats('   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n').get('sda');
  assert.equal(old?.weightedIoMs, 11);
  assert.equal(old?.discardsCompleted, 0);
  assert.equal(parseDiskstats('garbage\n').size, 0);
});

test('iostat-style rates between two samples', () => {
  const prev = parseDiskstats(
    line('sda', [1000, 0, 80000, 2000, 500, 0, 40000, 5000, 0, 10000, 30000, 0, 0, 0, 0, 0, 0])
  );
  const cur = parseDiskstats(
    line('sda', [1400, 10, 86400, 3200, 700, 3, 43200, 7000, 4, 11500, 36000, 20, 0, 160, 5, 0, 0])
  );
  const [r, ...rest] = diskIoRates(prev, cur, 2000);
  assert.equal(rest.length, 0);
  assert.ok(r);
  assert.equal(r.readIops, 200);
  assert.equal(r.writeIops, 100);
  assert.equal(r.readBytesPerSec, (6400 * 512) / 2);
  assert.equal(r.writeBytesPerSec, (3200 * 512) / 2);
  assert.equal(r.readAwaitMs, 3);
  assert.equal(r.writeAwaitMs, 10);
  assert.equal(r.utilPercent, 75);
  assert.equal(r.avgQueueSize, 3);
  assert.equal(r.avgRequestBytes, 8192);
  assert.equal(r.discardIops, 10);
  assert.equal(r.inFlight, 4);
});

test('idle devices give zeros, util is capped, resets and new devices are left out', () => {
  const prev = parseDiskstats(
    [line('sda', [5, 0, 40, 1, 0, 0, 0, 0, 0, 10, 10]), line('sdb', [100, 0, 800, 50, 0, 0, 0, 0, 0, 100, 100])].join(
      '\n'
    )
  );
  const cur = parseDiskstats(
    [
      line('sda', [5, 0, 40, 1, 0, 0, 0, 0, 0, 1200, 10]), // io_ticks ran 1190 ms in a 1000 ms window (rounding)
      line('sdb', [3, 0, 24, 2, 0, 0, 0, 0, 0, 5, 5]), // re-added: counters restarted
      line('sdc', [1, 0, 8, 1, 0, 0, 0, 0, 0, 1, 1]), // appeared
    ].join('\n')
  );
  const rates = diskIoRates(prev, cur, 1000);
  assert.deepEqual(
    rates.map((r) => r.name),
    ['sda']
  );
  assert.equal(rates[0]?.utilPercent, 100);
  assert.equal(rates[0]?.readAwaitMs, 0);
  assert.equal(rates[0]?.avgRequestBytes, 0);
  assert.deepEqual(diskIoRates(prev, cur, 0), []);
});

test('idle loop/ram devices are kept unless skipIdleVirtual', () => {
  const s = readDiskstats(FIXTURE_HOSTS.hybrid);
  assert.ok(s);
  const all = diskIoRates(s, s, 1000)
    .map((r) => r.name)
    .sort();
  assert.deepEqual(all, ['loop0', 'loop1', 'vda', 'vdb', 'zram0']);
  // Same sample twice: every device idle; only the real disks stay.
  assert.deepEqual(
    diskIoRates(s, s, 1000, { skipIdleVirtual: true })
      .map((r) => r.name)
      .sort(),
    ['vda', 'vdb']
  );
});

test('block device metadata from /sys/block: partitions, nvme, rotational, virtual', () => {
  const v1 = readBlockDevices(FIXTURE_HOSTS.v1);
  assert.deepEqual(
    v1.map((d) => d.name),
    ['dm-0', 'loop0', 'sda', 'sr0']
  );
  const sda = v1.find((d) => d.name === 'sda');
  assert.deepEqual(sda && { ...sda }, {
    name: 'sda',
    major: 8,
    minor: 0,
    rotational: true,
    nvme: false,
    virtual: false,
    sizeBytes: 976773168 * 512,
    partitions: ['sda1', 'sda2'],
  });
  assert.equal(v1.find((d) => d.name === 'dm-0')?.virtual, true);
  const v2 = readBlockDevices(FIXTURE_HOSTS.v2);
  const nvme = v2.find((d) => d.name === 'nvme0n1');
  assert.equal(nvme?.nvme, true);
  assert.equal(nvme?.rotational, false);
  assert.equal(partitionParents(v2).get('nvme0n1p2'), 'nvme0n1');
  assert.equal(partitionParents(v2).has('nvme1n1'), false);
});

test('live diskstats: every /sys/block device has a line with matching major:minor', () => {
  const stats = readDiskstats();
  assert.ok(stats && stats.size > 0);
  const devs = readBlockDevices();
  assert.equal(devs.length, readdirSync('/sys/block').length);
  for (const d of devs) {
    const s = stats.get(d.name);
    assert.ok(s, `${d.name} in /proc/diskstats`);
    assert.equal(`${s.major}:${s.minor}`, `${d.major}:${d.minor}`);
  }
  const loops = devs.filter((d) => d.name.startsWith('loop'));
  assert.ok(
    loops.every((d) => d.virtual),
    'loop devices live under /sys/devices/virtual'
  );
});
