// `events list` and `events show`: a running agent's captures as a table or as one readable page.
import { parseDuration, UnitError } from '../config/units';
import { TRACER_TYPES, type AutotracingEvent, type FlamegraphRef } from '../events/event';
import type { ListEventsResponse } from '../api/schemas';
import { parse, num, UsageError } from './args';
import { ApiClient, CONNECTION_OPTIONS, processIo, resolveTarget, type Io } from './client';

export const DEFAULT_LIST_LIMIT = 50;

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Local time, "2024-05-01 12:00:00". */
export function localTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function truncate(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

export function containerLabel(e: AutotracingEvent): string {
  const c = e.container;
  if (c === null) return '-';
  return c.name ?? c.pod ?? (/^[0-9a-f]{64}$/.test(c.id) ? c.id.slice(0, 12) : c.id);
}

/** A plain text table: columns padded to their widest cell, the last column left ragged. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function eventsTable(events: readonly AutotracingEvent[]): string {
  return table(
    ['TIME', 'TYPE', 'CONTAINER', 'STATUS', 'SUMMARY', 'ID'],
    events.map((e) => [
      localTime(e.time),
      e.type,
      truncate(containerLabel(e), 24),
      e.status,
      truncate(e.summary, 60),
      e.id,
    ])
  );
}

function fmtNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100);
}

function fmtScalar(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'string') return truncate(v, 160);
  if (typeof v === 'boolean') return String(v);
  return truncate(JSON.stringify(v), 160);
}

const isScalar = (v: unknown): boolean => v === null || typeof v !== 'object';
const MAX_ITEMS = 10;

/** Evidence of any shape as indented lines: scalars inline, lists of records one line per record. */
export function describeValue(key: string, v: unknown, indent: string, out: string[], depth = 0): void {
  if (isScalar(v)) {
    out.push(`${indent}${key}: ${fmtScalar(v)}`);
  } else if (Array.isArray(v)) {
    if (v.length === 0) out.push(`${indent}${key}: (none)`);
    else if (v.every(isScalar)) out.push(`${indent}${key}: ${truncate(v.map(fmtScalar).join(', '), 200)}`);
    else {
      out.push(`${indent}${key}: ${v.length} item${v.length === 1 ? '' : 's'}`);
      for (const item of v.slice(0, MAX_ITEMS)) {
        if (isScalar(item) || Array.isArray(item)) out.push(`${indent}  - ${fmtScalar(item)}`);
        else {
          const parts = Object.entries(item as Record<string, unknown>).map(
            ([k, x]) => `${k}=${isScalar(x) ? fmtScalar(x) : truncate(JSON.stringify(x), 80)}`
          );
          out.push(`${indent}  - ${truncate(parts.join(', '), 220)}`);
        }
      }
      if (v.length > MAX_ITEMS) out.push(`${indent}  … ${v.length - MAX_ITEMS} more (--json for all)`);
    }
  } else if (depth >= 3) {
    out.push(`${indent}${key}: ${fmtScalar(v)}`);
  } else {
    out.push(`${indent}${key}:`);
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      describeValue(k, x, `${indent}  `, out, depth + 1);
  }
}

function flamegraphRefs(e: AutotracingEvent): FlamegraphRef[] {
  const refs = e.data.flamegraphs;
  return Array.isArray(refs)
    ? refs.filter(
        (r): r is FlamegraphRef => typeof r === 'object' && r !== null && typeof (r as FlamegraphRef).name === 'string'
      )
    : [];
}

export function describeEvent(e: AutotracingEvent): string {
  const out: string[] = [];
  const row = (k: string, v: string): void => void out.push(`  ${k.padEnd(10)} ${v}`);
  out.push(`${e.type} capture ${e.id}: ${e.status}`);
  row('host', e.host);
  const secs = (e.timeEnd - e.time) / 1000;
  row('time', `${localTime(e.time)} (${new Date(e.time).toISOString()}), capture window ${fmtNumber(secs)} s`);
  const c = e.container;
  if (c) {
    const parts = [c.name ?? c.id, `${c.runtime} ${c.id.length > 16 ? c.id.slice(0, 12) : c.id}`];
    if (c.pod) parts.push(`pod ${c.namespace ? `${c.namespace}/` : ''}${c.pod}`);
    if (c.qos) parts.push(`qos ${c.qos}`);
    row('container', parts.join(', '));
    row('cgroup', c.cgroup);
  } else row('container', '- (host-wide)');
  const t = e.trigger;
  row('trigger', t.reason);
  row(
    '',
    `${t.metric} = ${fmtNumber(t.value)} (threshold ${fmtNumber(t.threshold)}, baseline ${fmtNumber(t.baseline)}, delta ${t.delta >= 0 ? '+' : ''}${fmtNumber(t.delta)})`
  );
  row('summary', e.summary);
  if (e.error) row('error', e.error);
  const graphs = flamegraphRefs(e);
  const rest = Object.entries(e.data).filter(([k]) => k !== 'flamegraphs');
  out.push('evidence');
  if (graphs.length === 0 && rest.length === 0) out.push('  (none stored)');
  for (const g of graphs) {
    out.push(`  flame graph "${g.name}": ${g.title}, ${fmtNumber(g.total)} ${g.unit}, ${g.stacks} distinct stacks`);
    out.push(
      `    npm run -s agent -- flamegraph ${e.id} --profile ${g.name} --format svg --output ${e.id}-${g.name}.svg`
    );
  }
  for (const [k, v] of rest) describeValue(k, v, '  ', out);
  return out.join('\n') + '\n';
}

export function sinceToQuery(since: string): string {
  try {
    parseDuration(since);
  } catch (e) {
    throw new UsageError(`--since: ${e instanceof UnitError ? e.message : 'bad duration'} (e.g. 1h, 30m, 7d)`);
  }
  // relative to the agent's clock, not ours
  return `now-${since.trim()}`;
}

export async function runEventsList(argv: string[], io: Io = processIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CONNECTION_OPTIONS,
    type: { type: 'string', short: 't' },
    since: { type: 'string', short: 's' },
    container: { type: 'string' },
    limit: { type: 'string', short: 'n' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.type !== undefined) {
    for (const t of values.type.split(','))
      if (!(TRACER_TYPES as readonly string[]).includes(t))
        throw new UsageError(`--type: "${t}" is not one of ${TRACER_TYPES.join(', ')}`);
  }
  const limit = num('limit', values.limit, { int: true, min: 1, max: 1_000_000 }) ?? DEFAULT_LIST_LIMIT;
  const client = new ApiClient(resolveTarget(values, io.env, 'read'));
  const events: AutotracingEvent[] = [];
  let cursor: string | undefined;
  do {
    const page: ListEventsResponse = await client.getJson('/api/v1/events', {
      query: {
        type: values.type,
        from: values.since !== undefined ? sinceToQuery(values.since) : undefined,
        container: values.container,
        limit: Math.min(1000, limit - events.length),
        cursor,
      },
    });
    events.push(...page.events);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && events.length < limit);
  if (values.json) io.out(JSON.stringify(events, null, 2) + '\n');
  else if (events.length === 0) io.out('no events\n');
  else io.out(eventsTable(events));
  return 0;
}

export async function runEventsShow(argv: string[], io: Io = processIo): Promise<number> {
  const { values, positionals } = parse(argv, { ...CONNECTION_OPTIONS, json: { type: 'boolean' } });
  const id = positionals[0];
  if (id === undefined || positionals.length > 1) throw new UsageError('usage: events show ID [--json]');
  if (!/^[0-9A-Za-z]{26}$/.test(id))
    throw new UsageError(`"${id}" is not an event id (26 characters, as events list prints them)`);
  const client = new ApiClient(resolveTarget(values, io.env, 'read'));
  const e = await client.getJson<AutotracingEvent>(`/api/v1/events/${id}`);
  io.out(values.json ? JSON.stringify(e, null, 2) + '\n' : describeEvent(e));
  return 0;
}

/** `events list|show …` */
export async function runEvents(argv: string[], io: Io = processIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return runEventsList(rest, io);
  if (sub === 'show') return runEventsShow(rest, io);
  throw new UsageError(sub === undefined ? 'usage: events list|show …' : `unknown subcommand "${sub}" (list or show)`);
}
