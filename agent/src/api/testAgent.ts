// For the API and CLI tests: an AgentFacade that is fake only where the daemon is (no detectors, no
// BPF), and real everywhere the API touches: a real SQLite store in a temp dir, real profile blobs
// made with the profiles codec, the real config rules for tracer patches, a real pino logger whose
// output the tests can search (tokens must never appear in it), a real prom-client registry.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { applyTracerPatch, defaultConfig, type AgentConfig } from '../config';
import { CaptureError } from '../capture/errors';
import type { AgentFacade } from '../daemon/facade';
import { TRACER_TYPES, type AutotracingEvent, type ContainerRef, type TracerType } from '../events/event';
import { encode } from '../profiles/codec';
import { Profile, type Frame } from '../profiles/model';
import { openStore, storePath, type Store } from '../store';
import type { CaptureAccepted, CaptureRequest, InfoResponse, TracerState } from './schemas';

export const READ_TOKEN = 'read-token-0123456789abcdef';
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

export interface TestAgent extends AgentFacade {
  dir: string;
  /** replace the live config (what a SIGHUP reload does) */
  setConfig(c: AgentConfig): void;
  setReady(r: boolean): void;
  /** every log line written so far */
  logText(): string;
  /** ms a manual capture takes before it completes */
  captureMs: number;
  /** while held, captures stay running (so a test can count on BUSY); release completes them */
  holdCaptures(): void;
  releaseCaptures(): void;
  close(): void;
}

export interface TestAgentOptions {
  tokens?: boolean;
  /** changes to the api section */
  api?: Partial<AgentConfig['api']>;
}

export function makeTestAgent(o: TestAgentOptions = {}): TestAgent {
  const dir = mkdtempSync(join(tmpdir(), 'api-test-'));
  let config = defaultConfig({ cwd: dir, hostname: () => 'node-1' });
  config = {
    ...config,
    api: {
      ...config.api,
      ...(o.tokens === false ? {} : { tokens: { read: [READ_TOKEN], admin: [ADMIN_TOKEN] } }),
      ...o.api,
    },
  };
  const store = openStore(storePath(config.dataDir));
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  let ready = true;
  const timers = new Set<NodeJS.Timeout>();
  // captures in flight, each with what completes it: BUSY counts these, not the timers
  const running = new Map<string, () => void>();
  let held = false;
  const startedAt = Date.now();

  const tracerState = (type: TracerType): TracerState => {
    const t = config.tracers[type] as unknown as Record<string, unknown> & { enabled: boolean };
    return {
      type,
      enabled: t.enabled,
      implemented: type === 'cpusys' || type === 'cpuidle',
      config: { ...t },
      detector: [],
      lastTriggerAt: null,
      cooldownUntil: null,
    };
  };

  const agent: TestAgent = {
    dir,
    captureMs: 50,
    config: () => config,
    store,
    log,
    metrics: new Registry(),
    info(): InfoResponse {
      return {
        host: config.host,
        version: '0.1.0-test',
        kernel: 'test',
        node: process.version,
        startedAt,
        capabilities: { bpf: false },
        tracers: TRACER_TYPES.map(tracerState),
      };
    },
    tracers: () => TRACER_TYPES.map(tracerState),
    patchTracer(type, patch) {
      const r = applyTracerPatch(config, type, patch);
      if (!r.ok) return r;
      config = r.config;
      return { ok: true, state: tracerState(type) };
    },
    async requestCapture(req: CaptureRequest): Promise<CaptureAccepted> {
      if (req.type !== 'cpusys' && req.type !== 'cpuidle')
        throw new CaptureError('NOT_IMPLEMENTED', `${req.type} cannot capture yet`);
      if (!config.tracers[req.type].enabled) throw new CaptureError('DISABLED', `${req.type} is disabled`);
      if (req.container !== undefined && store.resolveContainer(req.container).length === 0) {
        throw new CaptureError('NOT_FOUND', `no container ${req.container}`);
      }
      if (running.size >= 2) throw new CaptureError('BUSY', 'two captures are running', Date.now() + 5000);
      const time = Date.now();
      const e = store.insertEvent({
        type: req.type,
        host: config.host,
        time,
        container: null,
        trigger: {
          metric: 'manual',
          value: 0,
          threshold: 0,
          baseline: 0,
          delta: 0,
          reason: 'manual capture requested over the API',
        },
        summary: 'manual capture',
        data: {},
      });
      const complete = (): void => {
        running.delete(e.id);
        completeWithProfiles(
          store,
          e,
          { cpu: smallProfile(3) },
          { timeEnd: time + (req.durationMs ?? agent.captureMs) }
        );
      };
      running.set(e.id, complete);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!held) running.get(e.id)?.();
      }, agent.captureMs);
      timers.add(timer);
      return { id: e.id, status: e.status };
    },
    holdCaptures() {
      held = true;
    },
    releaseCaptures() {
      held = false;
      for (const complete of [...running.values()]) complete();
    },
    isReady: () => ready,
    setConfig(c) {
      config = c;
    },
    setReady(r) {
      ready = r;
    },
    logText: () => lines.join(''),
    close() {
      for (const t of timers) clearTimeout(t);
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return agent;
}

