import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { defaultConfig, type IotracingConfig } from '../../config';
import { parseDiskstats, type BlockDevice, type DiskStat } from '../../host/diskstats';
import { IotracingDetector, ruleReason, type IoDeviceReading } from './detector';
import { repoRoot } from '../../bpf/native';

/** The recorded /proc/diskstats: one sample per '@ <ms>' line. */
function recorded(): { t: number; stats: Map<string, DiskStat> }[] {
  // from the source tree also when the test runs compiled from build/
  const text = fs.readFileSync(
    path.join(repoRoot(), 'agent/src/tracers/iotracing/fixtures/diskstats-loop-burst.txt'),
    'utf8'
  );
  const out: { t: number; stats: Map<string, DiskStat> }[] = [];
  let cur: string[] = [];
  let t = -1;
  const flush = () => {
    if (t >= 0) out.push({ t, stats: parseDiskstats(cur.join('\n')) });
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^@ (\d+)/.exec(line);
    if (m) {
      flush();
      t = Number(m[1]);
      cur = [];
    } else if (line.trim()) cur.push(line);
  }
  flush();
  return out;
}

const dev = (name: string, major: number, minor: number, extra: Partial<BlockDevice> = {}): BlockDevice => ({
  name,
  major,
  minor,
  rotational: false,
  nvme: false,
  virtual: name.startsWith('loop'),
  sizeBytes: 1 << 28,
  partitions: [],
  ...extra,
});
const DEVICES = [dev('loop0', 7, 0), dev('vda', 254, 0, { rotational: true })];

function cfg(over: Partial<IotracingConfig> = {}): IotracingConfig {
  return { ...defaultConfig().tracers.iotracing, interval: 500, baselineWindow: 10_000, ...over };
}

function run(c: IotracingConfig, devices = DEVICES): { at: number; r: IoDeviceReading }[] {
  const d = new IotracingDetector(c);
  const fired: { at: number; r: IoDeviceReading }[] = [];
  for (const s of recorded())
    for (const r of d.update(s.stats, s.t, devices)) if (r.fired.length) fired.push({ at: s.t, r });
  return fired;
}

