// Frame → one Apache Arrow IPC *file* (magic ARROW1), the way grafana-plugin-sdk-go's
// Frame.MarshalArrow lays it out: schema metadata {name, refId, meta(JSON)}, field metadata
// {name, labels(JSON), config(JSON)}. Every vector is built explicitly from typed buffers: strings are
// plain Utf8 (never dictionary-encoded), numbers Float64/Int64, booleans Bool, and times
// Timestamp(NANOSECOND) holding nanoseconds since the epoch.
import {
  Bool,
  Data,
  Field as ArrowField,
  Float64,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampNanosecond,
  Utf8,
  makeData,
  tableToIPC,
  type DataType,
} from 'apache-arrow';
import type { Field, Frame } from './frame';

const encoder = new TextEncoder();

function validityBitmap(values: readonly unknown[]): { bitmap: Uint8Array | undefined; nullCount: number } {
  let nullCount = 0;
  for (const v of values) if (v === null || v === undefined) nullCount++;
  if (nullCount === 0) return { bitmap: undefined, nullCount: 0 };
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v !== null && v !== undefined) bitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { bitmap, nullCount };
}

/** ms since epoch (possibly fractional) → ns since epoch, exactly for whole ms. */
export function msToNs(ms: number): bigint {
  const whole = Math.trunc(ms);
  const frac = Math.round((ms - whole) * 1e6);
  return BigInt(whole) * 1_000_000n + BigInt(frac);
}

function buildData(f: Field): Data<DataType> {
  const n = f.values.length;
  const { bitmap, nullCount } = validityBitmap(f.values);
  switch (f.type) {
    case 'string': {
      const offsets = new Int32Array(n + 1);
      const chunks: Uint8Array[] = [];
      let total = 0;
      f.values.forEach((v, i) => {
        const bytes = v === null || v === undefined ? new Uint8Array(0) : encoder.encode(String(v));
        chunks.push(bytes);
        total += bytes.length;
        offsets[i + 1] = total;
      });
      const data = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) {
        data.set(c, at);
        at += c.length;
      }
      return makeData({ type: new Utf8(), length: n, nullCount, nullBitmap: bitmap, valueOffsets: offsets, data });
    }
    case 'float64': {
      const data = new Float64Array(n);
      f.values.forEach((v, i) => (data[i] = typeof v === 'number' ? v : v === null ? 0 : Number(v)));
      return makeData({ type: new Float64(), length: n, nullCount, nullBitmap: bitmap, data });
    }
    case 'int64': {
      const data = new BigInt64Array(n);
      f.values.forEach((v, i) => (data[i] = typeof v === 'number' && Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n));
      return makeData({ type: new Int64(), length: n, nullCount, nullBitmap: bitmap, data });
    }
    case 'time': {
      const data = new BigInt64Array(n);
      f.values.forEach((v, i) => (data[i] = typeof v === 'number' && Number.isFinite(v) ? msToNs(v) : 0n));
      return makeData({ type: new TimestampNanosecond(), length: n, nullCount, nullBitmap: bitmap, data });
    }
    case 'bool': {
      const data = new Uint8Array(Math.ceil(n / 8));
      f.values.forEach((v, i) => {
        if (v === true) data[i >> 3]! |= 1 << (i & 7);
      });
      return makeData({ type: new Bool(), length: n, nullCount, nullBitmap: bitmap, data });
    }
  }
}

function arrowField(f: Field, data: Data<DataType>): ArrowField {
  const md = new Map<string, string>([['name', f.name]]);
  if (f.labels && Object.keys(f.labels).length > 0) md.set('labels', JSON.stringify(f.labels));
  if (f.config && Object.keys(f.config).length > 0) md.set('config', JSON.stringify(f.config));
  return new ArrowField(f.name, data.type, data.nullCount > 0, md);
}

/** Encodes one frame as an Arrow IPC file. */
export function frameToArrow(frame: Frame): Uint8Array {
  const length = frame.fields.length === 0 ? 0 : frame.fields[0]!.values.length;
  for (const f of frame.fields) {
    if (f.values.length !== length) {
      throw new Error(`frame ${frame.name}: field ${f.name} has ${f.values.length} values, expected ${length}`);
    }
  }
  const datas = frame.fields.map(buildData);
  const fields = frame.fields.map((f, i) => arrowField(f, datas[i]!));
  const md = new Map<string, string>([
    ['name', frame.name],
    ['refId', frame.refId],
  ]);
  if (frame.meta && Object.keys(frame.meta).length > 0) md.set('meta', JSON.stringify(frame.meta));
  const schema = new Schema(fields, md);
  const struct = makeData({ type: new Struct(fields), length, nullCount: 0, children: datas });
  const table = new Table(schema, [new RecordBatch(schema, struct)]);
  return tableToIPC(table, 'file');
}
