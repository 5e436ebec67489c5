// Decodes a frame the way Grafana reads it: an Arrow IPC *file* (ARROW1 at both ends), schema
// metadata name/refId/meta, field metadata labels/config; only the Arrow types Grafana accepts.
import * as assert from 'node:assert/strict';
import { DataType, Type, tableFromIPC } from 'apache-arrow';

export interface DecodedField {
  name: string;
  type: 'string' | 'float64' | 'int64' | 'bool' | 'time';
  nullable: boolean;
  labels: Record<string, string> | undefined;
  config: Record<string, unknown> | undefined;
  /** strings, numbers (int64 as number), booleans, times as ms since epoch (from ns) */
  values: unknown[];
}

export interface DecodedFrame {
  name: string;
  refId: string;
  meta: Record<string, unknown> & {
    type?: string;
    typeVersion?: number[];
    preferredVisualisationType?: string;
    notices?: Array<{ severity: string; text: string }>;
    custom?: Record<string, unknown>;
  };
  fields: DecodedField[];
  rows: number;
  field(name: string): DecodedField;
}

export function decodeFrame(bytes: Uint8Array): DecodedFrame {
  const buf = Buffer.from(bytes);
  assert.equal(buf.subarray(0, 6).toString('latin1'), 'ARROW1', 'frame must be an Arrow IPC file (leading magic)');
  assert.equal(
    buf.subarray(buf.length - 6).toString('latin1'),
    'ARROW1',
    'frame must be an Arrow IPC file (trailing magic)'
  );
  const table = tableFromIPC(buf);
  const md = table.schema.metadata;
  const fields: DecodedField[] = table.schema.fields.map((f, i) => {
    const t = f.type as DataType;
    let type: DecodedField['type'];
    switch (t.typeId) {
      case Type.Utf8:
        type = 'string';
        break;
      case Type.Float:
        assert.equal((t as unknown as { precision: number }).precision, 2, `${f.name}: float must be Float64`);
        type = 'float64';
        break;
      case Type.Int:
        assert.equal((t as unknown as { bitWidth: number }).bitWidth, 64, `${f.name}: int must be Int64`);
        type = 'int64';
        break;
      case Type.Bool:
        type = 'bool';
        break;
      case Type.Timestamp:
        assert.equal((t as unknown as { unit: number }).unit, 3, `${f.name}: timestamps must be nanoseconds`);
        type = 'time';
        break;
      default:
        assert.fail(
          `field ${f.name} has Arrow type ${String(t)} (typeId ${t.typeId}), which this backend must not produce`
        );
    }
    assert.equal(f.metadata.get('name'), f.name, 'field metadata carries the name as the Go SDK writes it');
    const col = table.getChildAt(i)!;
    const values: unknown[] = [];
    for (let r = 0; r < table.numRows; r++) {
      if (!col.isValid(r)) {
        values.push(null);
        continue;
      }
      if (type === 'time' || type === 'int64') {
        const raw = (col.data[0]!.values as BigInt64Array)[r]!;
        values.push(type === 'time' ? Number(raw / 1_000_000n) + Number(raw % 1_000_000n) / 1e6 : Number(raw));
      } else {
        values.push(col.get(r));
      }
    }
    const labels = f.metadata.get('labels');
    const config = f.metadata.get('config');
    return {
      name: f.name,
      type,
      nullable: f.nullable,
      labels: labels ? (JSON.parse(labels) as Record<string, string>) : undefined,
      config: config ? (JSON.parse(config) as Record<string, unknown>) : undefined,
      values,
    };
  });
  assert.ok(table.batches.length <= 1, 'one record batch per frame');
  const metaText = md.get('meta');
  return {
    name: md.get('name') ?? '',
    refId: md.get('refId') ?? '',
    meta: metaText ? (JSON.parse(metaText) as DecodedFrame['meta']) : {},
    fields,
    rows: table.numRows,
    field(name: string): DecodedField {
      const f = fields.find((x) => x.name === name);
      assert.ok(f, `frame ${md.get('name')} has no field ${name} (has ${fields.map((x) => x.name).join(', ')})`);
      return f;
    },
  };
}
