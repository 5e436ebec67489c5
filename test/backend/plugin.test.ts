// The datasource backend executable, driven the way Grafana drives it (see grafanaHost.ts), against
// FIXTURE AGENTS (small HTTP servers in this process implementing the documented agent routes over
// fixture data; fixtureAgent.ts). A later step runs the same checks against real agent daemons.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as dnsPromises } from 'node:dns';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { AutotracingEvent } from '../../agent/src/api/schemas';
import { decodeFrame, type DecodedFrame } from './decodeFrame';
import { FixtureAgent, deadPort } from './fixtureAgent';
import { CPU_A, CPU_B, CPU_C, foldedToNested, hostEvents, sumFolded } from './fixtures';
import { GRAFANA_ENV, PluginProcess, dataQuery, dsSettings, ensureExecutable } from './grafanaHost';

/** go-plugin's @timestamp layout, 2006-01-02T15:04:05.000000Z07:00, as a pattern. */
const HCLOG_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

const TOKEN = 'fixture-token-1';
const now = Date.now();
const FROM = now - 3_600_000;
const TO = now;

let exe: string;
let plugin: PluginProcess;
let agentA: FixtureAgent;
let agentB: FixtureAgent;
let downUrl: string;

function ds(extra: Parameters<typeof dsSettings>[0] = {}) {
  return dsSettings({
    agents: [
      { name: 'agent-a', url: agentA.url },
      { name: 'agent-b', url: agentB.url },
    ],
    token: TOKEN,
    timeoutMs: 2000,
    ...extra,
  });
}

function frames(resp: { frames: Uint8Array[] }): DecodedFrame[] {
  return resp.frames.map(decodeFrame);
}

before(async () => {
  exe = await ensureExecutable();
  agentA = await new FixtureAgent({
    host: 'host-a',
    token: TOKEN,
    events: hostEvents('host-a', now, 'a'),
    version: '0.1.0',
  }).start();
  agentB = await new FixtureAgent({
    host: 'host-b',
    token: TOKEN,
    events: hostEvents('host-b', now, 'b'),
    version: '0.1.0',
  }).start();
  downUrl = `http://127.0.0.1:${await deadPort()}`;
  plugin = await PluginProcess.start(exe);
});

after(async () => {
  await plugin?.kill();
  await agentA?.stop();
  await agentB?.stop();
});

