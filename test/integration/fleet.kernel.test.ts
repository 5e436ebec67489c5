// The Grafana side against real agents: two real agent daemons (two "hosts") holding real captures of
// every type, and the real datasource backend executable started the way Grafana starts it. Every
// query type is asked through QueryData, frames are decoded with apache-arrow, resources and health
// are checked; then one agent dies and the other's data still comes back, with a notice naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { AutotracingEvent } from '../../agent/src/events/event';
import { startDaemon, tempDir, writeConfig, READ_TOKEN, type Daemon } from '../helpers/daemon';
import { spinner, workload } from '../helpers/workloads';
import { ensureExecutable, PluginProcess, dsSettings, dataQuery } from '../backend/grafanaHost';
import { decodeFrame, type DecodedFrame } from '../backend/decodeFrame';
import type { QueryDataResponse } from '../../src/backend/plugin/messages';

const NO_DETECTION = `tracers:
  cpusys: { enabled: false }
  cpuidle: { enabled: false }
  dload: { enabled: false }
  memburst: { enabled: false }
  iotracing: { enabled: false }
`;

async function capture(d: Daemon, body: object): Promise<AutotracingEvent> {
  return d.finished(await d.capture(body));
}

function frames(res: QueryDataResponse, refId: string): DecodedFrame[] {
  const r = res.responses[refId];
  assert.ok(r, `a response for ${refId}`);
  assert.ok(!r.error, `${refId}: ${r.error}`);
  return r.frames.map((f) => decodeFrame(f));
}

