import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIXED_1, FixedPointEwma, ScopeLoad, calcLoad, decayFactor } from './loadavg';

test('decay factors: the kernel constants at its 5 s step, ours at 1 s', () => {
  // include/linux/sched/loadavg.h: EXP_1 1884, EXP_5 2014, EXP_15 2037 for LOAD_FREQ = 5 s
  assert.equal(decayFactor(5000, 60_000), 1884);
  assert.equal(decayFactor(5000, 300_000), 2014);
  assert.equal(decayFactor(5000, 900_000), 2037);
  assert.equal(decayFactor(1000, 60_000), 2014);
  assert.equal(decayFactor(500, 5000), 1853);
  assert.throws(() => decayFactor(0, 60_000), RangeError);
});

test('calcLoad is the kernel formula: rounds up while rising, truncates while falling', () => {
  // one task from 0 with EXP_1: (0·1884 + 2048·164 + 2047) >> 11 = 164
  assert.equal(calcLoad(0, 1884, FIXED_1), 164);
  assert.equal(calcLoad(164, 1884, FIXED_1), Math.floor((164 * 1884 + FIXED_1 * 164 + FIXED_1 - 1) / FIXED_1));
  assert.equal(calcLoad(2048, 1884, 0), Math.floor((2048 * 1884) / FIXED_1));
  // a steady count is a fixed point
  assert.equal(calcLoad(3 * FIXED_1, 2014, 3 * FIXED_1), 3 * FIXED_1);
});

test('fixed point at 1 s steps stays within 0.03 of the exact 1-minute average', () => {
  const e = new FixedPointEwma(1000, 60_000);
  const a = Math.exp(-1 / 60);
  let exact = 0;
  let worst = 0;
  const counts = [...Array(120).fill(10), ...Array(600).fill(0), ...Array(300).fill(1)] as number[];
  for (const n of counts) {
    e.update(n);
    exact = exact * a + n * (1 - a);
    worst = Math.max(worst, Math.abs(e.value - exact));
  }
  assert.ok(worst < 0.03, `max error ${worst}`);
  assert.ok(Math.abs(e.value - 1) < 0.03);
});

test('a 5 s window reaches 5 with 12 blocked tasks in about 3 s (what the kernel tests rely on)', () => {
  const e = new FixedPointEwma(500, 5000);
  let t = 0;
  while (e.value <= 5) {
    e.update(12);
    t += 500;
  }
  assert.ok(t >= 2500 && t <= 3500, `${t} ms`);
});

test('ScopeLoad: 1/5/15-minute averages step every 5 s with the kernel constants, the trigger average every sample', () => {
  const s = new ScopeLoad(1000, 60_000);
  for (let i = 0; i < 4; i++) s.update(0, 2);
  assert.equal(s.averages().dload1, 0, 'no 5 s step yet');
  assert.ok(s.triggerAverage > 0, 'the trigger average moves at once');
  s.update(1, 2);
  // first step: calcLoad(0, 1884, 2·2048) = ceil(2·2048·164 / 2048) = 328 → 0.16
  assert.equal(s.averages().dload1, 0.16);
  assert.equal(s.averages().load1, 0.24); // 3 tasks: ceil(3·2048·164/2048)=492 → 0.24
  const seeded = new ScopeLoad(1000, 60_000);
  seeded.seed(1, 7);
  assert.equal(seeded.triggerAverage, 7);
  assert.deepEqual(seeded.averages(), { load1: 8, load5: 8, load15: 8, dload1: 7, dload5: 7, dload15: 7 });
  // intervals that do not divide 5 s: the nearest whole number of samples
  const odd = new ScopeLoad(2000, 60_000);
  for (let i = 0; i < 2; i++) odd.update(0, 4);
  assert.equal(odd.averages().dload1, 0);
  odd.update(0, 4);
  assert.ok(odd.averages().dload1 > 0);
});
