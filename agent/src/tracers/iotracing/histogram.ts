// The latency histograms the kernel keeps (bpf/blockio.h): bucket 0 is [0, 1) µs, then four buckets
// per power of two of microseconds ("quarter octaves") up to 2^28 µs, the last one open-ended. The
// kernel buckets floor(ns / 1000). Events carry them sparse and, by default, merged to one bucket
// per power of two (what biolatency shows).
import { IO_HIST_BUCKETS, IO_HIST_SUB } from '../../bpf/blockio';

export type BucketChoice = 'log2' | 'log2/2' | 'log2/4';

export interface HistogramBucket {
  /** inclusive lower bound, µs */
  lowUs: number;
  /** exclusive upper bound, µs; null for the open-ended last bucket */
  highUs: number | null;
  count: number;
}

/** [low, high) in µs of one kernel bucket. */
export function bucketBounds(i: number): { lowUs: number; highUs: number | null } {
  if (i <= 0) return { lowUs: 0, highUs: 1 };
  const j = i - 1;
  const p = Math.floor(j / IO_HIST_SUB);
  const s = j % IO_HIST_SUB;
  const base = 2 ** p;
  const lowUs = base * (1 + s / IO_HIST_SUB);
  const highUs = i >= IO_HIST_BUCKETS - 1 ? null : base * (1 + (s + 1) / IO_HIST_SUB);
  return { lowUs, highUs };
}

/** The kernel's bucket for a latency (the same arithmetic as hist_bucket() in blockio.bpf.c). */
export function bucketOf(ns: number): number {
  const us = Math.floor(ns / 1000);
  if (us <= 0) return 0;
  const p = Math.floor(Math.log2(us));
  if (p >= (IO_HIST_BUCKETS - 1) / IO_HIST_SUB) return IO_HIST_BUCKETS - 1;
  const s = Math.floor((us * IO_HIST_SUB) / 2 ** p) & (IO_HIST_SUB - 1);
  return 1 + p * IO_HIST_SUB + s;
}

function perPower(choice: BucketChoice): number {
  return choice === 'log2/4' ? 4 : choice === 'log2/2' ? 2 : 1;
}

/** Non-empty buckets at the chosen resolution, lowest first. */
export function sparseBuckets(counts: readonly number[], choice: BucketChoice = 'log2'): HistogramBucket[] {
  const per = perPower(choice);
  const group = IO_HIST_SUB / per;
  const out: HistogramBucket[] = [];
  if ((counts[0] ?? 0) > 0) out.push({ lowUs: 0, highUs: 1, count: counts[0]! });
  for (let start = 1; start < IO_HIST_BUCKETS; start += group) {
    let n = 0;
    for (let i = start; i < start + group && i < IO_HIST_BUCKETS; i++) n += counts[i] ?? 0;
    if (n === 0) continue;
    const lo = bucketBounds(start);
    const hi = bucketBounds(Math.min(start + group - 1, IO_HIST_BUCKETS - 1));
    out.push({ lowUs: lo.lowUs, highUs: hi.highUs, count: n });
  }
  return out;
}

export function totalCount(counts: readonly number[]): number {
  let n = 0;
  for (const c of counts) n += c;
  return n;
}

/** The q-quantile (0..1) in µs, interpolated linearly inside its bucket; null with no samples. */
export function percentileUs(counts: readonly number[], q: number): number | null {
  const total = totalCount(counts);
  if (total === 0) return null;
  const rank = Math.min(total, Math.max(1, Math.ceil(q * total)));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (c === 0) continue;
    if (seen + c >= rank) {
      const { lowUs, highUs } = bucketBounds(i);
      if (highUs === null) return lowUs;
      return lowUs + ((highUs - lowUs) * (rank - seen)) / c;
    }
    seen += c;
  }
  return null;
}
