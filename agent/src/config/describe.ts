// A flat description of every config key (path, default written as in YAML, meaning), generated from
// the schema. README.md's key table is checked against it by config.test.ts.
import { Kind, type TSchema } from '@sinclair/typebox';
import { ConfigSchema, UNIT, type ValueUnit } from './schema';
import { formatDuration, formatRate, formatSize } from './units';

export interface ConfigKeyDoc {
  key: string;
  default: string;
  description: string;
}

type Schema = TSchema & Record<string, unknown>;

function formatDefault(s: Schema): string {
  const d = s.default;
  const unit = s[UNIT] as ValueUnit | undefined;
  if (typeof d === 'number') {
    if (unit === 'duration') return formatDuration(d);
    if (unit === 'size') return formatSize(d);
    if (unit === 'rate') return formatRate(d);
  }
  if (Array.isArray(d) && d.every((x) => typeof x === 'string')) return `[${d.join(', ')}]`;
  if (Array.isArray(d)) return `${d.length} built-in entries`;
  return d === null ? 'null' : String(d);
}

export function describeConfig(schema: TSchema = ConfigSchema, prefix = ''): ConfigKeyDoc[] {
  const s = schema as Schema;
  if (String(s[Kind]) === 'Object') {
    const props = s.properties as Record<string, TSchema>;
    return Object.entries(props).flatMap(([k, v]) => describeConfig(v, prefix ? `${prefix}.${k}` : k));
  }
  return [
    { key: prefix, default: formatDefault(s), description: typeof s.description === 'string' ? s.description : '' },
  ];
}
