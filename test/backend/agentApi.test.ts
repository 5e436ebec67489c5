// The backend executable against the REAL agent HTTP API: agent/src/api/server.ts (Fastify routes,
// bearer scopes, schema validation) over a real SQLite store with real profile blobs, through the
// agent's own test facade (agent/src/api/testAgent.ts: no detectors, no BPF). Two such agents on
// loopback ports; the plugin is driven as Grafana drives it. What it checks is that the backend and
// the agent agree on the wire: routes, parameters the agent validates strictly, response shapes.
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { AutotracingEvent, NestedFlamegraph } from '../../agent/src/api/schemas';
import { buildServer } from '../../agent/src/api/server';
import {
  READ_TOKEN,
  addEvent,
  makeTestAgent,
  smallProfile,
  testContainer,
  type TestAgent,
} from '../../agent/src/api/testAgent';
import { decodeFrame } from './decodeFrame';
import { PluginProcess, dataQuery, dsSettings, ensureExecutable } from './grafanaHost';

interface RealAgent {
  agent: TestAgent;
  app: FastifyInstance;
  url: string;
  host: string;
  events: AutotracingEvent[];
}

const now = Date.now();
const FROM = now - 3_600_000;
const TO = now + 1000;
let plugin: PluginProcess;
let agents: RealAgent[] = [];

async function startAgent(host: string, scales: number[]): Promise<RealAgent> {
  const agent = makeTestAgent();
  agent.setConfig({ ...agent.config(), host });
  const events: AutotracingEvent[] = [];
  scales.forEach((scale, i) => {
    events.push(
      addEvent(agent.store, {
        time: now - (i + 1) * 5 * 60_000,
        type: i % 2 === 0 ? 'cpusys' : 'cpuidle',
        host,
        container: i % 2 === 0 ? null : testContainer(i),
        profiles: { cpu: smallProfile(scale) },
      })
    );
  });
  const app = await buildServer(agent, { https: null });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { agent, app, url: `http://127.0.0.1:${port}`, host, events };
}

/** The agents' own order, which the merged list keeps: time descending, then id descending. */
function newestFirst(list: AutotracingEvent[]): AutotracingEvent[] {
  return [...list].sort((x, y) => y.time - x.time || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0));
}

function ds(extra: Parameters<typeof dsSettings>[0] = {}) {
  return dsSettings({
    uid: 'ds-real',
    agents: agents.map((a, i) => ({ name: `real-${i}`, url: a.url })),
    token: READ_TOKEN,
    ...extra,
  });
}