describe('start-up as Grafana does it', () => {
  it('prints exactly the go-plugin handshake line on stdout', () => {
    assert.match(plugin.handshakeLine, /^1\|2\|tcp\|127\.0\.0\.1:\d+\|grpc\n$/);
    assert.equal(plugin.stdout, plugin.handshakeLine, 'nothing else on stdout');
    const port = Number(plugin.handshake.address.split(':')[1]);
    assert.ok(port >= 10000 && port <= 25000, `port ${port} within PLUGIN_MIN_PORT..PLUGIN_MAX_PORT`);
  });

  it('logs JSON lines with @level, @message and @timestamp on stderr', async () => {
    await plugin.waitForLog(/plugin listening/);
    const lines = plugin.logLines();
    assert.ok(lines.length > 0);
    for (const l of lines) {
      assert.equal(typeof l['@level'], 'string');
      assert.equal(typeof l['@message'], 'string');
      // go-plugin's time.Parse(HCLOG_TIME_LAYOUT): six fractional digits, a zone; anything else is
      // re-logged raw at debug level and lost at Grafana's default level
      assert.match(String(l['@timestamp']), HCLOG_TIME_RE, String(l['@timestamp']));
      assert.ok(Math.abs(Date.parse(String(l['@timestamp'])) - Date.now()) < 600_000);
    }
  });

  it('refuses politely to run without grafana_plugin_type=datasource, with an empty environment', () => {
    const r = spawnSync(exe, [], { env: {}, cwd: '/', encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /not meant to be executed directly/);
  });

  it('refuses a host that does not offer protocol version 2', () => {
    const r = spawnSync(exe, [], {
      env: { ...GRAFANA_ENV, PLUGIN_PROTOCOL_VERSIONS: '1' },
      cwd: '/',
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /PLUGIN_PROTOCOL_VERSIONS=1/);
  });

  it('answers grpc.health.v1 Check for service "plugin" with SERVING', async () => {
    assert.equal((await plugin.health('plugin')).status, 1);
  });
});

describe('CheckHealth', () => {
  it('is OK when every agent is reachable and accepts the token, with versions and details', async () => {
    const r = await plugin.checkHealth(ds());
    assert.equal(r.status, 1, r.message);
    assert.match(r.message, /2 agents reachable and authorised \(version 0\.1\.0\)/);
    const details = JSON.parse(Buffer.from(r.jsonDetails).toString()) as {
      agents: Array<{ name: string; ok: boolean; host: string; version: string }>;
    };
    assert.deepEqual(
      details.agents.map((a) => [a.name, a.ok, a.host, a.version]),
      [
        ['agent-a', true, 'host-a', '0.1.0'],
        ['agent-b', true, 'host-b', '0.1.0'],
      ]
    );
  });

  it('is ERROR naming the agent whose token is rejected', async () => {
    const other = await new FixtureAgent({ host: 'host-c', token: 'another-token', events: [] }).start();
    try {
      const r = await plugin.checkHealth(
        ds({
          uid: 'ds-badtoken',
          agents: [
            { name: 'agent-a', url: agentA.url },
            { name: 'agent-c', url: other.url },
          ],
        })
      );
      assert.equal(r.status, 2);
      assert.match(
        r.message,
        /1 of 2 agents failed: agent-c \(http:\/\/127\.0\.0\.1:\d+\): not authorised: token rejected \(HTTP 401/
      );
      assert.doesNotMatch(r.message, /agent-a/);
    } finally {
      await other.stop();
    }
  });

  it('is ERROR naming an unreachable agent', async () => {
    const r = await plugin.checkHealth(
      ds({
        uid: 'ds-down',
        agents: [
          { name: 'agent-a', url: agentA.url },
          { name: 'agent-down', url: downUrl },
        ],
      })
    );
    assert.equal(r.status, 2);
    assert.match(r.message, /agent-down .*unreachable: connection refused/);
  });

  it('is ERROR with a clear message when nothing is configured or the settings are bad', async () => {
    const none = await plugin.checkHealth(dsSettings({ uid: 'ds-empty', agents: [] }));
    assert.equal(none.status, 2);
    assert.match(none.message, /No agents configured/);
    const bad = await plugin.checkHealth(
      dsSettings({ uid: 'ds-bad', rawJson: '{"agents":[{"name":"x","url":"ftp://h"}]}' })
    );
    assert.equal(bad.status, 2);
    assert.match(bad.message, /must be http:\/\/ or https:\/\//);
  });

  it('rebuilds the instance when the settings change (same uid, new token)', async () => {
    const uid = 'ds-rotate';
    const wrong = await plugin.checkHealth(ds({ uid, token: 'wrong', lastUpdatedMS: 1 }));
    assert.equal(wrong.status, 2);
    assert.match(wrong.message, /agent-a .*token rejected/);
    const right = await plugin.checkHealth(ds({ uid, token: TOKEN, lastUpdatedMS: 2 }));
    assert.equal(right.status, 1, right.message);
  });
});

describe('QueryData', () => {
  it('events: one table frame, newest first, with the annotation fields and Grafana metadata', async () => {
    const r = await plugin.queryData(ds(), [dataQuery('A', { queryType: 'events' }, FROM, TO)]);
    const resp = r.responses.A!;
    assert.equal(resp.error ?? '', '');
    const [f] = frames(resp);
    assert.ok(f);
    assert.equal(f.refId, 'A');
    assert.equal(f.name, 'events');
    assert.equal(f.meta.preferredVisualisationType, 'table');
    assert.equal(f.rows, 12, 'six events from each agent');
    assert.equal(f.field('time').type, 'time');
    assert.equal(f.field('timeEnd').type, 'time');
    for (const name of ['id', 'title', 'text', 'tags', 'type', 'host', 'container', 'summary'])
      assert.equal(f.field(name).type, 'string', name);
    assert.equal(f.field('value').type, 'float64');
    const times = f.field('time').values as number[];
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first'
    );
    const all = [...agentA.opts.events, ...agentB.opts.events].map((e) => e.event);
    const byId = new Map(all.map((e) => [e.id, e]));
    const ends = f.field('timeEnd').values as number[];
    (f.field('id').values as string[]).forEach((id, i) =>
      assert.equal(ends[i], byId.get(id)!.timeEnd, 'timeEnd is the end of the capture window')
    );
    assert.deepEqual(new Set(f.field('id').values), new Set(all.map((e) => e.id)));
    const i = (f.field('type').values as string[]).indexOf('cpuidle');
    assert.equal(f.field('container').values[i], 'web-1');
    assert.match(String(f.field('tags').values[i]), /^cpuidle,host-[ab],web-1$/);
    assert.match(String(f.field('title').values[i]), /^cpuidle on host-[ab] \/ web-1$/);
  });

  it('events: filters by types, hosts and limit', async () => {
    const r = await plugin.queryData(ds(), [
      dataQuery('T', { queryType: 'events', types: ['dload', 'memburst'] }, FROM, TO),
      dataQuery('H', { queryType: 'events', hosts: ['host-b'], limit: 3 }, FROM, TO),
    ]);
    const t = frames(r.responses.T!)[0]!;
    assert.deepEqual(new Set(t.field('type').values), new Set(['dload', 'memburst']));
    assert.equal(t.rows, 4);
    const h = frames(r.responses.H!)[0]!;
    assert.equal(h.rows, 3);
    assert.deepEqual(new Set(h.field('host').values), new Set(['host-b']));
  });

  it('counts: timeseries-multi frames labelled by host and type, zero-filled, as an alert rule sends it', async () => {
    const r = await plugin.queryData(
      ds(),
      [dataQuery('C', { queryType: 'counts', types: ['cpusys', 'dload'] }, FROM, TO, { intervalMS: 60_000 })],
      { fromAlert: true }
    );
    const resp = r.responses.C!;
    assert.equal(resp.error ?? '', '', resp.error);
    const fs = frames(resp);
    assert.equal(fs.length, 4, 'host-a/host-b × cpusys/dload');
    const seen: Record<string, number> = {};
    for (const f of fs) {
      assert.equal(f.meta.type, 'timeseries-multi');
      assert.deepEqual(f.meta.typeVersion, [0, 1]);
      assert.equal(f.fields.length, 2);
      assert.equal(f.fields[0]!.type, 'time');
      assert.equal(f.fields[1]!.type, 'float64');
      const labels = f.fields[1]!.labels!;
      assert.deepEqual(Object.keys(labels).sort(), ['host', 'type']);
      const times = f.fields[0]!.values as number[];
      assert.ok(times.length >= 60 && times.length <= 62, `${times.length} one-minute buckets in an hour`);
      assert.ok(times.every((t, i) => i === 0 || t - times[i - 1]! === 60_000));
      seen[`${labels.host}/${labels.type}`] = (f.fields[1]!.values as number[]).reduce((a, b) => a + b, 0);
    }
    assert.deepEqual(seen, { 'host-a/cpusys': 2, 'host-a/dload': 1, 'host-b/cpusys': 2, 'host-b/dload': 1 });
  });

  it('counts over a big fleet at 1 s: alert rules keep every label set (wider buckets), dashboards drop empty series first', async () => {
    const fleet = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        new FixtureAgent({
          host: `fleet-${i}`,
          token: TOKEN,
          events: hostEvents(`fleet-${i}`, now, 'a').filter((e) => e.event.type === 'cpusys'),
        }).start()
      )
    );
    try {
      const settings = ds({
        uid: 'ds-fleet',
        agents: fleet.map((a, i) => ({ name: `fleet-${i}`, url: a.url })),
        concurrency: 40,
      });
      const q = () => [dataQuery('C', { queryType: 'counts' }, FROM, TO, { intervalMS: 1000, maxDataPoints: 43_200 })];
      const alert = frames((await plugin.queryData(settings, q(), { fromAlert: true })).responses.C!);
      assert.equal(alert.length, 200, '40 hosts × 5 types, zero series included');
      const step = (alert[0]!.fields[0]!.values[1] as number) - (alert[0]!.fields[0]!.values[0] as number);
      assert.ok(step > 1000, `buckets widened (${step} ms)`);
      assert.match(alert[0]!.meta.notices!.map((n) => n.text).join(' '), /buckets widened from 1 s to \d+ s/);
      const total = alert.reduce((a, f) => a + (f.fields[1]!.values as number[]).reduce((x, y) => x + y, 0), 0);
      assert.equal(total, 80, 'two cpusys captures per host, none lost by merging buckets');
      const dash = frames((await plugin.queryData(settings, q())).responses.C!);
      assert.equal(dash.length, 40, 'only the cpusys series remain');
      assert.match(dash[0]!.meta.notices!.map((n) => n.text).join(' '), /160 series with no captures/);
      assert.equal(
        dash.reduce((a, f) => a + (f.fields[1]!.values as number[]).reduce((x, y) => x + y, 0), 0),
        80
      );
    } finally {
      await Promise.all(fleet.map((a) => a.stop()));
    }
  });

  it('counts: by container', async () => {
    const r = await plugin.queryData(ds(), [dataQuery('C', { queryType: 'counts', by: 'container' }, FROM, TO)]);
    const fs = frames(r.responses.C!);
    const labels = fs.map((f) => f.fields[1]!.labels!);
    // every (host, container) of the fixture events with a container: web-1 (cpuidle) on both, the recorded captures' own
    const expected = new Set(
      [agentA, agentB].flatMap((a) =>
        a.opts.events
          .filter((e) => e.event.container)
          .map((e) => `${e.event.host}/${e.event.container!.name ?? e.event.container!.id}`)
      )
    );
    assert.ok(
      expected.has('host-a/web-1') && expected.has('host-b/web-1') && expected.size > 2,
      [...expected].join(' ')
    );
    assert.deepEqual(new Set(labels.map((l) => `${l.host}/${l.container}`)), expected);
    assert.equal(fs.length, expected.size);
  });

  it('flamegraph for one event: nested-set frame for the flame graph visualisation', async () => {
    const cpusys = agentA.opts.events.find((e) => e.event.type === 'cpusys')!.event;
    const r = await plugin.queryData(ds(), [dataQuery('F', { queryType: 'flamegraph', eventId: cpusys.id }, FROM, TO)]);
    const [f] = frames(r.responses.F!);
    assert.ok(f, r.responses.F!.error);
    assert.equal(f.meta.preferredVisualisationType, 'flamegraph');
    assert.deepEqual(
      f.fields.map((x) => [x.name, x.type]),
      [
        ['label', 'string'],
        ['level', 'int64'],
        ['value', 'float64'],
        ['self', 'float64'],
        ['kind', 'string'],
      ]
    );
    const expected = foldedToNested(agentA.opts.events.find((e) => e.event.id === cpusys.id)!.profiles.cpu!.folded);
    assert.deepEqual(f.field('label').values, expected.rows.label);
    assert.deepEqual(f.field('level').values, expected.rows.level);
    assert.deepEqual(f.field('value').values, expected.rows.value);
    assert.deepEqual(f.field('self').values, expected.rows.self);
    assert.equal(f.field('value').config?.unit, 'short');
    assert.equal(f.meta.custom?.host, 'host-a');
  });

  it('flamegraph merged over the range across events and agents equals the merge of all their stacks', async () => {
    const r = await plugin.queryData(ds(), [
      dataQuery('M', { queryType: 'flamegraph', types: ['cpusys', 'cpuidle'] }, FROM, TO),
    ]);
    const [f] = frames(r.responses.M!);
    assert.ok(f, r.responses.M!.error);
    // host-a: CPU_A, CPU_C, CPU_B (cpuidle); host-b: CPU_B, CPU_C, CPU_B
    const expected = foldedToNested(sumFolded(CPU_A, CPU_C, CPU_B, CPU_B, CPU_C, CPU_B));
    assert.deepEqual(f.field('label').values, expected.rows.label);
    assert.deepEqual(f.field('level').values, expected.rows.level);
    assert.deepEqual(f.field('value').values, expected.rows.value);
    assert.deepEqual(f.field('self').values, expected.rows.self);
    assert.equal(f.meta.custom?.events, 6);
    assert.deepEqual(new Set(f.meta.custom?.agents as string[]), new Set(['agent-a', 'agent-b']));
  });

  it('merged flame graphs: one profile across the fleet (cpu wins; others asked again), units kept', async () => {
    const offOnly = await new FixtureAgent({
      host: 'host-off',
      token: TOKEN,
      events: hostEvents('host-off', now, 'a').filter((e) => e.event.type === 'dload'),
    }).start();
    try {
      const settings = ds({
        uid: 'ds-offcpu',
        agents: [
          { name: 'agent-a', url: agentA.url },
          { name: 'agent-off', url: offOnly.url },
        ],
      });
      const r = await plugin.queryData(settings, [
        dataQuery('ANY', { queryType: 'flamegraph' }, FROM, TO),
        dataQuery('OFF', { queryType: 'flamegraph', types: ['dload'] }, FROM, TO),
      ]);
      const any = frames(r.responses.ANY!)[0]!;
      assert.equal(any.meta.custom?.profile, 'cpu');
      assert.deepEqual(
        any.meta.custom?.agents,
        ['agent-a'],
        'agent-off has no cpu profile: asked again, nothing to merge'
      );
      assert.equal(any.field('value').values[0], foldedToNested(sumFolded(CPU_A, CPU_C, CPU_B)).total);
      const off = frames(r.responses.OFF!)[0]!;
      assert.equal(off.meta.custom?.profile, 'offcpu');
      assert.equal(off.field('value').config?.unit, 'ns');
      assert.equal(off.meta.custom?.events, 2, 'the dload capture of each agent');
    } finally {
      await offOnly.stop();
    }
  });

  it('dstate, memory and io: tables from the recorded captures evidence, with the documented columns', async () => {
    const r = await plugin.queryData(ds(), [
      dataQuery('D', { queryType: 'dstate', hosts: ['host-a'] }, FROM, TO),
      dataQuery('S', { queryType: 'dstate', hosts: ['host-a'], by: 'stack' }, FROM, TO),
      dataQuery('M', { queryType: 'memory' }, FROM, TO),
      dataQuery('I', { queryType: 'io', hosts: ['host-b'] }, FROM, TO),
    ]);
    for (const refId of ['D', 'S', 'M', 'I'])
      assert.equal(r.responses[refId]!.error ?? '', '', r.responses[refId]!.error);
    const names = (f: DecodedFrame) => f.fields.map((x) => x.name);
    const dload = agentA.opts.events.find((e) => e.event.type === 'dload')!.event; // recorded: dload-detector
    const tasks = dload.data.tasks as Array<{ tid: number; comm: string; stack: string[] }>;

    const d = frames(r.responses.D!)[0]!;
    assert.deepEqual(names(d), [
      'time',
      'eventId',
      'host',
      'container',
      'pid',
      'tid',
      'comm',
      'state',
      'wchan',
      'blocked',
      'knownIssue',
      'group',
      'sameStack',
      'inScope',
      'stillBlocked',
      'iowait',
      'stack',
      'command',
      'blockedSource',
      'containerId',
    ]);
    assert.equal(d.rows, tasks.length, 'one row per task, none from the stack groups');
    assert.deepEqual(
      d.field('tid').values,
      tasks.map((t) => t.tid)
    );
    assert.deepEqual(new Set(d.field('eventId').values), new Set([dload.id]));
    assert.equal(d.field('blocked').config?.unit, 'ms');
    assert.equal(d.field('inScope').type, 'bool');
    const w = d.field('comm').values.indexOf('dstate');
    assert.equal(d.field('stack').values[w], tasks[w]!.stack.join('\n'), 'outermost frame first');
    assert.equal(d.field('knownIssue').values[w], 'vfork-wait');
    assert.equal(d.field('sameStack').values[w], 12);
    assert.equal(d.field('container').values[w], dload.container!.id);
    assert.match(String(d.field('command').values[w]), /dstate 12 25$/);

    const sg = frames(r.responses.S!)[0]!;
    assert.deepEqual(names(sg), [
      'time',
      'eventId',
      'host',
      'scope',
      'group',
      'count',
      'inScopeCount',
      'wchan',
      'knownIssue',
      'maxBlocked',
      'comms',
      'pids',
      'stack',
    ]);
    assert.equal(sg.rows, (dload.data.stackGroups as unknown[]).length);
    assert.deepEqual(sg.field('count').values.slice(0, 1), [12]);
    assert.equal(sg.field('scope').values[0], dload.container!.id);

    const mem = frames(r.responses.M!);
    assert.equal(mem.length, 2, 'processes and containers');
    assert.deepEqual(names(mem[0]!), [
      'time',
      'eventId',
      'host',
      'rank',
      'pid',
      'comm',
      'container',
      'growth',
      'rss',
      'growthAtTrigger',
      'startRss',
      'anon',
      'anonGrowth',
      'alloc',
      'exited',
      'command',
      'containerId',
    ]);
    const growers = [agentA, agentB].flatMap((a) =>
      a.opts.events.filter((e) => e.event.type === 'memburst').map((e) => (e.event.data.topGrowers as unknown[]).length)
    );
    assert.equal(mem[0]!.rows, growers[0]! + growers[1]!);
    assert.equal(mem[0]!.field('growth').config?.unit, 'bytes');
    assert.equal(mem[0]!.field('comm').values[0], 'memgrow');
    assert.ok(Number(mem[0]!.field('growth').values[0]) > 1e9);
    assert.deepEqual(names(mem[1]!), [
      'time',
      'eventId',
      'host',
      'container',
      'processes',
      'growth',
      'rss',
      'usage',
      'usageGrowth',
      'limit',
      'containerId',
    ]);
    assert.equal(mem[1]!.rows, 2, 'the container of each capture');

    const io = frames(r.responses.I!)[0]!;
    assert.deepEqual(names(io), [
      'time',
      'eventId',
      'host',
      'device',
      'pid',
      'comm',
      'container',
      'path',
      'readBps',
      'writeBps',
      'diskReadBps',
      'diskWriteBps',
      'q2c',
      'maxQ2c',
      'd2c',
      'maxD2c',
      'direct',
      'writeback',
      'label',
      'owner',
      'chargedVia',
      'submittedBy',
      'kind',
      'inode',
      'readOps',
      'writeOps',
      'exited',
      'command',
      'containerId',
    ]);
    const iot = agentB.opts.events.find((e) => e.event.type === 'iotracing')!.event; // recorded: iotracing-writeback
    const procs = iot.data.processes as Array<{ files: unknown[] }>;
    assert.equal(
      io.rows,
      procs.reduce((a, p) => a + p.files.length, 0),
      'one row per process × file'
    );
    assert.equal(io.field('direct').type, 'bool');
    assert.equal(io.field('q2c').config?.unit, 'µs');
    assert.equal(io.field('writeBps').config?.unit, 'Bps');
    const paths = io.field('path').values.map(String);
    const buf = paths.findIndex((x) => x.endsWith('/buffered.dat'));
    assert.deepEqual(
      [
        io.field('comm').values[buf],
        io.field('direct').values[buf],
        io.field('writeback').values[buf],
        io.field('chargedVia').values[buf],
      ],
      ['fio', false, true, 'dirtier']
    );
    const pre = paths.findIndex((x) => x.endsWith('/before.dat'));
    assert.match(String(io.field('label').values[pre]), /dirtied before the capture window/);
    assert.deepEqual(new Set(io.field('host').values), new Set(['host-b']));
  });

  it('one agent down: the other agents data plus a warning notice naming it', async () => {
    const settings = ds({
      uid: 'ds-partial',
      agents: [
        { name: 'agent-a', url: agentA.url },
        { name: 'agent-down', url: downUrl },
      ],
    });
    const r = await plugin.queryData(settings, [
      dataQuery('A', { queryType: 'events' }, FROM, TO),
      dataQuery('B', { queryType: 'counts' }, FROM, TO),
    ]);
    for (const refId of ['A', 'B']) {
      const resp = r.responses[refId]!;
      assert.equal(resp.error ?? '', '');
      const f = frames(resp)[0]!;
      const notices = f.meta.notices ?? [];
      assert.equal(notices.length, 1);
      assert.equal(notices[0]!.severity, 'warning');
      assert.match(
        notices[0]!.text,
        /1 of 2 agents failed.*agent-down \(http:\/\/127\.0\.0\.1:\d+\): connection refused/
      );
    }
    const ev = frames(r.responses.A!)[0]!;
    assert.equal(ev.rows, 6);
    assert.deepEqual(new Set(ev.field('host').values), new Set(['host-a']));
  });

  it('a slow agent times out after timeoutMs and is named in the notice', async () => {
    const slow = await new FixtureAgent({
      host: 'host-slow',
      token: TOKEN,
      events: hostEvents('host-slow', now, 'a'),
      delayMs: 3000,
    }).start();
    try {
      const t0 = Date.now();
      const r = await plugin.queryData(
        ds({
          uid: 'ds-slow',
          timeoutMs: 400,
          agents: [
            { name: 'agent-a', url: agentA.url },
            { name: 'agent-slow', url: slow.url },
          ],
        }),
        [dataQuery('A', { queryType: 'events' }, FROM, TO)]
      );
      assert.ok(Date.now() - t0 < 2500, 'the answer does not wait for the slow agent');
      const f = frames(r.responses.A!)[0]!;
      assert.match(f.meta.notices![0]!.text, /agent-slow .*timed out after 400 ms/);
      assert.equal(f.rows, 6);
    } finally {
      await slow.stop();
    }
  });

  it('every agent down: an error for the query, naming them', async () => {
    const r = await plugin.queryData(ds({ uid: 'ds-alldown', agents: [{ name: 'agent-down', url: downUrl }] }), [
      dataQuery('A', { queryType: 'counts' }, FROM, TO),
    ]);
    assert.equal(r.responses.A!.status, 502);
    assert.match(r.responses.A!.error!, /agent-down .*connection refused/);
  });

  it('a very large flame graph becomes a frame of at most 16384 nodes, with a notice', async () => {
    const folded: Record<string, number> = {};
    for (let i = 0; i < 20_000; i++) folded[`main;fn${i}`] = 1 + (i % 97);
    const base = hostEvents('host-huge', now, 'a').find((e) => e.event.type === 'cpusys')!;
    const huge = await new FixtureAgent({
      host: 'host-huge',
      token: TOKEN,
      events: [{ event: base.event, profiles: { cpu: { unit: 'samples', folded } } }],
    }).start();
    try {
      const r = await plugin.queryData(ds({ uid: 'ds-huge', agents: [{ name: 'huge', url: huge.url }] }), [
        dataQuery('F', { queryType: 'flamegraph', eventId: base.event.id }, FROM, TO),
      ]);
      const [f] = frames(r.responses.F!);
      assert.ok(f, r.responses.F!.error);
      assert.equal(f.rows, 16_384);
      const total = Object.values(folded).reduce((a, b) => a + b, 0);
      assert.equal(f.field('value').values[0], total, 'the root keeps the whole total');
      assert.match(f.meta.notices![0]!.text, /small nodes folded into their parents/);
    } finally {
      await huge.stop();
    }
  });

  it('a result too large for one gRPC message fails only its refId (413), the others arrive', async () => {
    const many = Array.from({ length: 9000 }, (_, i) => {
      const e = hostEvents('host-many', now + 50 * 60_000 - 60_000 - i * 200, 'a')[0]!; // t(50) of that base
      e.event.summary = `capture ${i} ${'x'.repeat(600)}`;
      return e;
    });
    const big = await new FixtureAgent({ host: 'host-many', token: TOKEN, events: many }).start();
    try {
      const r = await plugin.queryData(
        ds({ uid: 'ds-many', timeoutMs: 20_000, agents: [{ name: 'many', url: big.url }] }),
        [
          dataQuery('ALL', { queryType: 'events', limit: 10_000 }, FROM, TO),
          dataQuery('FEW', { queryType: 'events', limit: 5 }, FROM, TO),
        ]
      );
      assert.equal(r.responses.ALL!.status, 413);
      assert.match(r.responses.ALL!.error!, /too large .*narrow the query/);
      assert.equal(frames(r.responses.FEW!)[0]!.rows, 5);
    } finally {
      await big.stop();
    }
  });

  it('malformed query JSON and unknown query types fail only their own refId, with status 400', async () => {
    const r = await plugin.queryData(ds(), [
      dataQuery('BAD', '{"queryType": "events", ', FROM, TO),
      dataQuery('UNK', { queryType: 'nonsense' }, FROM, TO),
      dataQuery('TYP', { queryType: 'events', types: ['cpusys', 'bogus'] }, FROM, TO),
      dataQuery('OK', { queryType: 'events', limit: 2 }, FROM, TO),
    ]);
    assert.deepEqual(Object.keys(r.responses).sort(), ['BAD', 'OK', 'TYP', 'UNK']);
    assert.equal(r.responses.BAD!.status, 400);
    assert.match(r.responses.BAD!.error!, /query JSON is malformed/);
    assert.equal(r.responses.UNK!.status, 400);
    assert.match(r.responses.UNK!.error!, /unknown queryType "nonsense"/);
    assert.equal(r.responses.TYP!.status, 400);
    assert.equal(frames(r.responses.OK!)[0]!.rows, 2);
    assert.equal((await plugin.health()).status, 1, 'still serving');
  });
});

describe('CallResource', () => {
  it('agents: health, version and capabilities of each agent', async () => {
    const r = await plugin.callResource(ds(), 'agents');
    assert.equal(r.code, 200);
    assert.deepEqual(r.headers['content-type'], ['application/json']);
    const body = JSON.parse(r.body.toString()) as {
      agents: Array<{ name: string; ok: boolean; version: string; capabilities: Record<string, unknown> }>;
    };
    assert.deepEqual(
      body.agents.map((a) => [a.name, a.ok, a.version]),
      [
        ['agent-a', true, '0.1.0'],
        ['agent-b', true, '0.1.0'],
      ]
    );
    assert.equal(body.agents[0]!.capabilities.bpf, true);
  });

  it('events, events/:id (from whichever agent has it) and counts', async () => {
    const list = await plugin.callResource(ds(), 'events', `type=dload&from=${FROM}&to=${TO}`);
    assert.equal(list.code, 200);
    const body = JSON.parse(list.body.toString()) as { events: AutotracingEvent[]; failed: unknown[] };
    assert.equal(body.events.length, 2);
    assert.deepEqual(body.failed, []);

    const target = agentB.opts.events.find((e) => e.event.type === 'iotracing')!.event;
    const one = await plugin.callResource(ds({ uid: 'ds-fresh-cache' }), `events/${target.id}`);
    assert.equal(one.code, 200);
    assert.deepEqual(JSON.parse(one.body.toString()), target);
    assert.deepEqual(one.headers['x-autotracing-agent'], ['agent-b']);

    const missing = await plugin.callResource(ds(), 'events/01NOSUCHEVENT0000000000000');
    assert.equal(missing.code, 404);
    assert.match(JSON.parse(missing.body.toString()).error.message, /not found on any agent/);

    const counts = await plugin.callResource(ds(), 'counts', `from=${FROM}&to=${TO}&step=10m`);
    assert.equal(counts.code, 200);
    const c = JSON.parse(counts.body.toString()) as {
      series: Array<{ labels: Record<string, string>; values: number[] }>;
      stepMs: number;
    };
    assert.equal(c.stepMs, 600_000);
    const total = c.series.reduce((a, s) => a + s.values.reduce((x, y) => x + y, 0), 0);
    assert.equal(total, 12);
  });

  it('events pages through the merged list with an opaque cursor, without repeats or gaps', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const r = await plugin.callResource(
        ds(),
        'events',
        `from=${FROM}&to=${TO}&limit=5${cursor ? `&cursor=${cursor}` : ''}`
      );
      assert.equal(r.code, 200);
      const body = JSON.parse(r.body.toString()) as { events: AutotracingEvent[]; nextCursor: string | null };
      sizes.push(body.events.length);
      seen.push(...body.events.map((e) => e.id));
      cursor = body.nextCursor;
    } while (cursor && sizes.length < 10);
    assert.deepEqual(sizes, [5, 5, 2]);
    const all = [...agentA.opts.events, ...agentB.opts.events]
      .map((e) => e.event)
      .sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1));
    assert.deepEqual(
      seen,
      all.map((e) => e.id)
    );
    const bad = await plugin.callResource(ds(), 'events', 'cursor=not-ours');
    assert.equal(bad.code, 400);
  });

  it('events/:id/flamegraph proxies every format with the right content type', async () => {
    const ev = agentA.opts.events.find((e) => e.event.type === 'cpusys')!.event;
    const nested = await plugin.callResource(ds(), `events/${ev.id}/flamegraph`, 'format=nested');
    assert.equal(nested.code, 200);
    assert.deepEqual(nested.headers['content-type'], ['application/json']);
    assert.deepEqual(JSON.parse(nested.body.toString()).rows.label, foldedToNested(CPU_A).rows.label);
    const folded = await plugin.callResource(ds(), `events/${ev.id}/flamegraph`, 'format=folded');
    assert.deepEqual(folded.headers['content-type'], ['text/plain; charset=utf-8']);
    assert.match(folded.body.toString(), /^main;gc 15$/m);
    const pprof = await plugin.callResource(ds(), `events/${ev.id}/flamegraph`, 'format=pprof&profile=cpu');
    assert.deepEqual(pprof.headers['content-type'], ['application/octet-stream']);
    assert.match(gunzipSync(pprof.body).toString(), /^fixture-pprof:/);
    const svg = await plugin.callResource(ds(), `events/${ev.id}/flamegraph`, 'format=svg');
    assert.deepEqual(svg.headers['content-type'], ['image/svg+xml']);
    assert.match(svg.body.toString(), /^<svg /);
    const bad = await plugin.callResource(ds(), `events/${ev.id}/flamegraph`, 'format=png');
    assert.equal(bad.code, 400);
  });

  it('large bodies arrive in several CallResource messages, joined intact', async () => {
    const big = await new FixtureAgent({
      host: 'host-big',
      token: TOKEN,
      events: hostEvents('host-big', now, 'a'),
      svgPadBytes: 3 * 1024 * 1024,
    }).start();
    try {
      const ev = big.opts.events.find((e) => e.event.type === 'cpusys')!.event;
      const r = await plugin.callResource(
        ds({ uid: 'ds-big', agents: [{ name: 'big', url: big.url }] }),
        `events/${ev.id}/flamegraph`,
        'format=svg'
      );
      assert.equal(r.code, 200);
      assert.ok(r.messages >= 3, `${r.messages} messages`);
      assert.ok(r.body.length > 3 * 1024 * 1024);
      assert.match(r.body.toString(), /^<svg [^]*<\/svg>$/);
    } finally {
      await big.stop();
    }
  });

  it('cannot be used to reach anything but the configured agents routes (no SSRF)', async () => {
    const beforeA = agentA.requests.length;
    const beforeB = agentB.requests.length;
    const attempts: Array<[string, string]> = [
      ['http://169.254.169.254/latest/meta-data', ''],
      ['events/..%2F..%2Fhealthz', ''],
      ['events/../../metrics', ''],
      ['events/x/flamegraph/../../../info', ''],
      ['agents/127.0.0.1:22', ''],
      ['events/%2e%2e', ''],
      ['proxy', 'url=http://127.0.0.1:22/'],
    ];
    for (const [p, q] of attempts) {
      const r = await plugin.callResource(ds(), p, q);
      assert.ok(r.code === 400 || r.code === 404, `${p} → ${r.code}`);
    }
    const ev = agentA.opts.events[0]!.event;
    const r = await plugin.callResource(
      ds(),
      `events/${ev.id}`,
      'agent=http://127.0.0.1:1&url=http://example.invalid/'
    );
    assert.equal(r.code, 200, 'extra parameters are ignored, never used as targets');
    const seen = [...agentA.requests.slice(beforeA), ...agentB.requests.slice(beforeB)];
    for (const s of seen)
      assert.match(s, /^GET \/api\/v1\/events\/[0-9A-Z]+$/, `agents saw only their documented routes: ${s}`);
    const post = await plugin.callResource(ds(), 'events', '', 'POST');
    assert.equal(post.code, 405);
  });
});

