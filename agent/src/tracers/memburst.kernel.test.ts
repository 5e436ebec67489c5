// memburst end to end against the live kernel: one process (test/workloads/memgrow.c) allocates and
// touches GiBs at a steady clip while another holds a larger steady RSS; real BPF RSS sweeps and page
// allocation sampling, real captures in a real store. Also the quiet window shared by dload and memburst.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemburstTracer } from './memburst';
import { DloadTracer } from './dload';
import type { GrowerRow } from './memburst/capture';
import { makeTestEnv } from '../../../test/helpers/tracerEnv';
import { workload } from '../../../test/helpers/workloads';
import type { DloadConfig, MemburstConfig } from '../config';

const MiB = 1 << 20;

/** The settings of these tests: default thresholds (anon growth 100 MiB/s over the window, ratio,
 *  PSI, reclaim), a 5 s growth window sampled every 500 ms instead of 10 s every second, a 3 s capture. */
function memburstTestConfig(base: MemburstConfig): MemburstConfig {
  return {
    ...base,
    interval: 500,
    holdSamples: 2,
    growthWindow: 5000,
    baselineWindow: 10_000,
    duration: 3000,
    cooldown: 60_000,
  };
}

/** dload.kernel.test.ts's settings: default thresholds, a 5 s D-load window, 500 ms interval. */
function dloadTestConfig(base: DloadConfig): DloadConfig {
  return {
    ...base,
    interval: 500,
    holdSamples: 2,
    dloadWindow: 5000,
    baselineWindow: 10_000,
    duration: 3000,
    cooldown: 60_000,
  };
}

/** memgrow MIB RATE HOLD; resolves once everything is allocated when `ready` is asked for. */
function memgrow(mib: number, rate: number, hold: number): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(workload('memgrow'), [String(mib), String(rate), String(hold)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`memgrow exited (${code}) before it was ready: ${err}`)));
  });
  ready.catch(() => {});
  return { child, ready };
}

async function kill(c: ChildProcess | null): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  c.kill('SIGKILL');
  await once(c, 'exit');
}

