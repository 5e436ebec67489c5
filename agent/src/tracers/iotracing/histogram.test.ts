import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IO_HIST_BUCKETS } from '../../bpf/blockio';
import { bucketBounds, bucketOf, percentileUs, sparseBuckets, totalCount } from './histogram';

test('bucketOf matches the kernel arithmetic and falls inside bucketBounds', () => {
  assert.equal(bucketOf(0), 0);
  assert.equal(bucketOf(999), 0);
  assert.equal(bucketOf(1000), 1); // [1, 1.25) µs
  assert.equal(bucketOf(2000), 5); // p=1 s=0: [2, 2.5)
  assert.equal(bucketOf(3000), 7); // p=1 s=2: [3, 3.5)
  assert.equal(bucketOf(4_000), 9); // p=2 s=0: [4, 5)
  assert.equal(bucketOf(7_999), 12); // p=2 s=3: [7, 8)
  assert.equal(bucketOf(1e15), IO_HIST_BUCKETS - 1);
  for (const ns of [1000, 1500, 2999, 4000, 5000, 6999, 123_456, 9_999_999, 3.3e9, 2 ** 27 * 1000 + 5]) {
    const b = bucketOf(ns);
    const { lowUs, highUs } = bucketBounds(b);
    const us = Math.floor(ns / 1000);
    assert.ok(us >= lowUs && (highUs === null || us < highUs), `${ns} ns → bucket ${b} [${lowUs}, ${highUs})`);
  }
  // bounds are contiguous and increasing
  for (let i = 1; i < IO_HIST_BUCKETS - 1; i++) assert.equal(bucketBounds(i).highUs, bucketBounds(i + 1).lowUs);
  assert.equal(bucketBounds(IO_HIST_BUCKETS - 1).highUs, null);
});

function counts(samplesNs: number[]): number[] {
  const c = new Array<number>(IO_HIST_BUCKETS).fill(0);
  for (const s of samplesNs) c[bucketOf(s)]!++;
  return c;
}

test('sparse buckets: log2 merges quarter octaves, finer choices keep them; totals preserved', () => {
  const c = counts([500, 1000, 1200, 3000, 3100, 5000, 7000, 1_000_000]);
  const log2 = sparseBuckets(c, 'log2');
  assert.deepEqual(log2, [
    { lowUs: 0, highUs: 1, count: 1 },
    { lowUs: 1, highUs: 2, count: 2 },
    { lowUs: 2, highUs: 4, count: 2 },
    { lowUs: 4, highUs: 8, count: 2 },
    { lowUs: 512, highUs: 1024, count: 1 },
  ]);
  const q = sparseBuckets(c, 'log2/4');
  assert.deepEqual(
    q.find((b) => b.lowUs === 3),
    { lowUs: 3, highUs: 3.5, count: 2 }
  );
  const h = sparseBuckets(c, 'log2/2');
  assert.deepEqual(
    h.find((b) => b.lowUs === 6),
    { lowUs: 6, highUs: 8, count: 1 }
  );
  for (const choice of ['log2', 'log2/2', 'log2/4'] as const) {
    assert.equal(
      sparseBuckets(c, choice).reduce((a, b) => a + b.count, 0),
      totalCount(c)
    );
  }
  // the open-ended last bucket
  const big = sparseBuckets(counts([1e15]), 'log2');
  assert.equal(big.length, 1);
  assert.equal(big[0]!.highUs, null);
});

test('percentiles interpolate inside the bucket and stay within 25% of the truth', () => {
  assert.equal(percentileUs(new Array<number>(IO_HIST_BUCKETS).fill(0), 0.5), null);
  const samples: number[] = [];
  for (let i = 1; i <= 1000; i++) samples.push(i * 10_000); // 10 µs … 10 ms, uniform
  const c = counts(samples);
  for (const [q, truthUs] of [
    [0.5, 5000],
    [0.9, 9000],
    [0.99, 9900],
  ] as const) {
    const p = percentileUs(c, q)!;
    assert.ok(Math.abs(p - truthUs) / truthUs < 0.25, `p${q * 100} ${p} vs ${truthUs}`);
  }
  assert.ok(percentileUs(c, 1)! <= 10_240);
});