async function agentGet<T>(a: RealAgent, path: string): Promise<T> {
  const r = await fetch(`${a.url}${path}`, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
  assert.equal(r.status, 200, path);
  return (await r.json()) as T;
}

before(async () => {
  const exe = await ensureExecutable();
  agents = [await startAgent('node-a', [1, 2, 3]), await startAgent('node-b', [4, 5])];
  plugin = await PluginProcess.start(exe);
});

after(async () => {
  await plugin?.kill();
  for (const a of agents) {
    await a.app.close();
    a.agent.close();
  }
});

describe('backend × real agent API', () => {
  it('CheckHealth: OK with the read token, versions from /api/v1/info; ERROR naming the agent for a wrong token', async () => {
    const ok = await plugin.checkHealth(ds());
    assert.equal(ok.status, 1, ok.message);
    assert.match(ok.message, /2 agents reachable and authorised \(version 0\.1\.0-test\)/);
    const bad = await plugin.checkHealth(ds({ uid: 'ds-real-bad', token: 'not-a-token' }));
    assert.equal(bad.status, 2);
    assert.match(bad.message, /real-0 .*not authorised: token rejected \(HTTP 401: UNAUTHORIZED/);
    assert.match(bad.message, /real-1 /);
  });

  it('events: every stored capture, newest first, with the annotation fields', async () => {
    const r = await plugin.queryData(ds(), [dataQuery('A', { queryType: 'events' }, FROM, TO)]);
    assert.equal(r.responses.A!.error ?? '', '', r.responses.A!.error);
    const f = decodeFrame(r.responses.A!.frames[0]!);
    assert.equal(f.rows, 5);
    const expected = newestFirst(agents.flatMap((a) => a.events));
    assert.deepEqual(
      f.field('id').values,
      expected.map((e) => e.id)
    );
    assert.deepEqual(
      f.field('time').values,
      expected.map((e) => e.time)
    );
    assert.deepEqual(
      f.field('host').values,
      expected.map((e) => e.host)
    );
    const i = (f.field('type').values as string[]).indexOf('cpuidle');
    assert.equal(f.field('container').values[i], testContainer(1).name);
  });

  it('counts: series labelled by host and type whose totals match the stored captures', async () => {
    const r = await plugin.queryData(
      ds(),
      [dataQuery('C', { queryType: 'counts', types: ['cpusys', 'cpuidle'] }, FROM, TO, { intervalMS: 60_000 })],
      {
        fromAlert: true,
      }
    );
    assert.equal(r.responses.C!.error ?? '', '', r.responses.C!.error);
    const totals: Record<string, number> = {};
    for (const bytes of r.responses.C!.frames) {
      const f = decodeFrame(bytes);
      assert.equal(f.meta.type, 'timeseries-multi');
      const l = f.fields[1]!.labels!;
      totals[`${l.host}/${l.type}`] = (f.fields[1]!.values as number[]).reduce((a, b) => a + b, 0);
    }
    assert.deepEqual(totals, { 'node-a/cpusys': 2, 'node-a/cpuidle': 1, 'node-b/cpusys': 1, 'node-b/cpuidle': 1 });
  });

  it('flamegraph of one event equals the agent own nested rows', async () => {
    const ev = agents[1]!.events[0]!;
    const r = await plugin.queryData(ds(), [dataQuery('F', { queryType: 'flamegraph', eventId: ev.id }, FROM, TO)]);
    assert.equal(r.responses.F!.error ?? '', '', r.responses.F!.error);
    const f = decodeFrame(r.responses.F!.frames[0]!);
    const own = await agentGet<NestedFlamegraph>(agents[1]!, `/api/v1/events/${ev.id}/flamegraph?format=nested`);
    assert.deepEqual(f.field('label').values, own.rows.label);
    assert.deepEqual(f.field('level').values, own.rows.level);
    assert.deepEqual(f.field('value').values, own.rows.value);
    assert.deepEqual(f.field('self').values, own.rows.self);
    assert.equal(f.field('value').values[0], 40, 'smallProfile(4): 10 × 4 samples');
  });

  it('flamegraph merged across both agents: the totals of every capture add up', async () => {
    const r = await plugin.queryData(ds(), [dataQuery('M', { queryType: 'flamegraph' }, FROM, TO)]);
    assert.equal(r.responses.M!.error ?? '', '', r.responses.M!.error);
    const f = decodeFrame(r.responses.M!.frames[0]!);
    assert.equal(f.meta.custom?.events, 5);
    assert.equal(f.field('value').values[0], 10 * (1 + 2 + 3 + 4 + 5));
    assert.equal(f.field('label').values[0], 'all');
  });

  it('dstate, io and memory answer with well-formed (here empty) tables until the tracers store evidence', async () => {
    const r = await plugin.queryData(ds(), [
      dataQuery('D', { queryType: 'dstate' }, FROM, TO),
      dataQuery('I', { queryType: 'io' }, FROM, TO),
      dataQuery('M', { queryType: 'memory' }, FROM, TO),
    ]);
    for (const refId of ['D', 'I', 'M']) {
      assert.equal(r.responses[refId]!.error ?? '', '', r.responses[refId]!.error);
      assert.equal(decodeFrame(r.responses[refId]!.frames[0]!).rows, 0);
    }
  });

  it('resources: agents, events paging, event, flame graph in every format, counts', async () => {
    const list = await plugin.callResource(ds(), 'agents');
    const body = JSON.parse(list.body.toString()) as { agents: Array<{ host: string; ok: boolean }> };
    assert.deepEqual(
      body.agents.map((a) => [a.host, a.ok]),
      [
        ['node-a', true],
        ['node-b', true],
      ]
    );

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await plugin.callResource(
        ds(),
        'events',
        `from=${FROM}&to=${TO}&limit=2${cursor ? `&cursor=${cursor}` : ''}`
      );
      assert.equal(r.code, 200, r.body.toString());
      const page = JSON.parse(r.body.toString()) as { events: AutotracingEvent[]; nextCursor: string | null };
      seen.push(...page.events.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(
      seen,
      newestFirst(agents.flatMap((a) => a.events)).map((e) => e.id)
    );

    const ev = agents[0]!.events[2]!;
    const one = await plugin.callResource(ds(), `events/${ev.id}`);
    assert.equal(one.code, 200);
    assert.equal((JSON.parse(one.body.toString()) as AutotracingEvent).id, ev.id);
    assert.deepEqual(one.headers['x-autotracing-agent'], ['real-0']);

    const folded = await plugin.callResource(ds(), `events/${ev.id}/flamegraph`, 'format=folded');
    assert.equal(folded.code, 200);
    assert.match(folded.body.toString(), /main;work/);
    const pprof = await plugin.callResource(ds(), `events/${ev.id}/flamegraph`, 'format=pprof');
    assert.equal(pprof.code, 200);
    assert.ok(gunzipSync(pprof.body).length > 0, 'pprof is gzip');
    const svg = await plugin.callResource(ds(), `events/${ev.id}/flamegraph`, 'format=svg');
    assert.equal(svg.code, 200);
    assert.match(svg.body.toString(), /<svg[\s>]/);

    const counts = await plugin.callResource(ds(), 'counts', `from=${FROM}&to=${TO}&step=5m`);
    assert.equal(counts.code, 200, counts.body.toString());
    const c = JSON.parse(counts.body.toString()) as { series: Array<{ values: number[] }> };
    assert.equal(
      c.series.reduce((a, s) => a + s.values.reduce((x, y) => x + y, 0), 0),
      5
    );
  });
});
