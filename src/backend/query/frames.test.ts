import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CountsResponse } from '../../../agent/src/api/schemas';
import { countsStep, fitResponses } from './handlers';
import { coarsenCounts, mergeCounts } from './frames';

const resp = (host: string, buckets: number[], series: CountsResponse['series']): { counts: CountsResponse } => ({
  counts: { host, from: buckets[0]!, to: buckets[buckets.length - 1]!, stepMs: 1000, by: 'type', buckets, series },
});

describe('counts merge', () => {
  it('labels by host, sums coinciding series, aligns buckets and zero-fills (host, type)', () => {
    const m = mergeCounts(
      [
        resp('h1', [0, 1000, 2000], [{ labels: { type: 'cpusys' }, values: [1, 0, 2] }]),
        resp('h1', [1000, 2000, 3000], [{ labels: { type: 'cpusys' }, values: [5, 0, 1] }]),
        resp('h2', [0, 1000], [{ labels: { type: 'dload' }, values: [0, 3] }]),
      ],
      { by: 'type', types: ['cpusys', 'dload'], container: null, zeroFill: true }
    );
    assert.deepEqual(m.buckets, [0, 1000, 2000, 3000]);
    const get = (host: string, type: string) => m.series.find((s) => s.labels.host === host && s.labels.type === type)!;
    assert.deepEqual(
      m.buckets.map((b) => get('h1', 'cpusys').values.get(b) ?? 0),
      [1, 5, 2, 1]
    );
    assert.deepEqual(
      m.buckets.map((b) => get('h2', 'dload').values.get(b) ?? 0),
      [0, 3, 0, 0]
    );
    assert.ok(get('h1', 'dload'), 'zero-filled');
    assert.ok(get('h2', 'cpusys'), 'zero-filled');
    assert.equal(m.series.length, 4);
  });

  it('adds the container filter and a single type to the labels', () => {
    const m = mergeCounts([resp('h1', [0], [{ labels: { container: 'web' }, values: [2] }])], {
      by: 'container',
      types: ['cpuidle'],
      container: null,
      zeroFill: true,
    });
    assert.deepEqual(m.series[0]!.labels, { container: 'web', host: 'h1', type: 'cpuidle' });
    const c = mergeCounts([resp('h1', [0], [{ labels: { type: 'dload' }, values: [2] }])], {
      by: 'type',
      types: ['dload'],
      container: 'web',
      zeroFill: false,
    });
    assert.deepEqual(c.series[0]!.labels, { type: 'dload', host: 'h1', container: 'web' });
  });

  it('step: the panel interval, within maxDataPoints and 11000 buckets, in whole seconds', () => {
    assert.equal(countsStep({ from: 0, to: 3_600_000, intervalMs: 15_000, maxDataPoints: 1000 }), 15_000);
    assert.equal(countsStep({ from: 0, to: 3_600_000, intervalMs: 100, maxDataPoints: 100 }), 36_000);
    assert.equal(countsStep({ from: 0, to: 600_000, intervalMs: 0, maxDataPoints: 0 }), 1000);
    assert.equal(countsStep({ from: 0, to: 30 * 86_400_000, intervalMs: 1000, maxDataPoints: 0 }), 236_000);
  });
});

describe('coarser buckets', () => {
  it('merges adjacent buckets and keeps every total', () => {
    const m = mergeCounts(
      [resp('h', [0, 1000, 2000, 3000, 4000], [{ labels: { type: 'cpusys' }, values: [1, 2, 0, 4, 5] }])],
      {
        by: 'type',
        types: ['cpusys'],
        container: null,
        zeroFill: false,
      }
    );
    const c = coarsenCounts(m, 2);
    assert.deepEqual(c.buckets, [0, 2000, 4000]);
    assert.deepEqual(
      c.buckets.map((b) => c.series[0]!.values.get(b) ?? 0),
      [3, 4, 5]
    );
  });
});

describe('response size budget', () => {
  it('replaces the largest results by a 413 for their refId until the response fits', () => {
    const mb = (n: number) => new Uint8Array(n * 1024 * 1024);
    const responses = {
      A: { frames: [mb(3)], status: 200 },
      B: { frames: [mb(2)], status: 200 },
      C: { frames: [new Uint8Array(10)], status: 200 },
    };
    assert.deepEqual(fitResponses(responses, 4 * 1024 * 1024), ['A']);
    assert.equal(responses.A.status, 413);
    assert.match((responses.A as { error?: string }).error!, /too large .*narrow the query/);
    assert.equal(responses.B.frames.length, 1);
    assert.deepEqual(fitResponses({ X: { frames: [mb(1)], status: 200 } }, 4 * 1024 * 1024), []);
  });
});
