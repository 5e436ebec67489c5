import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpikeDetector, Cooldowns, median } from './detector';

const rule = { threshold: 45, deltaThreshold: 20, holdSamples: 3, baselineSamples: 60 };

function feed(d: SpikeDetector, values: number[]) {
  return values.map((v) => d.update(v));
}

test('a jump above threshold and baseline fires once, after holdSamples', () => {
  const d = new SpikeDetector(rule);
  const r = feed(d, [5, 6, 4, 5, 80, 82, 85, 90, 88]);
  assert.deepEqual(
    r.map((x) => x.fired),
    [false, false, false, false, false, false, true, false, false]
  );
  assert.equal(r[6]!.baseline, 5);
  assert.equal(r[6]!.delta, 80);
});

test('noise around a high baseline does not fire; a blip shorter than the hold does not fire', () => {
  const d = new SpikeDetector(rule);
  const noisy = Array.from({ length: 60 }, (_, i) => 50 + ((i * 37) % 11) - 5);
  assert.ok(feed(d, noisy).every((x) => !x.fired));
  const d2 = new SpikeDetector(rule);
  assert.ok(feed(d2, [5, 5, 5, 90, 90, 5, 90, 90, 5]).every((x) => !x.fired));
});

test('the baseline is the median of recent normal samples, not the previous sample', () => {
  const d = new SpikeDetector({ ...rule, holdSamples: 1 });
  assert.equal(feed(d, [10, 30, 10, 10, 60]).at(-1)!.baseline, 10, 'median ignores the one-off 30');
  const d2 = new SpikeDetector({ ...rule, holdSamples: 1 });
  // a slow ramp: each step is small against the previous sample, large against the baseline
  const r = feed(d2, [10, 10, 10, 20, 30, 40, 50]);
  assert.equal(r.at(-1)!.fired, true, 'Huatuo-style "delta vs previous" would miss this ramp');
});

test('no firing during warm-up; re-arms only after the value falls back', () => {
  const d = new SpikeDetector({ ...rule, holdSamples: 1, warmupSamples: 3 });
  const r = feed(d, [90, 90, 90, 90]);
  assert.ok(
    r.every((x) => !x.fired),
    'an already-busy host at start-up is the baseline, not a spike'
  );
  const d2 = new SpikeDetector({ ...rule, holdSamples: 2 });
  const r2 = feed(d2, [5, 5, 80, 80, 80, 80, 5, 80, 80]);
  assert.deepEqual(
    r2.map((x) => x.fired),
    [false, false, false, true, false, false, false, false, true]
  );
});

test('a plateau longer than the baseline window becomes the new normal', () => {
  const d = new SpikeDetector({ ...rule, holdSamples: 1, baselineSamples: 5 });
  feed(d, [5, 5, 5, 5, 5]);
  const r = feed(d, Array(12).fill(70));
  assert.ok(r[0]!.fired);
  assert.equal(r.at(-1)!.elevated, false);
  assert.equal(r.at(-1)!.baseline, 70);
});

test('median and cooldowns', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(median([]), 0);
  const c = new Cooldowns();
  c.start('host', 1000, 500);
  assert.equal(c.active('host', 1200), 1500);
  assert.equal(c.active('host', 1500), null);
  assert.equal(c.active('other', 1200), null);
});
