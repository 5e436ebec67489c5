// The HTTP API through fastify.inject, against a real store in a temp dir (testAgent.ts).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { Profile as PprofProfile } from 'pprof-format';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { fromPprof } from '../profiles/pprof';
import { fromFolded } from '../profiles/folded';
import { buildServer } from './server';
import {
  ErrorBodySchema,
  EventSchema,
  ListEventsResponseSchema,
  CountsResponseSchema,
  NestedFlamegraphSchema,
  MergedFlamegraphSchema,
  type AutotracingEvent,
  type NestedFlamegraph,
} from './schemas';
import {
  ADMIN_TOKEN,
  READ_TOKEN,
  addEvent,
  makeTestAgent,
  smallProfile,
  testContainer,
  type TestAgent,
} from './testAgent';

const T0 = Date.UTC(2024, 4, 1, 10, 0, 0);
const read = { authorization: `Bearer ${READ_TOKEN}` };
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

function json<T = unknown>(r: LightMyRequestResponse): T {
  return JSON.parse(r.body) as T;
}

function assertError(r: LightMyRequestResponse, status: number | 'client', code?: string, what = ''): void {
  if (status === 'client')
    assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${what}: expected 4xx, got ${r.statusCode} ${r.body}`);
  else assert.equal(r.statusCode, status, `${what}: ${r.body}`);
  assert.match(String(r.headers['content-type']), /^application\/json/, what);
  const body = json(r);
  assert.ok(Value.Check(ErrorBodySchema, body), `${what}: error shape, got ${r.body}`);
  assert.deepEqual(Object.keys(body as object), ['error'], what);
  if (code) assert.equal((body as { error: { code: string } }).error.code, code, `${what}: ${r.body}`);
}

/** Nested rows: every row's value is its self plus its children's values; the root is the total. */
function checkNested(g: NestedFlamegraph): void {
  const { level, value, self, label, kind } = g.rows;
  const n = label.length;
  assert.equal(level.length, n);
  assert.equal(kind.length, n);
  assert.equal(level[0], 0);
  assert.equal(value[0], g.total);
  for (let i = 0; i < n; i++) {
    let children = 0;
    for (let j = i + 1; j < n && level[j]! > level[i]!; j++) if (level[j] === level[i]! + 1) children += value[j]!;
    assert.equal(value[i], self[i]! + children, `row ${i} (${label[i]}): value = self + children`);
  }
}

describe('API over inject', () => {
  let agent: TestAgent;
  let app: FastifyInstance;
  const events: AutotracingEvent[] = [];
  const c1 = testContainer(1);
  const c2 = testContainer(2);

  before(async () => {
    agent = makeTestAgent();
    // 30 events a minute apart: types round-robin, every third in container 1, every fifth in container 2
    for (let i = 0; i < 30; i++) {
      const type = (['cpusys', 'cpuidle', 'dload'] as const)[i % 3];
      const container = i % 3 === 0 ? c1 : i % 5 === 0 ? c2 : null;
      events.push(
        addEvent(agent.store, { time: T0 + i * 60_000, type, container, host: i === 29 ? 'node-2' : 'node-1' })
      );
    }
    app = await buildServer(agent, { https: null });
  });
  after(async () => {
    await app.close();
    agent.close();
  });

  test('health and metrics are open; readiness follows the agent', async () => {
    assert.equal((await app.inject('/healthz')).statusCode, 200);
    assert.deepEqual(json(await app.inject('/readyz')), { status: 'ready' });
    agent.setReady(false);
    assertError(await app.inject('/readyz'), 503, 'NOT_READY');
    agent.setReady(true);
    const m = await app.inject('/metrics');
    assert.equal(m.statusCode, 200);
    assert.match(String(m.headers['content-type']), /^text\/plain/);
    assert.match(m.body, /autotracing_api_requests_total\{method="GET",route="\/readyz",status="503"\} 1/);
  });

  test('auth: 401 without or with a bad token, 403 for read on admin routes, admin reads too', async () => {
    const none = await app.inject('/api/v1/events');
    assertError(none, 401, 'UNAUTHORIZED');
    assert.match(String(none.headers['www-authenticate']), /^Bearer/);
    assertError(
      await app.inject({ url: '/api/v1/events', headers: { authorization: 'Bearer not-a-valid-token-xxxxxxxx' } }),
      401,
      'UNAUTHORIZED'
    );
    assertError(
      await app.inject({ url: '/api/v1/events', headers: { authorization: `Basic ${READ_TOKEN}` } }),
      401,
      'UNAUTHORIZED'
    );
    assertError(await app.inject({ url: '/api/v1/events', headers: { authorization: `Bearer ${READ_TOKEN}x` } }), 401);
    assertError(
      await app.inject({ url: '/api/v1/events', headers: { authorization: `Bearer ${READ_TOKEN.slice(0, -1)}` } }),
      401
    );
    assert.equal((await app.inject({ url: '/api/v1/events', headers: read })).statusCode, 200);
    assert.equal((await app.inject({ url: '/api/v1/events', headers: admin })).statusCode, 200);
    assert.equal(
      (await app.inject({ url: '/api/v1/events', headers: { authorization: `bearer  ${READ_TOKEN}` } })).statusCode,
      200
    );
    assertError(
      await app.inject({ method: 'POST', url: '/api/v1/captures', headers: read, payload: { type: 'cpusys' } }),
      403,
      'FORBIDDEN'
    );
    assertError(
      await app.inject({ method: 'PATCH', url: '/api/v1/tracers/cpusys', headers: read, payload: { enabled: false } }),
      403,
      'FORBIDDEN'
    );
    assertError(await app.inject({ method: 'POST', url: '/api/v1/captures', payload: { type: 'cpusys' } }), 401);
    for (const url of [
      '/api/v1/info',
      '/api/v1/tracers',
      '/api/v1/stats/counts',
      '/api/v1/hosts',
      '/api/v1/containers',
      '/api/v1/openapi.json',
      `/api/v1/events/${events[0]!.id}`,
    ]) {
      assertError(await app.inject(url), 401, 'UNAUTHORIZED', url);
      assert.equal((await app.inject({ url, headers: read })).statusCode, 200, url);
    }
    // unknown routes: a token first, then 404
    assertError(await app.inject('/nope'), 401);
    assertError(await app.inject({ url: '/nope', headers: read }), 404, 'NOT_FOUND');
  });

  test('a config reload (new tokens, closed health) applies to the next request', async () => {
    const old = agent.config();
    const NEW = 'rotated-token-0123456789abcdef';
    agent.setConfig({
      ...old,
      api: { ...old.api, openHealth: false, openMetrics: false, tokens: { read: [NEW], admin: [] } },
    });
    try {
      assertError(await app.inject({ url: '/api/v1/events', headers: read }), 401);
      assert.equal(
        (await app.inject({ url: '/api/v1/events', headers: { authorization: `Bearer ${NEW}` } })).statusCode,
        200
      );
      assertError(await app.inject('/healthz'), 401);
      assertError(await app.inject('/metrics'), 401);
      assert.equal(
        (await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${NEW}` } })).statusCode,
        200
      );
    } finally {
      agent.setConfig(old);
    }
  });

  test('events: newest first, filters, fetch by id', async () => {
    const r = await app.inject({ url: '/api/v1/events?limit=5', headers: read });
    assert.equal(r.statusCode, 200);
    const page = json<{ events: AutotracingEvent[]; nextCursor: string | null }>(r);
    assert.ok(Value.Check(ListEventsResponseSchema, page));
    assert.deepEqual(
      page.events.map((e) => e.id),
      [...events]
        .reverse()
        .slice(0, 5)
        .map((e) => e.id)
    );
    assert.ok(page.nextCursor);
    const all = async (q: string): Promise<AutotracingEvent[]> => {
      const x = await app.inject({ url: `/api/v1/events?limit=1000&${q}`, headers: read });
      assert.equal(x.statusCode, 200, `${q}: ${x.body}`);
      return json<{ events: AutotracingEvent[] }>(x).events;
    };
    assert.equal((await all('type=dload')).length, 10);
    assert.equal((await all('type=dload,cpusys')).length, 20);
    assert.equal((await all('type=dload&type=cpusys')).length, 20);
    assert.equal((await all(`container=${c1.name}`)).length, 10);
    assert.equal((await all(`container=${c1.id.slice(0, 12)}`)).length, 10);
    assert.equal((await all('host=node-2')).length, 1);
    assert.equal((await all(`from=${T0 + 10 * 60_000}&to=${T0 + 19 * 60_000}`)).length, 10);
    assert.equal(
      (await all(`from=${new Date(T0 + 10 * 60_000).toISOString()}&to=2024-05-01T12:19:00%2B02:00`)).length,
      10
    );
    assert.equal((await all('from=now-1h')).length, 0);
    assert.equal((await all('from=now-100000d&to=now')).length, 30);
    // default page size from the config
    assert.equal(
      json<{ events: unknown[] }>(await app.inject({ url: '/api/v1/events', headers: read })).events.length,
      30
    );
    const one = await app.inject({ url: `/api/v1/events/${events[3]!.id}`, headers: read });
    assert.equal(one.statusCode, 200);
    assert.ok(Value.Check(EventSchema, json(one)));
    assert.deepEqual(json(one), events[3]);
    assert.equal(
      (await app.inject({ url: `/api/v1/events/${events[3]!.id.toLowerCase()}`, headers: read })).statusCode,
      200
    );
  });

  test('page size limits come from the live config', async () => {
    const old = agent.config();
    agent.setConfig({ ...old, api: { ...old.api, defaultPageSize: 7, maxPageSize: 10 } });
    try {
      assert.equal(
        json<{ events: unknown[] }>(await app.inject({ url: '/api/v1/events', headers: read })).events.length,
        7
      );
      assert.equal(
        json<{ events: unknown[] }>(await app.inject({ url: '/api/v1/events?limit=10', headers: read })).events.length,
        10
      );
      const cut = json<{ events: unknown[]; nextCursor: string | null }>(
        await app.inject({ url: '/api/v1/events?limit=11', headers: read })
      );
      assert.equal(cut.events.length, 10, 'cut to api.maxPageSize');
      assert.ok(cut.nextCursor);
    } finally {
      agent.setConfig(old);
    }
  });

  test('pagination never repeats or skips while events are inserted between pages', async () => {
    const a = makeTestAgent();
    const s = await buildServer(a, { https: null });
    try {
      const initial = new Set<string>();
      for (let i = 0; i < 200; i++) initial.add(addEvent(a.store, { time: T0 + Math.floor(i / 3) * 1000 }).id); // ties on time
      const seen: string[] = [];
      let cursor: string | null = null;
      let n = 0;
      do {
        const r: LightMyRequestResponse = await s.inject({
          url: `/api/v1/events?limit=7${cursor ? `&cursor=${cursor}` : ''}`,
          headers: read,
        });
        assert.equal(r.statusCode, 200, r.body);
        const page = json<{ events: AutotracingEvent[]; nextCursor: string | null }>(r);
        seen.push(...page.events.map((e) => e.id));
        cursor = page.nextCursor;
        // concurrent writers: newer events, events at the same time as the rows around the cursor, older ones
        addEvent(a.store, { time: T0 + 10_000_000 + n });
        addEvent(a.store, { time: T0 + Math.floor(Math.random() * 67) * 1000 });
        n++;
      } while (cursor);
      assert.equal(new Set(seen).size, seen.length, 'no event repeated');
      for (const id of initial) assert.ok(seen.includes(id), `event ${id} present at the start was not skipped`);
      // and the walk is in order
      const byId = new Map<string, AutotracingEvent>();
      for (const e of json<{ events: AutotracingEvent[] }>(
        await s.inject({ url: '/api/v1/events?limit=1000', headers: read })
      ).events)
        byId.set(e.id, e);
      for (let i = 1; i < seen.length; i++) {
        const p = byId.get(seen[i - 1]!)!;
        const q = byId.get(seen[i]!)!;
        assert.ok(p.time > q.time || (p.time === q.time && p.id > q.id), 'time DESC, id DESC');
      }
    } finally {
      await s.close();
      a.close();
    }
  });

  test('flame graph of an event in all four formats', async () => {
    const e = events[0]!;
    const expected = smallProfile();
    // nested (default)
    const n = await app.inject({ url: `/api/v1/events/${e.id}/flamegraph`, headers: read });
    assert.equal(n.statusCode, 200, n.body);
    assert.match(String(n.headers['content-type']), /^application\/json/);
    const nested = json<NestedFlamegraph>(n);
    assert.ok(Value.Check(NestedFlamegraphSchema, nested));
    assert.equal(nested.name, 'cpu');
    assert.equal(nested.total, expected.total);
    assert.deepEqual(nested.rows.label.slice(0, 3), ['all', 'app', 'main']);
    assert.deepEqual(nested.rows.kind.slice(0, 3), ['meta', 'process', 'user']);
    assert.ok(nested.rows.kind.includes('kernel'));
    assert.equal(nested.rows.module?.length, nested.rows.label.length);
    checkNested(nested);
    // folded
    const fo = await app.inject({ url: `/api/v1/events/${e.id}/flamegraph?format=folded`, headers: read });
    assert.match(String(fo.headers['content-type']), /^text\/plain/);
    const back = fromFolded(fo.body);
    assert.equal(back.total, expected.total);
    assert.equal(back.stackCount, expected.stackCount);
    assert.match(fo.body, /^app;main;work;do_sys_open(_\[k\])? 4$/m);
    // pprof
    const pp = await app.inject({ url: `/api/v1/events/${e.id}/flamegraph?format=pprof`, headers: read });
    assert.equal(pp.statusCode, 200);
    assert.equal(pp.headers['content-type'], 'application/octet-stream');
    const raw = pp.rawPayload;
    assert.deepEqual([raw[0], raw[1]], [0x1f, 0x8b], 'gzip');
    const decoded = PprofProfile.decode(gunzipSync(raw));
    assert.equal(
      decoded.sample.reduce((a, s) => a + Number(s.value[0]), 0),
      expected.total
    );
    assert.equal(fromPprof(raw).total, expected.total);
    // svg
    const sv = await app.inject({ url: `/api/v1/events/${e.id}/flamegraph?format=svg`, headers: read });
    assert.match(String(sv.headers['content-type']), /^image\/svg\+xml/);
    const problems: string[] = [];
    const doc = new DOMParser({
      onError: (level: string, msg: string) => void problems.push(`${level}: ${msg}`),
    }).parseFromString(sv.body, 'image/svg+xml') as unknown as {
      getElementById(id: string): { textContent: string | null } | null;
    };
    assert.deepEqual(problems, []);
    const title = doc.getElementById('fg-title')!.textContent!;
    assert.match(title, /cpusys/);
    assert.match(title, /node-1/);
    assert.match(title, /2024-05-01T10:00:00Z/);
    assert.match(title, /host sys 62% > 45%/);
    assert.match(title, /app-1/, 'the container');
  });

  test('flame graph: profile choice, unknown profile, event without profiles', async () => {
    const e = addEvent(agent.store, {
      time: T0 - 3_600_000,
      profiles: { offcpu: smallProfile(2, { unit: 'nanoseconds' }), cpu: smallProfile(1) },
    });
    const first = json<NestedFlamegraph>(await app.inject({ url: `/api/v1/events/${e.id}/flamegraph`, headers: read }));
    assert.equal(first.name, 'offcpu', 'the first flame graph listed in data.flamegraphs');
    assert.equal(first.unit, 'nanoseconds');
    const cpu = await app.inject({ url: `/api/v1/events/${e.id}/flamegraph?profile=cpu&format=nested`, headers: read });
    assert.equal(json<NestedFlamegraph>(cpu).total, 10);
    assert.equal(cpu.headers['x-autotracing-profile'], 'cpu');
    const missing = await app.inject({ url: `/api/v1/events/${e.id}/flamegraph?profile=alloc`, headers: read });
    assertError(missing, 404, 'NOT_FOUND');
    assert.match(json<{ error: { message: string } }>(missing).error.message, /offcpu/);
    const bare = agent.store.insertEvent({
      type: 'dload',
      host: 'node-1',
      time: T0 - 7_200_000,
      container: null,
      trigger: events[0]!.trigger,
      summary: 's',
      data: {},
    });
    assertError(await app.inject({ url: `/api/v1/events/${bare.id}/flamegraph`, headers: read }), 404, 'NOT_FOUND');
    agent.store.completeEvent(bare.id, { status: 'failed', error: 'no stacks' });
    assertError(
      await app.inject({ url: `/api/v1/events/${bare.id}/flamegraph?format=svg`, headers: read }),
      404,
      'NOT_FOUND'
    );
  });

  test('merged flame graph over a range: totals add up, capped, headers say so', async () => {
    const q = `from=${T0}&to=${T0 + 29 * 60_000}`;
    const r = await app.inject({ url: `/api/v1/flamegraph?${q}&type=cpusys`, headers: read });
    assert.equal(r.statusCode, 200, r.body);
    const g = json<NestedFlamegraph & { merge: { events: number; truncated: boolean; eventIds: string[] } }>(r);
    assert.ok(Value.Check(MergedFlamegraphSchema, g), r.body.slice(0, 300));
    assert.equal(g.merge.events, 10);
    assert.equal(g.total, 10 * smallProfile().total);
    checkNested(g);
    assert.equal(r.headers['x-autotracing-merged-events'], '10');
    assert.equal(r.headers['x-autotracing-truncated'], 'false');
    const capped = await app.inject({ url: `/api/v1/flamegraph?${q}&limit=4`, headers: read });
    assert.equal(capped.headers['x-autotracing-merged-events'], '4');
    assert.equal(capped.headers['x-autotracing-truncated'], 'true');
    assert.deepEqual(
      json<{ merge: { eventIds: string[] } }>(capped).merge.eventIds,
      [...events]
        .reverse()
        .slice(0, 4)
        .map((e) => e.id)
    );
    const folded = await app.inject({
      url: `/api/v1/flamegraph?${q}&container=${c1.name}&format=folded`,
      headers: read,
    });
    assert.equal(fromFolded(folded.body).total, 10 * 10);
    const svg = await app.inject({ url: `/api/v1/flamegraph?${q}&format=svg`, headers: read });
    assert.equal(svg.statusCode, 200);
    const pprof = await app.inject({ url: `/api/v1/flamegraph?${q}&format=pprof`, headers: read });
    assert.equal(fromPprof(pprof.rawPayload).total, 30 * 10);
    const empty = await app.inject({ url: '/api/v1/flamegraph?from=0&to=1000', headers: read });
    assert.equal(empty.statusCode, 200);
    assert.equal(json<NestedFlamegraph>(empty).total, 0);
    assert.equal(empty.headers['x-autotracing-merged-events'], '0');
  });

  test('counts match the rows, by type and by container, labelled with the host', async () => {
    const from = T0;
    const to = T0 + 29 * 60_000 + 59_999;
    const r = await app.inject({ url: `/api/v1/stats/counts?from=${from}&to=${to}&step=10m`, headers: read });
    assert.equal(r.statusCode, 200, r.body);
    const c = json<{
      host: string;
      stepMs: number;
      buckets: number[];
      series: { labels: Record<string, string>; values: number[] }[];
    }>(r);
    assert.ok(Value.Check(CountsResponseSchema, c));
    assert.equal(c.stepMs, 600_000);
    assert.equal(c.buckets.length, 3);
    const rows = json<{ events: AutotracingEvent[] }>(
      await app.inject({ url: `/api/v1/events?from=${from}&to=${to}&limit=1000`, headers: read })
    ).events;
    for (const s of c.series) {
      assert.equal(s.labels.host, 'node-1');
      for (let b = 0; b < c.buckets.length; b++) {
        const n: number = rows.filter(
          (e) => e.type === s.labels.type && e.time >= c.buckets[b]! && e.time < c.buckets[b]! + c.stepMs
        ).length;
        assert.equal(s.values[b], n, `${s.labels.type} bucket ${b}`);
      }
    }
    assert.equal(
      c.series.reduce((a, s) => a + s.values.reduce((x, y) => x + y, 0), 0),
      rows.length
    );
    const byC = json<{ series: { labels: Record<string, string>; values: number[] }[] }>(
      await app.inject({ url: `/api/v1/stats/counts?from=${from}&to=${to}&step=30m&by=container`, headers: read })
    );
    const sum = (labels: Record<string, string>) =>
      byC.series.find((s) => s.labels.container === labels.container)!.values.reduce((a, b) => a + b, 0);
    assert.equal(sum({ container: c1.id }), 10);
    assert.equal(sum({ container: c2.id }), rows.filter((e) => e.container?.id === c2.id).length);
    assert.equal(sum({ container: 'host' }), rows.filter((e) => e.container === null).length);
    assert.equal(byC.series.find((s) => s.labels.container === c1.id)!.labels.container_name, 'app-1');
    // defaults: the last hour, an automatic step
    const d = json<{ from: number; to: number; stepMs: number; buckets: number[] }>(
      await app.inject({ url: '/api/v1/stats/counts', headers: read })
    );
    assert.ok(Math.abs(d.to - Date.now()) < 60_000 && d.to - d.from === 3_600_000);
    assert.ok(d.buckets.length <= 301);
  });

  test('hosts and containers for template variables', async () => {
    assert.deepEqual(json(await app.inject({ url: '/api/v1/hosts', headers: read })), { hosts: ['node-1', 'node-2'] });
    const cs = json<{ containers: { id: string; name: string; events: number }[] }>(
      await app.inject({ url: '/api/v1/containers', headers: read })
    ).containers;
    assert.deepEqual(cs.map((c) => c.name).sort(), ['app-1', 'app-2']);
    assert.equal(cs.find((c) => c.name === 'app-1')!.events, 10);
  });

  test('manual captures: 202, refusals with their status and the error shape', async () => {
    agent.holdCaptures(); // the two captures stay running until released, however slow this machine is
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/captures',
      headers: admin,
      payload: { type: 'cpusys', durationMs: 1000 },
    });
    assert.equal(r.statusCode, 202, r.body);
    const acc = json<{ id: string; status: string }>(r);
    assert.equal(acc.status, 'capturing');
    assert.equal(r.headers.location, `/api/v1/events/${acc.id}`);
    assert.equal(
      json<AutotracingEvent>(await app.inject({ url: `/api/v1/events/${acc.id}`, headers: read })).status,
      'capturing'
    );
    assertError(
      await app.inject({ method: 'POST', url: '/api/v1/captures', headers: admin, payload: { type: 'dload' } }),
      501,
      'NOT_IMPLEMENTED'
    );
    assertError(
      await app.inject({
        method: 'POST',
        url: '/api/v1/captures',
        headers: admin,
        payload: { type: 'cpuidle', container: 'nope-nope' },
      }),
      404,
      'NOT_FOUND'
    );
    await app.inject({ method: 'POST', url: '/api/v1/captures', headers: admin, payload: { type: 'cpusys' } });
    const busy = await app.inject({
      method: 'POST',
      url: '/api/v1/captures',
      headers: admin,
      payload: { type: 'cpusys' },
    });
    assertError(busy, 429, 'BUSY');
    assert.ok(Number(busy.headers['retry-after']) >= 1);
    agent.releaseCaptures();
    const done = json<AutotracingEvent>(await app.inject({ url: `/api/v1/events/${acc.id}`, headers: read }));
    assert.equal(done.status, 'complete');
    assert.equal(
      json<NestedFlamegraph>(await app.inject({ url: `/api/v1/events/${acc.id}/flamegraph`, headers: read })).total,
      30
    );
  });

  test('tracers: list, patch with the config rules, bad patches are 400', async () => {
    const t = json<{ tracers: { type: string; enabled: boolean }[] }>(
      await app.inject({ url: '/api/v1/tracers', headers: read })
    );
    assert.deepEqual(
      t.tracers.map((x) => x.type),
      ['cpusys', 'cpuidle', 'dload', 'memburst', 'iotracing']
    );
    const p = await app.inject({
      method: 'PATCH',
      url: '/api/v1/tracers/cpuidle',
      headers: admin,
      payload: { enabled: false, userThreshold: 80 },
    });
    assert.equal(p.statusCode, 200, p.body);
    assert.equal(json<{ enabled: boolean; config: { userThreshold: number } }>(p).config.userThreshold, 80);
    assertError(
      await app.inject({ method: 'POST', url: '/api/v1/captures', headers: admin, payload: { type: 'cpuidle' } }),
      409,
      'DISABLED'
    );
    const bad = await app.inject({
      method: 'PATCH',
      url: '/api/v1/tracers/cpuidle',
      headers: admin,
      payload: { userThreshold: 'lots', bogus: 1 },
    });
    assertError(bad, 400, 'BAD_REQUEST');
    assert.match(json<{ error: { message: string } }>(bad).error.message, /tracers\.cpuidle\.userThreshold/);
    assert.equal(
      (
        await app.inject({
          method: 'PATCH',
          url: '/api/v1/tracers/cpuidle',
          headers: admin,
          payload: { enabled: true },
        })
      ).statusCode,
      200
    );
  });

  test('every kind of bad input is a 4xx with the error shape, never a 5xx', async () => {
    const id = events[0]!.id;
    const cursor = json<{ nextCursor: string }>(
      await app.inject({ url: '/api/v1/events?limit=1', headers: read })
    ).nextCursor;
    const cases: [
      string,
      {
        method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
        url: string;
        payload?: string | object;
        headers?: Record<string, string>;
      },
      string?,
    ][] = [
      ['unknown query parameter', { url: '/api/v1/events?bogus=1' }, 'BAD_REQUEST'],
      ['unknown type', { url: '/api/v1/events?type=cpusys,nosuch' }, 'BAD_REQUEST'],
      ['limit not a number', { url: '/api/v1/events?limit=abc' }, 'BAD_REQUEST'],
      ['limit negative', { url: '/api/v1/events?limit=-1' }, 'BAD_REQUEST'],
      ['limit zero', { url: '/api/v1/events?limit=0' }, 'BAD_REQUEST'],
      ['limit fractional', { url: '/api/v1/events?limit=1.5' }, 'BAD_REQUEST'],
      ['huge limit', { url: '/api/v1/events?limit=100000000000000000000' }, 'BAD_REQUEST'],
      ['limit above the absolute bound', { url: '/api/v1/events?limit=10001' }, 'BAD_REQUEST'],
      ['limit repeated', { url: '/api/v1/events?limit=1&limit=2' }, 'BAD_REQUEST'],
      ['from > to', { url: `/api/v1/events?from=${T0 + 1}&to=${T0}` }, 'BAD_RANGE'],
      ['from > to (relative)', { url: '/api/v1/events?from=now&to=now-1h' }, 'BAD_RANGE'],
      ['bad from', { url: '/api/v1/events?from=yesterday' }, 'BAD_REQUEST'],
      ['bad relative', { url: '/api/v1/events?from=now-1x' }, 'BAD_REQUEST'],
      ['impossible date', { url: '/api/v1/events?from=2024-02-31T00:00:00Z' }, 'BAD_REQUEST'],
      ['time too large', { url: '/api/v1/events?to=9999999999999999' }, 'BAD_REQUEST'],
      ['malformed cursor', { url: '/api/v1/events?cursor=garbage!!' }, 'BAD_CURSOR'],
      ['forged cursor', { url: `/api/v1/events?cursor=${Buffer.from('v1:1:x').toString('base64url')}` }, 'BAD_CURSOR'],
      ['tampered cursor', { url: `/api/v1/events?cursor=${cursor.slice(0, -2)}AA` }, 'BAD_CURSOR'],
      ['SQL in type', { url: `/api/v1/events?type=${encodeURIComponent("cpusys' OR '1'='1")}` }, 'BAD_REQUEST'],
      [
        'SQL in container',
        { url: `/api/v1/events?container=${encodeURIComponent("x'; DROP TABLE events;--")}` },
        'BAD_REQUEST',
      ],
      ['SQL in host', { url: `/api/v1/events?host=${encodeURIComponent('a" OR 1=1 --')}` }, 'BAD_REQUEST'],
      [
        'SQL in cursor',
        { url: `/api/v1/events?cursor=${encodeURIComponent("1' UNION SELECT * FROM events--")}` },
        'BAD_CURSOR',
      ],
      ['SQL in id', { url: `/api/v1/events/${encodeURIComponent("1' OR '1'='1")}` }, 'BAD_REQUEST'],
      [
        'SQL in profile',
        { url: `/api/v1/events/${id}/flamegraph?profile=${encodeURIComponent("cpu' --")}` },
        'BAD_REQUEST',
      ],
      ['too long container', { url: `/api/v1/events?container=${'a'.repeat(300)}` }, 'BAD_REQUEST'],
      ['unknown event', { url: '/api/v1/events/01HZZZZZZZZZZZZZZZZZZZZZZZ' }, 'NOT_FOUND'],
      ['unknown event flamegraph', { url: '/api/v1/events/01HZZZZZZZZZZZZZZZZZZZZZZZ/flamegraph' }, 'NOT_FOUND'],
      ['short id', { url: '/api/v1/events/123' }, 'BAD_REQUEST'],
      ['unknown route', { url: '/api/v1/nothing' }, 'NOT_FOUND'],
      ['unknown route (method)', { method: 'DELETE', url: `/api/v1/events/${id}` }, 'NOT_FOUND'],
      ['unknown format', { url: `/api/v1/events/${id}/flamegraph?format=png` }, 'BAD_REQUEST'],
      ['merged: limit too high', { url: '/api/v1/flamegraph?limit=501' }, 'BAD_REQUEST'],
      ['merged: from > to', { url: '/api/v1/flamegraph?from=2&to=1' }, 'BAD_RANGE'],
      ['counts: bad step', { url: '/api/v1/stats/counts?step=fast' }, 'BAD_REQUEST'],
      ['counts: zero step', { url: '/api/v1/stats/counts?step=0' }, 'BAD_REQUEST'],
      ['counts: too many buckets', { url: '/api/v1/stats/counts?from=0&to=now&step=1ms' }, 'BAD_RANGE'],
      ['counts: bad by', { url: '/api/v1/stats/counts?by=host' }, 'BAD_REQUEST'],
      ['counts: from > to', { url: '/api/v1/stats/counts?from=now&to=now-1d' }, 'BAD_RANGE'],
      ['stream: unknown type', { url: '/api/v1/events/stream?type=zzz' }, 'BAD_REQUEST'],
      ['containers: bad time', { url: '/api/v1/containers?from=x' }, 'BAD_REQUEST'],
      [
        'capture: malformed JSON',
        {
          method: 'POST',
          url: '/api/v1/captures',
          payload: '{"type": "cpusys",',
          headers: { 'content-type': 'application/json' },
        },
        'BAD_JSON',
      ],
      [
        'capture: empty JSON body',
        { method: 'POST', url: '/api/v1/captures', payload: '', headers: { 'content-type': 'application/json' } },
      ],
      [
        'capture: JSON array',
        { method: 'POST', url: '/api/v1/captures', payload: '[]', headers: { 'content-type': 'application/json' } },
        'BAD_REQUEST',
      ],
      [
        'capture: wrong content type',
        {
          method: 'POST',
          url: '/api/v1/captures',
          payload: 'type=cpusys',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'capture: text/plain',
        {
          method: 'POST',
          url: '/api/v1/captures',
          payload: '{"type":"cpusys"}',
          headers: { 'content-type': 'text/plain' },
        },
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'capture: no content type',
        { method: 'POST', url: '/api/v1/captures', payload: '{"type":"cpusys"}', headers: { 'content-type': '' } },
      ],
      [
        'capture: body too large',
        { method: 'POST', url: '/api/v1/captures', payload: { type: 'cpusys', pad: 'x'.repeat(100_000) } },
        'PAYLOAD_TOO_LARGE',
      ],
      [
        'capture: unknown type',
        { method: 'POST', url: '/api/v1/captures', payload: { type: 'nosuch' } },
        'BAD_REQUEST',
      ],
      [
        'capture: unknown field',
        { method: 'POST', url: '/api/v1/captures', payload: { type: 'cpusys', sneaky: true } },
        'BAD_REQUEST',
      ],
      [
        'capture: duration too long',
        { method: 'POST', url: '/api/v1/captures', payload: { type: 'cpusys', durationMs: 10_000_000 } },
        'BAD_REQUEST',
      ],
      [
        'capture: duration a string',
        { method: 'POST', url: '/api/v1/captures', payload: { type: 'cpusys', durationMs: 'ten' } },
        'BAD_REQUEST',
      ],
      [
        'capture: SQL container',
        { method: 'POST', url: '/api/v1/captures', payload: { type: 'cpusys', container: "' OR 1=1" } },
        'BAD_REQUEST',
      ],
      [
        'capture: prototype pollution',
        {
          method: 'POST',
          url: '/api/v1/captures',
          payload: '{"type":"cpusys","__proto__":{"x":1}}',
          headers: { 'content-type': 'application/json' },
        },
      ],
      [
        'patch: unknown tracer',
        { method: 'PATCH', url: '/api/v1/tracers/nosuch', payload: { enabled: true } },
        'BAD_REQUEST',
      ],
      [
        'patch: not an object',
        {
          method: 'PATCH',
          url: '/api/v1/tracers/cpusys',
          payload: '"on"',
          headers: { 'content-type': 'application/json' },
        },
        'BAD_REQUEST',
      ],
      [
        'patch: bad value',
        { method: 'PATCH', url: '/api/v1/tracers/cpusys', payload: { sysThreshold: 1000 } },
        'BAD_REQUEST',
      ],
      ['patch: unknown key', { method: 'PATCH', url: '/api/v1/tracers/cpusys', payload: { nosuch: 1 } }, 'BAD_REQUEST'],
    ];
    for (const [what, req, code] of cases) {
      const r = await app.inject({
        method: req.method ?? 'GET',
        url: req.url,
        payload: req.payload,
        headers: { ...admin, ...req.headers },
      });
      assertError(r, 'client', code, what);
    }
    // the messages name what is wrong
    const unknownParam = json<{ error: { message: string } }>(
      await app.inject({ url: '/api/v1/events?bogus=1', headers: read })
    );
    assert.match(unknownParam.error.message, /bogus/);
    const fmt = json<{ error: { message: string } }>(
      await app.inject({ url: `/api/v1/events/${id}/flamegraph?format=png`, headers: read })
    );
    assert.match(fmt.error.message, /nested, folded, pprof, svg/);
  });

  test('body limit follows the live config', async () => {
    const old = agent.config();
    agent.setConfig({ ...old, api: { ...old.api, bodyLimit: 1024 } });
    try {
      const big = { type: 'dload', container: 'a'.repeat(200), pad: 'x'.repeat(2000) };
      assertError(
        await app.inject({ method: 'POST', url: '/api/v1/captures', headers: admin, payload: big }),
        413,
        'PAYLOAD_TOO_LARGE'
      );
      // without a content-length (chunked), the stream is cut at the limit too
      const { Readable } = await import('node:stream');
      const r = await app.inject({
        method: 'POST',
        url: '/api/v1/captures',
        headers: { ...admin, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        payload: Readable.from([Buffer.from(JSON.stringify(big))]),
      });
      assertError(r, 413, 'PAYLOAD_TOO_LARGE');
    } finally {
      agent.setConfig(old);
    }
  });

  test('an unexpected failure is a 500 with a generic message; the details go to the log only', async () => {
    const a = makeTestAgent();
    a.info = () => {
      throw new Error('secret internal detail');
    };
    const s = await buildServer(a, { https: null });
    try {
      const r = await s.inject({ url: '/api/v1/info', headers: read });
      assertError(r, 500, 'INTERNAL');
      assert.doesNotMatch(r.body, /secret/);
      assert.match(a.logText(), /secret internal detail/);
    } finally {
      await s.close();
      a.close();
    }
  });

  test('no tokens configured: every route is open', async () => {
    const a = makeTestAgent({ tokens: false });
    const s = await buildServer(a, { https: null });
    try {
      assert.equal((await s.inject('/api/v1/events')).statusCode, 200);
      assert.equal(
        (await s.inject({ method: 'POST', url: '/api/v1/captures', payload: { type: 'cpusys' } })).statusCode,
        202
      );
    } finally {
      await s.close();
      a.close();
    }
  });

  test('rate limit: 429 with the error shape once over api.rateLimit.max; health exempt; 0 turns it off', async () => {
    const a = makeTestAgent({ api: { rateLimit: { max: 5, window: 60_000 } } });
    const s = await buildServer(a, { https: null });
    try {
      for (let i = 0; i < 5; i++)
        assert.equal((await s.inject({ url: '/api/v1/hosts', headers: read })).statusCode, 200);
      const r = await s.inject({ url: '/api/v1/hosts', headers: read });
      assertError(r, 429, 'RATE_LIMITED');
      assert.ok(Number(r.headers['retry-after']) > 0);
      // bad tokens are limited too (no brute force)
      assertError(
        await s.inject({ url: '/api/v1/hosts', headers: { authorization: 'Bearer guess-guess-guess-guess' } }),
        429
      );
      assert.equal((await s.inject('/healthz')).statusCode, 200);
      assert.equal((await s.inject('/readyz')).statusCode, 200);
      // another client has its own budget
      assert.equal(
        (await s.inject({ url: '/api/v1/hosts', headers: read, remoteAddress: '10.0.0.9' })).statusCode,
        200
      );
      const c = a.config();
      a.setConfig({ ...c, api: { ...c.api, rateLimit: { max: 0, window: 60_000 } } });
      assert.equal((await s.inject({ url: '/api/v1/hosts', headers: read })).statusCode, 200);
    } finally {
      await s.close();
      a.close();
    }
  });

  test('the OpenAPI document lists every route', async () => {
    const r = await app.inject({ url: '/api/v1/openapi.json', headers: read });
    assert.equal(r.statusCode, 200);
    const doc = json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(r);
    assert.match(doc.openapi, /^3\./);
    const expected: [string, string][] = [
      ['get', '/healthz'],
      ['get', '/readyz'],
      ['get', '/metrics'],
      ['get', '/api/v1/info'],
      ['get', '/api/v1/events'],
      ['get', '/api/v1/events/{id}'],
      ['get', '/api/v1/events/{id}/flamegraph'],
      ['get', '/api/v1/events/stream'],
      ['get', '/api/v1/flamegraph'],
      ['get', '/api/v1/stats/counts'],
      ['get', '/api/v1/hosts'],
      ['get', '/api/v1/containers'],
      ['post', '/api/v1/captures'],
      ['get', '/api/v1/tracers'],
      ['patch', '/api/v1/tracers/{type}'],
      ['get', '/api/v1/openapi.json'],
    ];
    for (const [m, p] of expected) assert.ok(doc.paths[p]?.[m], `${m.toUpperCase()} ${p} in the OpenAPI document`);
    const documented = Object.entries(doc.paths).flatMap(([p, ms]) => Object.keys(ms).map((m) => `${m} ${p}`));
    assert.deepEqual(documented.sort(), expected.map(([m, p]) => `${m} ${p}`).sort(), 'and nothing else');
    const ev = doc.paths['/api/v1/events']!.get as { parameters: { name: string }[] };
    assert.deepEqual(ev.parameters.map((x) => x.name).sort(), [
      'container',
      'cursor',
      'from',
      'host',
      'limit',
      'to',
      'type',
    ]);
  });

  test('tokens never reach the log', async () => {
    await app.inject({ url: '/api/v1/info', headers: read });
    await app.inject({ url: '/api/v1/info', headers: admin });
    await app.inject({ url: '/api/v1/info', headers: { authorization: 'Bearer wrong-token-0123456789abcdef' } });
    const text = agent.logText();
    assert.ok(text.length > 0, 'something was logged');
    for (const t of [READ_TOKEN, ADMIN_TOKEN, 'wrong-token-0123456789abcdef'])
      assert.ok(!text.includes(t), 'token in the log');
  });
});
