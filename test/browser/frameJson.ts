// What Grafana's server does with a backend plugin's QueryData answer before the browser sees it:
// each frame (an Arrow IPC file) becomes the JSON of POST /api/ds/query,
//   { results: { <refId>: { status, frames: [{ schema: { name, refId, meta, fields }, data: { values } }], error? } } }
// (grafana-plugin-sdk-go data.Frame MarshalJSON: field `type` number|string|time|boolean, `typeInfo.frame`
// the Go type, times as epoch milliseconds). @grafana/runtime's toDataQueryResponse reads exactly this.
import { decodeFrame, type DecodedField } from '../backend/decodeFrame';
import type { QueryDataResponse } from '../../src/backend/plugin/messages';

export interface FieldJSON {
  name: string;
  type: 'number' | 'string' | 'time' | 'boolean';
  typeInfo: { frame: string; nullable?: boolean };
  labels?: Record<string, string>;
  config?: Record<string, unknown>;
}

export interface FrameJSON {
  schema: { name?: string; refId?: string; meta?: Record<string, unknown>; fields: FieldJSON[] };
  data: { values: unknown[][] };
}

export interface DsQueryResult {
  status: number;
  frames: FrameJSON[];
  error?: string;
  errorSource?: string;
}

export interface DsQueryJSON {
  results: Record<string, DsQueryResult>;
}

const TYPES: Record<DecodedField['type'], { type: FieldJSON['type']; frame: string }> = {
  string: { type: 'string', frame: 'string' },
  float64: { type: 'number', frame: 'float64' },
  int64: { type: 'number', frame: 'int64' },
  bool: { type: 'boolean', frame: 'bool' },
  time: { type: 'time', frame: 'time.Time' },
};

export function frameToJSON(bytes: Uint8Array): FrameJSON {
  const f = decodeFrame(bytes);
  const fields: FieldJSON[] = f.fields.map((x) => ({
    name: x.name,
    type: TYPES[x.type].type,
    typeInfo: { frame: TYPES[x.type].frame, ...(x.nullable ? { nullable: true } : {}) },
    ...(x.labels ? { labels: x.labels } : {}),
    ...(x.config ? { config: x.config } : {}),
  }));
  return {
    schema: {
      name: f.name || undefined,
      refId: f.refId || undefined,
      meta: Object.keys(f.meta).length ? f.meta : undefined,
      fields,
    },
    // Grafana sends whole milliseconds and the rest in data.nanos; the frontend only reads the ms
    data: {
      values: f.fields.map((x) =>
        x.type === 'time' ? x.values.map((v) => (v === null ? null : Math.floor(v as number))) : x.values
      ),
    },
  };
}

/** QueryDataResponse (gRPC) → the body of Grafana's POST /api/ds/query (200; per-query errors inside). */
export function queryDataToJSON(resp: QueryDataResponse): DsQueryJSON {
  const results: Record<string, DsQueryResult> = {};
  for (const [refId, r] of Object.entries(resp.responses)) {
    const status = r.status || (r.error ? 500 : 200);
    results[refId] = {
      status,
      frames: (r.frames ?? []).map((b) => frameToJSON(b)),
      ...(r.error ? { error: r.error } : {}),
      ...(r.errorSource ? { errorSource: r.errorSource } : {}),
    };
  }
  return { results };
}