const f = (name: string, kind: Frame['kind'] = 'user'): Frame => ({ name, kind });

/** A small profile with known values: total = 10 × scale. */
export function smallProfile(scale = 1, opts: { unit?: Profile['unit']; period?: number } = {}): Profile {
  const p = new Profile({
    unit: opts.unit ?? 'samples',
    period: opts.period ?? 10_101_010,
    startTime: 1_700_000_000_000,
    durationMs: 10_000,
  });
  p.add([f('app', 'process'), f('main'), f('work'), f('do_sys_open', 'kernel')], 4 * scale);
  p.add([f('app', 'process'), f('main'), f('work')], 3 * scale);
  p.add([f('app', 'process'), f('main'), f('idle')], 2 * scale);
  p.add([f('other', 'process'), f('loop')], 1 * scale);
  return p;
}

export function completeWithProfiles(
  store: Store,
  e: AutotracingEvent,
  profiles: Record<string, Profile>,
  o: { timeEnd?: number; status?: 'complete' | 'partial' | 'failed' } = {}
): AutotracingEvent {
  return store.completeEvent(
    e.id,
    {
      status: o.status ?? 'complete',
      summary: `${e.type}: ${Object.keys(profiles).join(', ')}`,
      timeEnd: o.timeEnd ?? e.time + 10_000,
    },
    Object.entries(profiles).map(([name, p]) => ({
      name,
      title: `${name} flame graph`,
      unit: p.unit,
      total: p.total,
      stacks: p.stackCount,
      blob: encode(p),
    }))
  );
}

export function testContainer(n: number): ContainerRef {
  const id = `${n.toString(16).padStart(4, '0')}${'ab'.repeat(30)}`;
  return {
    id,
    name: `app-${n}`,
    runtime: 'docker',
    pod: null,
    namespace: null,
    qos: null,
    cgroup: `/system.slice/docker-${id}.scope`,
  };
}

/** Inserts a finished event with profiles (default: a small cpu profile). */
export function addEvent(
  store: Store,
  o: {
    time: number;
    type?: TracerType;
    container?: ContainerRef | null;
    host?: string;
    profiles?: Record<string, Profile>;
    status?: 'complete' | 'partial' | 'failed';
  }
): AutotracingEvent {
  const e = store.insertEvent({
    type: o.type ?? 'cpusys',
    host: o.host ?? 'node-1',
    time: o.time,
    container: o.container ?? null,
    trigger: {
      metric: 'sys_percent',
      value: 62,
      threshold: 45,
      baseline: 10,
      delta: 52,
      reason: 'host sys 62% > 45% (baseline 10%)',
    },
    summary: 'capturing',
    data: { context: { loadavg: [1, 2, 3] } },
  });
  return completeWithProfiles(store, e, o.profiles ?? { cpu: smallProfile() }, { status: o.status });
}
