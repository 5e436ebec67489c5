// A small data-frame model with Grafana's conventions (grafana-plugin-sdk-go data.Frame): a frame has
// a name, a refId, meta (type, typeVersion, preferredVisualisationType, notices, custom) and fields; a
// field has a name, a type, values, labels and config. frames/arrow.ts turns one into Arrow IPC bytes.

export type FieldType = 'time' | 'string' | 'float64' | 'int64' | 'bool';

export type FieldValue<T extends FieldType> = T extends 'time'
  ? number // ms since epoch (converted to ns on encoding)
  : T extends 'string'
    ? string
    : T extends 'float64' | 'int64'
      ? number
      : boolean;

export interface FieldConfig {
  displayName?: string;
  displayNameFromDS?: string;
  unit?: string;
  decimals?: number;
  links?: Array<{ title: string; url: string; targetBlank?: boolean }>;
  custom?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface Field<T extends FieldType = FieldType> {
  name: string;
  type: T;
  /** null entries make the field nullable */
  values: Array<FieldValue<T> | null>;
  labels?: Record<string, string>;
  config?: FieldConfig;
}

export type NoticeSeverity = 'info' | 'warning' | 'error';

export interface Notice {
  severity: NoticeSeverity;
  text: string;
  link?: string;
  inspect?: 'meta' | 'error' | 'data' | 'stats';
}

export interface FrameMeta {
  type?: string;
  typeVersion?: [number, number];
  preferredVisualisationType?: 'graph' | 'table' | 'logs' | 'trace' | 'nodeGraph' | 'flamegraph' | 'rawPrometheus';
  notices?: Notice[];
  custom?: Record<string, unknown>;
  executedQueryString?: string;
}

export interface Frame {
  name: string;
  refId: string;
  meta?: FrameMeta;
  fields: Field[];
}

export function field<T extends FieldType>(
  name: string,
  type: T,
  values: Array<FieldValue<T> | null>,
  extra: { labels?: Record<string, string>; config?: FieldConfig } = {}
): Field<T> {
  return { name, type, values, ...extra };
}

export function rowCount(frame: Frame): number {
  return frame.fields.length === 0 ? 0 : frame.fields[0]!.values.length;
}

/** Adds a notice to a frame's meta. */
export function addNotice(frame: Frame, notice: Notice): void {
  frame.meta = { ...(frame.meta ?? {}), notices: [...(frame.meta?.notices ?? []), notice] };
}
