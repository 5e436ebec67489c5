// The commands that talk to a running agent: `events list|show`, `flamegraph`, `trigger`. main.ts
// spreads `clientCommands` into its command table.
import { writeFileSync } from 'node:fs';
import { TRACER_TYPES, type AutotracingEvent, type TracerType } from '../events/event';
import type { CaptureAccepted, CaptureRequest } from '../api/schemas';
import { parse, seconds, UsageError } from './args';
import { ApiClient, ClientError, CONNECTION_OPTIONS, processIo, resolveTarget, type Io } from './client';
import { describeEvent, runEvents } from './events';

export const FLAMEGRAPH_CLI_FORMATS = ['folded', 'json', 'svg', 'pprof'] as const;
type CliFormat = (typeof FLAMEGRAPH_CLI_FORMATS)[number];
const API_FORMAT: Record<CliFormat, string> = { folded: 'folded', json: 'nested', svg: 'svg', pprof: 'pprof' };

export async function runFlamegraph(argv: string[], io: Io = processIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CONNECTION_OPTIONS,
    format: { type: 'string', short: 'f' },
    profile: { type: 'string', short: 'p' },
    output: { type: 'string', short: 'o' },
  });
  const id = positionals[0];
  if (id === undefined || positionals.length > 1)
    throw new UsageError('usage: flamegraph ID [--format folded|json|svg|pprof] [--profile NAME] [--output FILE]');
  if (!/^[0-9A-Za-z]{26}$/.test(id))
    throw new UsageError(`"${id}" is not an event id (26 characters, as events list prints them)`);
  const format = (values.format ?? 'folded') as CliFormat;
  if (!FLAMEGRAPH_CLI_FORMATS.includes(format))
    throw new UsageError(`--format: one of ${FLAMEGRAPH_CLI_FORMATS.join(', ')}, got "${values.format}"`);
  if (values.profile !== undefined && !/^[a-z0-9_-]{1,64}$/.test(values.profile))
    throw new UsageError(`--profile: "${values.profile}" is not a profile name (e.g. cpu)`);
  if (format === 'pprof' && values.output === undefined && io.isTTY)
    throw new UsageError('--format pprof is binary: add --output FILE');
  const client = new ApiClient(resolveTarget(values, io.env, 'read'));
  const res = await client.request('GET', `/api/v1/events/${id}/flamegraph`, {
    query: { format: API_FORMAT[format], profile: values.profile },
    accept: '*/*',
    timeoutMs: 120_000,
  });
  const body = new Uint8Array(await res.arrayBuffer());
  const profile = res.headers.get('x-autotracing-profile') ?? values.profile ?? '';
  if (values.output !== undefined) {
    writeFileSync(values.output, body);
    io.err(`wrote ${values.output} (${format}, profile "${profile}", ${body.length} bytes)\n`);
  } else {
    io.out(body);
    if (format === 'json' || format === 'svg') io.out('\n');
  }
  return 0;
}

const FINAL = new Set(['complete', 'partial', 'failed']);

/**
 * Waits until event `id` is no longer capturing: follows the event stream (falls back to polling when
 * the stream is not available), checking the event once the stream is open so a capture that ended
 * in between is not missed.
 */
export async function waitForEvent(
  client: ApiClient,
  id: string,
  timeoutMs: number,
  pollMs = 1000
): Promise<AutotracingEvent> {
  const deadline = Date.now() + timeoutMs;
  const tooLate = (): ClientError =>
    new ClientError(`capture ${id} did not finish within ${Math.round(timeoutMs / 1000)} s`);
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  const found: { event: AutotracingEvent | null } = { event: null };
  const check = async (): Promise<void> => {
    const e = await client.getJson<AutotracingEvent>(`/api/v1/events/${id}`);
    if (FINAL.has(e.status)) {
      found.event = e;
      abort.abort();
    }
  };
  try {
    try {
      await client.stream(
        '/api/v1/events/stream',
        {},
        (event, data) => {
          if (event !== 'event') return false;
          const e = JSON.parse(data) as AutotracingEvent;
          if (e.id !== id) return false;
          found.event = e;
          return true;
        },
        abort.signal,
        // the capture may have ended before the stream opened
        () => void check().catch(() => undefined)
      );
    } catch (e) {
      const aborted = (e as { name?: string }).name === 'AbortError';
      if (!aborted && !(e instanceof ClientError)) throw e;
      // otherwise: found, timed out, or the stream is unavailable (old agent, proxy): see below
    }
    if (found.event) return found.event;
    if (timedOut) throw tooLate();
    while (Date.now() < deadline) {
      const e = await client.getJson<AutotracingEvent>(`/api/v1/events/${id}`);
      if (FINAL.has(e.status)) return e;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    throw tooLate();
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

export async function runTrigger(argv: string[], io: Io = processIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CONNECTION_OPTIONS,
    container: { type: 'string' },
    duration: { type: 'string', short: 'd' },
    wait: { type: 'boolean', short: 'w' },
    json: { type: 'boolean' },
  });
  const type = positionals[0];
  if (type === undefined || positionals.length > 1)
    throw new UsageError(
      `usage: trigger TYPE [--container ID] [--duration S] [--wait]   (TYPE: ${TRACER_TYPES.join(', ')})`
    );
  if (!(TRACER_TYPES as readonly string[]).includes(type))
    throw new UsageError(`"${type}" is not a tracer type (${TRACER_TYPES.join(', ')})`);
  const durationMs = seconds('duration', values.duration);
  if (durationMs !== undefined && (durationMs < 100 || durationMs > 300_000))
    throw new UsageError('--duration: between 100ms and 5m');
  const client = new ApiClient(resolveTarget(values, io.env, 'admin'));
  const req: CaptureRequest = { type: type as TracerType };
  if (values.container !== undefined) req.container = values.container;
  if (durationMs !== undefined) req.durationMs = Math.round(durationMs);
  const acc = await client.postJson<CaptureAccepted>('/api/v1/captures', req, { what: 'a manual capture' });
  if (!values.wait) {
    if (values.json) io.out(JSON.stringify(acc) + '\n');
    else
      io.out(
        `capture ${acc.id} started (${type}${req.container ? ` in ${req.container}` : ''}, ${acc.status})\nfollow it with: npm run -s agent -- events show ${acc.id}\n`
      );
    return 0;
  }
  io.err(`capture ${acc.id} started (${type}); waiting for it to finish…\n`);
  const e = await waitForEvent(client, acc.id, (durationMs ?? 60_000) + 120_000);
  io.out(values.json ? JSON.stringify(e, null, 2) + '\n' : describeEvent(e));
  return e.status === 'failed' ? 1 : 0;
}

type Command = (argv: string[]) => Promise<number> | number;

/** Entries for main.ts's command table: `const commands = { ...clientCommands, … }`. */
export const clientCommands: Record<'events' | 'flamegraph' | 'trigger', Command> = {
  events: (argv) => runEvents(argv),
  flamegraph: (argv) => runFlamegraph(argv),
  trigger: (argv) => runTrigger(argv),
};