test('memburst: a fast grower fires within seconds, is named before a bigger steady process, and its allocation path is in the flame graph', async () => {
  const env = makeTestEnv();
  const tracer = new MemburstTracer(memburstTestConfig(env.config.tracers.memburst), env);
  const holder = memgrow(3072, 0, 60); // 3 GiB, steady
  let grower: ReturnType<typeof memgrow> | null = null;
  try {
    await holder.ready;
    tracer.start();
    await sleep(2500); // baseline with the holder's 3 GiB already there
    assert.equal(env.completed().length, 0, 'no event while steady');
    const t0 = Date.now();
    grower = memgrow(3072, 400, 30); // 3 GiB at 400 MiB/s: still growing through the 3 s capture
    // the growth-rate readings, to explain a late trigger
    const seen: string[] = [];
    const watch = setInterval(() => {
      const r = tracer.state().detector.find((x) => x.metric === 'anon_growth_rate');
      if (r) seen.push(`${Date.now() - t0}ms ${Math.round(r.value / MiB)}/${Math.round(r.baseline / MiB)} MiB/s`);
    }, 250);
    const ev = await env.waitFor((e) => e.type === 'memburst', 15_000);
    clearInterval(watch);
    assert.ok(ev, `memburst fired; readings: ${seen.join(', ')}`);
    assert.ok(ev.time - t0 < 5000, `trigger ${ev.time - t0} ms after the growth started; readings: ${seen.join(', ')}`);
    assert.equal(ev.status, 'complete', ev.error);
    assert.equal(ev.trigger.metric, 'anon_growth_rate', JSON.stringify(ev.trigger));
    assert.ok(ev.trigger.value > 100 * MiB);

    const data = ev.data as {
      source: { rss: string; alloc: string | null };
      topGrowers: GrowerRow[];
      host: { meminfo: { key: string; deltaBytes: number | null }[] };
      alloc: { samples: number; sampledBytes: number; allocatedBytes: number; durationMs: number };
      rules: { rule: string; fired: boolean }[];
    };
    assert.deepEqual(data.source, { rss: 'bpf', alloc: 'bpf' }, 'the BPF programs must load on this kernel');
    const rank = data.topGrowers.findIndex((g) => g.pid === grower!.child.pid);
    assert.ok(rank >= 0, JSON.stringify(data.topGrowers.slice(0, 3)));
    const first = data.topGrowers[rank]!;
    // named first — unless another session on this shared host grew memory even faster in the same
    // window (seen here: someone else's allocator); never after the big steady holder
    const ahead = data.topGrowers.slice(0, rank);
    assert.ok(
      ahead.every((g) => g.pid !== holder.child.pid && g.rssDeltaBytes > 256 * MiB),
      `ahead of the grower: ${JSON.stringify(ahead)}`
    );
    if (ahead.length)
      console.log(
        `# note: ${ahead.length} other process(es) grew more in the same window: ${ahead.map((g) => g.command ?? g.comm).join(', ')}`
      );
    assert.equal(first.comm, 'memgrow');
    assert.match(first.command ?? '', /memgrow 3072 400 30$/);
    assert.ok(first.rssDeltaBytes > 300 * MiB, `grower grew ${first.rssDeltaBytes / MiB} MiB`);
    assert.ok((first.rssDeltaAtTriggerBytes ?? 0) > 100 * MiB, 'the grower was known at the trigger');
    assert.ok(first.rssBytes >= first.rssDeltaBytes);
    const held = data.topGrowers.find((g) => g.pid === holder.child.pid);
    if (held) assert.ok(held.rank > rank + 1 && Math.abs(held.rssDeltaBytes) < 64 * MiB, JSON.stringify(held));
    assert.ok(data.rules.some((r) => r.rule === 'anon_growth_rate' && r.fired));
    const anon = data.host.meminfo.find((m) => m.key === 'AnonPages');
    assert.ok(anon && (anon.deltaBytes ?? 0) > 300 * MiB, JSON.stringify(anon));
    const named = data.topGrowers[0]!;
    assert.match(ev.summary, new RegExp(`top grower ${named.comm}\\[${named.pid}\\]`));

    // allocation flame graph: the grower's page faults, scaled to bytes
    const p = env.profile(ev.id, 'alloc');
    assert.equal(p.unit, 'bytes');
    let growerBytes = 0;
    let faultPath = 0;
    for (const s of p.stacks()) {
      if (s.frames[0]!.name !== `memgrow-${grower.child.pid}`) continue;
      growerBytes += s.value;
      const names = s.frames.map((f) => f.name);
      const user = names.indexOf('autotracing_memgrow_touch');
      const fault = names.findIndex((n) => /exc_page_fault/.test(n));
      const handle = names.findIndex((n) => /handle_mm_fault/.test(n));
      if (user > 0 && fault > user && handle > fault && s.frames[fault]!.kind === 'kernel') faultPath += s.value;
    }
    // the sampled bytes match what the grower really added over the capture (its RSS growth after the
    // trigger), whatever pace the shared CPUs allowed it
    const grewInCapture = first.rssDeltaBytes - (first.rssDeltaAtTriggerBytes ?? 0);
    assert.ok(grewInCapture > 100 * MiB, `grower added ${grewInCapture / MiB} MiB during the capture`);
    assert.ok(
      Math.abs(growerBytes - grewInCapture) < 0.25 * grewInCapture,
      `grower allocated ${growerBytes / MiB} MiB in the profile, grew ${grewInCapture / MiB} MiB`
    );
    assert.ok(faultPath > 0.9 * growerBytes, `page-fault path ${faultPath / MiB} of ${growerBytes / MiB} MiB`);
    // the grower allocated most, bar processes that grew more than it (see above)
    const byProcess = new Map<string, number>();
    for (const s of p.stacks()) byProcess.set(s.frames[0]!.name, (byProcess.get(s.frames[0]!.name) ?? 0) + s.value);
    const others = new Set(ahead.map((g) => `${g.comm}-${g.pid}`));
    const top = [...byProcess].filter(([k]) => !others.has(k)).sort((a, b) => b[1] - a[1]);
    assert.equal(
      top[0]![0],
      `memgrow-${grower.child.pid}`,
      `allocations by process: ${JSON.stringify(top.slice(0, 5).map(([k, v]) => [k, Math.round(v / MiB)]))} MiB`
    );
    assert.ok(
      Math.abs(data.alloc.sampledBytes - data.alloc.allocatedBytes) < 0.15 * data.alloc.allocatedBytes,
      `sampled ${data.alloc.sampledBytes} vs exact ${data.alloc.allocatedBytes}`
    );
  } finally {
    tracer.stop();
    await kill(grower?.child ?? null);
    await kill(holder.child);
    await env.close();
  }
});

test('dload and memburst: no event over a quiet minute (test settings, real host with other suites running)', async () => {
  const env = makeTestEnv();
  const dload = new DloadTracer(dloadTestConfig(env.config.tracers.dload), env);
  const mem = new MemburstTracer(memburstTestConfig(env.config.tracers.memburst), env);
  try {
    dload.start();
    mem.start();
    const peak = new Map<string, number>();
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      await sleep(1000);
      for (const t of [dload, mem])
        for (const r of t.state().detector)
          peak.set(`${r.metric}/${r.scope}`, Math.max(peak.get(`${r.metric}/${r.scope}`) ?? -Infinity, r.value));
    }
    const events = env.store.listEvents({ limit: 100 }).events;
    assert.deepEqual(
      events.map((e) => `${e.type}: ${e.trigger.reason}`),
      [],
      `peaks: ${JSON.stringify(Object.fromEntries(peak))}`
    );
    assert.ok(peak.has('dload/host') && peak.has('anon_growth_rate/host'), 'both detectors published readings');
  } finally {
    dload.stop();
    mem.stop();
    await env.close();
  }
});