test(
  'two real agents, every query type through the real backend; one agent down → the other plus a notice',
  { timeout: 240_000 },
  async () => {
    const dirs = [tempDir(), tempDir()];
    // each agent names its host in the config
    for (const [i, host] of ['node-a', 'node-b'].entries()) {
      const f = writeConfig(dirs[i]!, NO_DETECTION);
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('host: itest-host', `host: ${host}`));
    }
    const [a, b] = await Promise.all(dirs.map((d) => startDaemon(d)));
    const plugin = await PluginProcess.start(await ensureExecutable());
    const spin = spinner(60);
    const stuck = spawn(workload('dstate'), ['4', '8'], { stdio: 'ignore' });
    try {
      // each agent allows 2 captures at once (capture.maxConcurrent): two at a time per agent
      const [[cpuA, memA], [cpuB, dloadB]] = await Promise.all([
        Promise.all([
          capture(a!, { type: 'cpusys', durationMs: 2000 }),
          capture(a!, { type: 'memburst', durationMs: 2000 }),
        ]),
        Promise.all([
          capture(b!, { type: 'cpusys', durationMs: 2000 }),
          capture(b!, { type: 'dload', durationMs: 2000 }),
        ]),
      ]);
      const ioA = await capture(a!, { type: 'iotracing', durationMs: 2000 });
      for (const e of [cpuA, cpuB, dloadB, memA, ioA])
        assert.ok(e.status === 'complete' || e.status === 'partial', `${e.type}: ${e.status} ${e.error ?? ''}`);
      const from = Math.min(cpuA.time, cpuB.time) - 60_000;
      const to = Date.now() + 60_000;
      const ds = dsSettings({
        agents: [
          { name: 'node-a', url: a!.url },
          { name: 'node-b', url: b!.url },
        ],
        token: READ_TOKEN,
        timeoutMs: 5000,
      });

      const health = await plugin.checkHealth(ds);
      assert.equal(health.status, 1 /* OK */, health.message);

      const res = await plugin.queryData(ds, [
        dataQuery('events', { queryType: 'events' }, from, to),
        dataQuery('counts', { queryType: 'counts' }, from, to),
        dataQuery('flame', { queryType: 'flamegraph', types: ['cpusys'] }, from, to),
        dataQuery('one', { queryType: 'flamegraph', eventId: cpuB.id }, from, to),
        dataQuery('dstate', { queryType: 'dstate' }, from, to),
        dataQuery('memory', { queryType: 'memory' }, from, to),
        dataQuery('io', { queryType: 'io' }, from, to),
        dataQuery('bad', '{"queryType": "events", oops', from, to),
      ]);

      const [ev] = frames(res, 'events');
      assert.equal(ev!.rows, 5);
      assert.deepEqual(new Set(ev!.field('host').values), new Set(['node-a', 'node-b']));
      assert.deepEqual(new Set(ev!.field('id').values), new Set([cpuA.id, cpuB.id, dloadB.id, memA.id, ioA.id]));
      assert.equal(ev!.field('time').type, 'time');

      const counts = frames(res, 'counts');
      assert.ok(counts.every((f) => f.meta.type === 'timeseries-multi'));
      const total = (host: string, type: string) =>
        counts
          .filter((f) => f.fields[1]!.labels?.host === host && f.fields[1]!.labels?.type === type)
          .reduce((s, f) => s + (f.fields[1]!.values as number[]).reduce((x, y) => x + y, 0), 0);
      assert.equal(total('node-a', 'cpusys'), 1);
      assert.equal(total('node-b', 'cpusys'), 1);
      assert.equal(total('node-b', 'dload'), 1);
      assert.equal(total('node-a', 'memburst'), 1);

      // the merged flame graph is both agents' cpusys profiles added up
      const agentTotal = async (d: Daemon, id: string) =>
        (await d.json<{ total: number }>(`/api/v1/events/${id}/flamegraph?format=nested`)).total;
      const [flame] = frames(res, 'flame');
      assert.equal(flame!.meta.preferredVisualisationType, 'flamegraph');
      assert.equal(flame!.field('label').values[0], 'all');
      assert.equal(flame!.field('value').values[0], (await agentTotal(a!, cpuA.id)) + (await agentTotal(b!, cpuB.id)));
      const [one] = frames(res, 'one');
      assert.equal(one!.field('value').values[0], await agentTotal(b!, cpuB.id));
      assert.ok(
        (one!.field('label').values as string[]).some((l) => /autotracing_spin_leaf/.test(l)),
        "the spinner is in node-b's capture"
      );

      const [dstate] = frames(res, 'dstate');
      assert.ok(dstate!.rows >= 1, 'the stuck dstate workers are rows');
      assert.ok((dstate!.field('comm').values as string[]).includes('dstate'));
      assert.ok((dstate!.field('stack').values as string[]).some((s) => /kernel_clone|wait_for_vfork_done/.test(s)));
      const memory = frames(res, 'memory');
      assert.ok(memory[0]!.rows >= 1, 'memburst growers');
      frames(res, 'io'); // well-formed, whatever the disk did in those 2 s
      assert.equal(res.responses.bad!.status, 400, 'malformed JSON fails its own refId only');

      // resources: event detail found on the right agent, flame graph formats proxied
      const detail = await plugin.callResource(ds, `events/${dloadB.id}`);
      assert.equal(detail.code, 200);
      assert.deepEqual(detail.headers['x-autotracing-agent'], ['node-b']);
      const svg = await plugin.callResource(ds, `events/${cpuA.id}/flamegraph`, 'format=svg');
      assert.equal(svg.code, 200);
      assert.match(svg.body.toString(), /^<\?xml|^<svg/);

      // node-b dies: node-a's data still comes back, with a warning naming node-b
      b!.signal('SIGKILL');
      await b!.waitExit();
      const after = await plugin.queryData(ds, [dataQuery('events', { queryType: 'events' }, from, to)]);
      const [partial] = frames(after, 'events');
      assert.deepEqual(new Set(partial!.field('host').values), new Set(['node-a']));
      assert.ok(
        (partial!.meta.notices ?? []).some((n) => n.severity === 'warning' && /node-b/.test(n.text)),
        JSON.stringify(partial!.meta.notices)
      );
      const sick = await plugin.checkHealth(ds);
      assert.equal(sick.status, 2 /* ERROR */);
      assert.match(sick.message, /node-b/);

      const { exitMs, code } = await plugin.shutdown();
      assert.equal(code, 0);
      assert.ok(exitMs < 1000, `exited ${exitMs} ms after Shutdown`);
    } finally {
      stuck.kill('SIGKILL');
      await spin.stop();
      plugin.child.kill('SIGKILL');
      for (const d of [a, b]) {
        d!.signal('SIGTERM');
        await d!.waitExit().catch(() => undefined);
      }
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  }
);
