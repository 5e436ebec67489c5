import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type, tableFromIPC } from 'apache-arrow';
import { frameToArrow, msToNs } from './arrow';
import { field, type Frame } from './frame';

describe('frames as Arrow IPC files', () => {
  const frame: Frame = {
    name: 'f1',
    refId: 'A',
    meta: { type: 'timeseries-multi', typeVersion: [0, 1], notices: [{ severity: 'warning', text: 'partial' }] },
    fields: [
      field('time', 'time', [1_700_000_000_123, 1_700_000_000_124.5]),
      field('s', 'string', ['α', null]),
      field('n', 'float64', [1.5, null], { labels: { host: 'h', type: 'cpusys' }, config: { unit: 'short' } }),
      field('i', 'int64', [2 ** 40, -3]),
      field('b', 'bool', [true, false]),
    ],
  };

  it('writes the file format with Grafana metadata and explicit types', () => {
    const bytes = frameToArrow(frame);
    assert.equal(Buffer.from(bytes.subarray(0, 6)).toString(), 'ARROW1');
    assert.equal(Buffer.from(bytes.subarray(bytes.length - 6)).toString(), 'ARROW1');
    const t = tableFromIPC(bytes);
    assert.equal(t.schema.metadata.get('name'), 'f1');
    assert.equal(t.schema.metadata.get('refId'), 'A');
    assert.deepEqual(JSON.parse(t.schema.metadata.get('meta')!), frame.meta);
    assert.deepEqual(
      t.schema.fields.map((f) => [f.name, Type[f.type.typeId], f.nullable]),
      [
        ['time', 'Timestamp', false],
        ['s', 'Utf8', true],
        ['n', 'Float', true],
        ['i', 'Int', false],
        ['b', 'Bool', false],
      ]
    );
    const n = t.schema.fields[2]!;
    assert.deepEqual(JSON.parse(n.metadata.get('labels')!), { host: 'h', type: 'cpusys' });
    assert.deepEqual(JSON.parse(n.metadata.get('config')!), { unit: 'short' });
    assert.equal(n.metadata.get('name'), 'n');
    assert.equal(t.schema.fields[0]!.metadata.has('labels'), false);
  });

  it('stores timestamps as nanoseconds and keeps values and nulls', () => {
    const t = tableFromIPC(frameToArrow(frame));
    const ts = t.getChild('time')!.data[0]!.values as BigInt64Array;
    assert.equal(ts[0], 1_700_000_000_123_000_000n);
    assert.equal(ts[1], 1_700_000_000_124_500_000n);
    assert.deepEqual(t.getChild('s')!.toArray(), ['α', null]);
    assert.equal(t.getChild('n')!.get(0), 1.5);
    assert.equal(t.getChild('n')!.get(1), null);
    assert.deepEqual([...(t.getChild('i')!.data[0]!.values as BigInt64Array)], [2n ** 40n, -3n]);
    assert.deepEqual(t.getChild('b')!.toArray(), [true, false]);
  });

  it('encodes an empty frame and refuses ragged fields', () => {
    const t = tableFromIPC(
      frameToArrow({ name: 'e', refId: 'B', fields: [field('time', 'time', []), field('v', 'float64', [])] })
    );
    assert.equal(t.numRows, 0);
    assert.equal(t.schema.fields.length, 2);
    assert.throws(
      () => frameToArrow({ name: 'r', refId: 'C', fields: [field('a', 'string', ['x']), field('b', 'string', [])] }),
      /has 0 values, expected 1/
    );
  });

  it('msToNs is exact for whole milliseconds', () => {
    assert.equal(msToNs(Date.UTC(2030, 0, 1)), BigInt(Date.UTC(2030, 0, 1)) * 1_000_000n);
  });
});
