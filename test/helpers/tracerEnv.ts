// A real tracer environment for kernel tests: a store in a temp dir, metrics, the capture manager,
// the live container index and symbolizer — everything the daemon wires, without HTTP.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { openStore, type Store } from '../../agent/src/store';
import { AgentMetrics } from '../../agent/src/metrics/metrics';
import { CaptureManager } from '../../agent/src/capture/manager';
import { ContainerIndex } from '../../agent/src/tracers/containerIndex';
import { Symbolizer } from '../../agent/src/profiles/symbols/symbolizer';
import { Lookback } from '../../agent/src/tracers/cpu/lookback';
import { defaultConfig, type AgentConfig } from '../../agent/src/config';
import type { TracerEnv } from '../../agent/src/tracers/tracer';
import type { AutotracingEvent } from '../../agent/src/events/event';
import { decode } from '../../agent/src/profiles/codec';
import type { Profile } from '../../agent/src/profiles/model';

export interface TestEnv extends TracerEnv {
  store: Store;
  dir: string;
  config: AgentConfig;
  /** events completed so far (not capturing), oldest first */
  completed(): AutotracingEvent[];
  /** wait until an event matching `pred` completes, or the timeout passes (then null) */
  waitFor(pred: (e: AutotracingEvent) => boolean, timeoutMs: number): Promise<AutotracingEvent | null>;
  profile(eventId: string, name?: string): Profile;
  close(): Promise<void>;
}

export function makeTestEnv(
  opts: { maxConcurrent?: number; budgetPerHourMs?: number; lookbackMs?: number } = {}
): TestEnv {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autotracing-test-'));
  const store = openStore(path.join(dir, 'events.db'));
  const config = defaultConfig();
  const log = pino({ level: process.env.TEST_LOG ?? 'silent' });
  const metrics = new AgentMetrics(() => store, 'test-host');
  const manager = new CaptureManager({
    store,
    metrics,
    log,
    host: () => 'test-host',
    limits: () => ({ maxConcurrent: opts.maxConcurrent ?? 2, budgetPerHourMs: opts.budgetPerHourMs ?? 3_600_000 }),
  });
  const completed = () =>
    store
      .listEvents({ limit: 1000 })
      .events.filter((e) => e.status !== 'capturing')
      .reverse();
  const containers = new ContainerIndex({ maxAgeMs: 200 });
  const symbolizer = new Symbolizer();
  const hierarchy = containers.layout.mode === 'v2' || !containers.layout.v1.has('cpu') ? 'unified' : 'v1-cpu';
  const lookback = opts.lookbackMs
    ? new Lookback({ keepMs: opts.lookbackMs, frequency: 99, hierarchy, symbolizer, log })
    : undefined;
  lookback?.start();
  return {
    store,
    dir,
    config,
    log,
    metrics,
    manager,
    containers,
    symbolizer,
    lookback,
    completed,
    async waitFor(pred, timeoutMs) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = completed().find(pred);
        if (hit) return hit;
        if (Date.now() > end) return null;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    profile(eventId, name = 'cpu') {
      const blob = store.getProfile(eventId, name);
      if (!blob) throw new Error(`event ${eventId} has no profile ${name}`);
      return decode(blob);
    },
    async close() {
      lookback?.stop();
      await manager.stop();
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
