import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DataQuery } from '../plugin/messages';
import { QueryError, parseQuery } from './parse';

function dq(json: string | object, extra: Partial<DataQuery> = {}): DataQuery {
  return {
    refId: 'A',
    maxDataPoints: 500,
    intervalMS: 2000,
    timeRange: { fromEpochMS: 1000, toEpochMS: 5000 },
    json: Buffer.from(typeof json === 'string' ? json : JSON.stringify(json)),
    queryType: '',
    ...extra,
  };
}

describe('query JSON', () => {
  it('reads the contract fields', () => {
    const q = parseQuery(
      dq({
        refId: 'A',
        queryType: 'events',
        types: ['cpusys', 'dload'],
        hosts: ['h1'],
        container: 'web',
        eventId: '01HXYZ0000000000000000ABCD',
        limit: 5,
      })
    );
    assert.equal(q.queryType, 'events');
    assert.deepEqual(q.types, ['cpusys', 'dload']);
    assert.deepEqual(q.hosts, ['h1']);
    assert.equal(q.container, 'web');
    assert.equal(q.eventId, '01HXYZ0000000000000000ABCD');
    assert.equal(q.limit, 5);
    assert.deepEqual([q.from, q.to, q.intervalMs, q.maxDataPoints], [1000, 5000, 2000, 500]);
  });

  it('takes the queryType from DataQuery.queryType first', () => {
    assert.equal(parseQuery(dq({ queryType: 'events' }, { queryType: 'counts' })).queryType, 'counts');
    assert.equal(parseQuery(dq('', { queryType: 'memory' })).queryType, 'memory');
  });

  it('accepts comma-separated strings for lists (template variables)', () => {
    assert.deepEqual(parseQuery(dq({ queryType: 'events', types: 'cpusys, memburst', hosts: 'a,b,,a' })).types, [
      'cpusys',
      'memburst',
    ]);
    assert.deepEqual(parseQuery(dq({ queryType: 'events', hosts: 'a,b,,a' })).hosts, ['a', 'b']);
  });

  it('optional extension by: "stack" for dstate (one row per stack group); counts keep by type unless container', () => {
    assert.equal(parseQuery(dq({ queryType: 'dstate', by: 'stack' })).dstateBy, 'stack');
    assert.equal(parseQuery(dq({ queryType: 'dstate' })).dstateBy, 'task');
    assert.equal(parseQuery(dq({ queryType: 'counts', by: 'stack' })).by, 'type');
  });

  it('rejects what is wrong with a 400 QueryError', () => {
    const cases: Array<[string | object, RegExp]> = [
      ['{"queryType":', /malformed/],
      ['[1,2]', /must be an object/],
      [{}, /queryType is missing/],
      [{ queryType: 'graph' }, /unknown queryType "graph"/],
      [{ queryType: 'events', types: ['cpu'] }, /unknown type "cpu"/],
      [{ queryType: 'events', types: [1] }, /types must be a list of strings/],
      [{ queryType: 'events', limit: 0 }, /limit must be a positive integer/],
      [{ queryType: 'events', limit: 1.5 }, /limit must be a positive integer/],
      [{ queryType: 'flamegraph', eventId: '../../x' }, /eventId must be an event id/],
      [{ queryType: 'events', container: 7 }, /container must be a string/],
    ];
    for (const [json, re] of cases) {
      assert.throws(
        () => parseQuery(dq(json)),
        (e: unknown) => e instanceof QueryError && e.status === 400 && re.test(e.message),
        JSON.stringify(json)
      );
    }
    assert.throws(
      () => parseQuery(dq({ queryType: 'events' }, { timeRange: { fromEpochMS: 9, toEpochMS: 1 } })),
      /from ≤ to/
    );
  });
});