describe('DNS discovery', () => {
  it('finds agents through A records of the discovery name, on its port', async (t) => {
    const addrs = await dnsPromises.lookup('localhost', { all: true });
    if (addrs.length !== 1 || addrs[0]!.address !== '127.0.0.1')
      return t.skip(`localhost resolves to ${JSON.stringify(addrs)} here`);
    const settings = dsSettings({ uid: 'ds-dns', agents: [], discovery: `localhost:${agentA.port}`, token: TOKEN });
    const r = await plugin.checkHealth(settings);
    assert.equal(r.status, 1, r.message);
    const details = JSON.parse(Buffer.from(r.jsonDetails).toString()) as {
      agents: Array<{ name: string; url: string; host: string }>;
    };
    assert.deepEqual(
      details.agents.map((a) => [a.name, a.url, a.host]),
      [[`localhost/127.0.0.1:${agentA.port}`, agentA.url, 'host-a']]
    );
    const q = await plugin.queryData(settings, [dataQuery('A', { queryType: 'events' }, FROM, TO)]);
    assert.equal(frames(q.responses.A!)[0]!.rows, 6);
  });

  it('a name that does not resolve is an ERROR naming the discovery', async () => {
    const r = await plugin.checkHealth(
      dsSettings({ uid: 'ds-nodns', agents: [], discovery: 'no-such-agent-name.invalid', token: TOKEN })
    );
    assert.equal(r.status, 2);
    assert.match(r.message, /DNS discovery of no-such-agent-name\.invalid failed/);
  });
});