test('recorded burst, default thresholds: the loop device fires once on utilisation after two samples; vda does not', () => {
  const fired = run(cfg());
  assert.equal(fired.length, 1, JSON.stringify(fired.map((f) => [f.at, f.r.device.name, f.r.fired])));
  const f = fired[0]!;
  assert.equal(f.r.device.name, 'loop0');
  assert.deepEqual(f.r.fired, ['util']);
  assert.ok(f.r.readings.util.value > 90 && f.r.readings.util.held === 2);
  // the burst starts about 3 s in: the second elevated sample is about a second later
  assert.ok(f.at > 3000 && f.at < 5500, `fired at ${f.at} ms`);
  assert.match(
    ruleReason(f.r, 'util', cfg()),
    /^loop0 \(7:0\) utilisation \d+(\.\d)?% > 90% and .* above its baseline 0% for 2 samples \(util .*MiB\/s read\/written, queue/
  );
});

test('recorded burst, low await threshold: write await fires once per excursion, reads stay quiet', () => {
  const c = cfg({ awaitThreshold: 1, awaitDeltaThreshold: 0, utilThreshold: 100, includeDevices: ['loop*'] });
  const fired = run(c);
  // In the recording fio's start stalled the device for one sample (no completions: await 0) after two
  // slow samples, so the spike is two excursions; the tracer's cooldown keeps the second from capturing.
  assert.deepEqual(
    fired.map((f) => f.r.fired),
    [['write_await'], ['write_await']]
  );
  assert.ok(fired[0]!.at < 4500, `first at ${fired[0]!.at} ms`);
  for (const f of fired) assert.ok(f.r.readings.write_await.value > 1 && f.r.readings.read_await.value === 0);
  assert.match(
    ruleReason(fired[0]!.r, 'write_await', c),
    /^loop0 \(7:0\) write await [\d.]+ ms > 1 ms and [\d.]+ ms above its baseline 0 ms for 2 samples/
  );
});

test('several rules in one sample: the one furthest past its threshold (relative for await) comes first', () => {
  const sda = [dev('sda', 8, 0)];
  const d = new IotracingDetector(cfg());
  const x = { reads: 0, readMs: 0, writes: 0, writeMs: 0, sectorsW: 0, ioMs: 0 };
  let fired: string[] = [];
  for (let i = 0; i < 12; i++) {
    const busy = i >= 8;
    x.writes += busy ? 50 : 1;
    x.writeMs += busy ? 50 * 300 : 1; // 300 ms await: 3x its 100 ms threshold
    x.sectorsW += 8;
    x.ioMs += busy ? 495 : 5; // 99% util: 9 points over 90
    const r = d.update(sample('sda', x), (i + 1) * 500, sda)[0];
    if (r?.fired.length) fired = r.fired;
  }
  assert.deepEqual(fired, ['write_await', 'util']);
});

test('NVMe: utilisation counts only with bandwidth above the NVMe thresholds', () => {
  const nvme = [dev('loop0', 7, 0, { nvme: true }), DEVICES[1]!];
  // the burst writes well above 1500 MiB/s: util fires as usual
  assert.equal(run(cfg(), nvme).length, 1);
  const slowBw = run(cfg({ nvmeWriteThreshold: 64 * 1024 ** 3 }), nvme);
  assert.equal(slowBw.length, 0, 'busy but below the bandwidth rule');
});

test('device filters: excluded devices are not even read', () => {
  const d = new IotracingDetector(cfg({ excludeDevices: ['loop*'] }));
  const names = new Set<string>();
  for (const s of recorded()) for (const r of d.update(s.stats, s.t, DEVICES)) names.add(r.device.name);
  assert.deepEqual([...names], ['vda']);
  assert.equal(d.watches('loop0'), false);
  assert.equal(d.watches('vda'), true);
});

/** diskstats text for one device from cumulative counters. */
function sample(
  name: string,
  c: { reads: number; readMs: number; writes: number; writeMs: number; sectorsW: number; ioMs: number }
): Map<string, DiskStat> {
  return parseDiskstats(
    `   8       0 ${name} ${c.reads} 0 ${c.reads * 8} ${c.readMs} ${c.writes} 0 ${c.sectorsW} ${c.writeMs} 0 ${c.ioMs} ${c.readMs + c.writeMs} 0 0 0 0 0 0\n`
  );
}

test('a disk that is always busy is its own baseline: no trigger; a jump on top of a quiet baseline fires once per excursion', () => {
  const c = cfg({ holdSamples: 2 });
  const sda = [dev('sda', 8, 0, { rotational: true })];
  const d = new IotracingDetector(c);
  const x = { reads: 0, readMs: 0, writes: 0, writeMs: 0, sectorsW: 0, ioMs: 0 };
  let t = 0;
  const step = (util: number, writes: number, awaitMs: number) => {
    t += 500;
    x.writes += writes;
    x.writeMs += writes * awaitMs;
    x.sectorsW += writes * 8;
    x.ioMs += (util / 100) * 500;
    return d.update(sample('sda', x), t, sda)[0];
  };
  step(0, 0, 0);
  let fires = 0;
  // busy from the start: 96% util, 20 ms await, for a minute
  for (let i = 0; i < 120; i++) fires += step(96, 100, 20)?.fired.length ? 1 : 0;
  assert.equal(fires, 0, 'no trigger for the normal state of a busy disk');
  // quiet for 20 s, then a jump in await to 300 ms for 5 s: one trigger
  for (let i = 0; i < 40; i++) step(5, 2, 1);
  const fired: string[][] = [];
  for (let i = 0; i < 10; i++) {
    const r = step(60, 20, 300);
    if (r?.fired.length) fired.push(r.fired);
  }
  assert.deepEqual(fired, [['write_await']]);
  // a device that disappears and comes back with reset counters starts over
  assert.equal(
    d.update(sample('sda', { reads: 0, readMs: 0, writes: 1, writeMs: 1, sectorsW: 8, ioMs: 1 }), t + 500, sda).length,
    0
  );
});