describe('metrics and shutdown', () => {
  it('CollectMetrics returns Prometheus text of the backend own metrics', async () => {
    const m = await plugin.collectMetrics();
    const text = Buffer.from(m.metrics.prometheus).toString();
    assert.match(text, /^# TYPE autotracing_backend_queries_total counter$/m);
    assert.match(text, /^autotracing_backend_queries_total\{query_type="events",status="200"\} \d+$/m);
    assert.match(text, /^autotracing_backend_process_resident_memory_bytes \d+/m);
    assert.match(text, /^autotracing_backend_health_checks_total\{status="error"\} \d+$/m);
    assert.match(text, /^autotracing_backend_agent_requests_total\{outcome="2xx"\} \d+$/m);
    assert.match(text, /^autotracing_backend_agent_requests_total\{outcome="unreachable"\} \d+$/m);
    assert.match(text, /^autotracing_backend_agent_requests_total\{outcome="timeout"\} \d+$/m);
  });

  it('answers plugin.GRPCController/Shutdown, then exits within a second with code 0', async () => {
    const { exitMs, code, answered, error } = await plugin.shutdown();
    assert.ok(answered, `the Shutdown reply arrived before the exit (${error})`);
    assert.equal(code, 0);
    assert.ok(exitMs < 1000, `exited after ${exitMs.toFixed(0)} ms`);
    assert.equal(plugin.stdout, plugin.handshakeLine, 'still nothing but the handshake on stdout');
    plugin.logLines(); // every stderr line is JSON
  });
});
