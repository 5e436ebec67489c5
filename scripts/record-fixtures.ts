// Records the frontend's test fixtures (src/__fixtures__/) from a REAL agent and the REAL datasource backend:
//
//   sudo node --import tsx scripts/record-fixtures.ts [--out DIR]
//
// 1. starts an agent daemon (build/agent/src/cli/main.js run) on a free loopback port with a temp data folder
//    and read/admin tokens, detector thresholds lowered so that the workloads below trigger it;
// 2. makes captures: cpusys triggered by the detector during `stress-ng --open` (open/close storm: kernel
//    time) and a manual one through POST /api/v1/captures; cpuidle triggered by a busy process in a
//    docker-like cgroup (/sys/fs/cgroup/<cpu|cpuacct>/docker/<64 hex>) and a manual one on that container;
//    manual dload, memburst and iotracing captures while test/workloads/dstate (tasks in D state),
//    memgrow (1.5 GiB at 400 MiB/s) and `stress-ng --hdd` run (an agent that cannot capture a type answers
//    501: the answer is recorded, and whatever was captured);
// 3. records the agent's raw answers (agent/) and the backend's, spawned and spoken to the way Grafana does
//    (test/backend/grafanaHost.ts): CallResource for every route of docs/plugin-resources.md, QueryData for
//    every query type (frames decoded from Arrow to the JSON of Grafana's POST /api/ds/query), CheckHealth.
//
// Output is written with stable key order and lists in the order the APIs define (events newest first);
// ids and times are the real ones. Takes about a minute. Needs root (BPF), stress-ng, the agent build
// (npx tsc -p tsconfig.node.json), the test workloads (make -C test/workloads) and the backend executable
// (npm run -s build:backend; rebuilt if stale) — scripts/setup.sh --tests makes all of them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { AutotracingEvent } from '../agent/src/api/schemas';
import { dataQuery } from '../test/backend/grafanaHost';
import { queryDataToJSON } from '../test/browser/frameJson';
import { workload } from '../test/helpers/workloads';
import {
  FakeContainer,
  REPO,
  RealAgent,
  Workload,
  openStorm,
  requireRoot,
  sleep,
  startBackend,
} from '../test/browser/realStack';

const args = process.argv.slice(2);
const OUT = path.resolve(
  args.includes('--out') ? args[args.indexOf('--out') + 1]! : path.join(REPO, 'src', '__fixtures__')
);
const CAPTURE_MS = 3000;

const log = (msg: string) => process.stderr.write(`[record] ${msg}\n`);

function write(rel: string, data: unknown): void {
  const file = path.join(OUT, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof data === 'string' ? data : `${JSON.stringify(data, null, 2)}\n`);
  log(`wrote ${path.relative(REPO, file)}`);
}

/** The tracers' detector settings for the recording: low enough that the workloads trigger them within seconds. */
const TRACERS = {
  cpusys: {
    sysThreshold: 15,
    sysDeltaThreshold: 10,
    holdSamples: 2,
    baselineWindow: '10s',
    duration: `${CAPTURE_MS}ms`,
    cooldown: '30m',
  },
  cpuidle: {
    userThreshold: 20,
    userDeltaThreshold: 15,
    sysThreshold: 95,
    sysDeltaThreshold: 90,
    totalThreshold: 95,
    totalDeltaThreshold: 90,
    holdSamples: 2,
    baselineWindow: '10s',
    duration: `${CAPTURE_MS}ms`,
    cooldown: '30m',
  },
};

/** Undone on the way out, also on Ctrl-C: workloads, the container's cgroups, the backend, the agent and its folder. */
const cleanup: Array<() => Promise<void>> = [];
async function runCleanup(): Promise<void> {
  for (const c of cleanup.splice(0).reverse()) await c().catch((e: Error) => log(`cleanup: ${e.message}`));
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    void runCleanup().finally(() => process.exit(130));
  });
}

interface Recorded {
  key: string;
  how: 'detector' | 'manual';
  event: AutotracingEvent;
}

async function main(): Promise<void> {
  requireRoot('record-fixtures');
  const startedAt = new Date();
  const agent = await new RealAgent({ host: 'autotracing-rec', tracers: TRACERS }).start();
  log(`agent at ${agent.url}`);
  cleanup.push(() => agent.stop());
  const recorded: Recorded[] = [];
  const captures: Record<string, { status: number; body: unknown }> = {};
  try {
    // detectors compare against a baseline: give them a few quiet samples first
    await sleep(3000);

    // --- cpusys: the detector during an open/close storm, then a manual capture during the same storm
    const storm = openStorm(1);
    cleanup.push(() => storm.stop());
    const auto = await agent.waitForTrigger('cpusys', 30_000);
    if (auto) recorded.push({ key: 'cpusys-trigger', how: 'detector', event: auto });
    else log('the cpusys detector did not fire within 30 s: only the manual capture is recorded');
    const manual = await agent.capture('cpusys', { durationMs: CAPTURE_MS });
    captures.cpusys = { status: manual.status, body: manual.body };
    if (manual.status === 202 && manual.body.id)
      recorded.push({ key: 'cpusys', how: 'manual', event: await agent.waitForEvent(manual.body.id) });
    await storm.stop();

    // --- cpuidle: a busy process in a docker-like cgroup
    const container = new FakeContainer().create();
    cleanup.push(() => container.remove());
    // idle first, so that the detector's baseline is the quiet container; then one busy worker
    // (test/workloads/spinner: frame pointers and symbols, so the container's flame graph has user stacks; Debian's
    // stress-ng is stripped and shows as one [stress-ng] frame)
    container.run('sh', ['-c', `sleep 5; exec ${workload('spinner')} 120`]);
    const idle = await agent.waitForTrigger('cpuidle', 30_000, (e) => e.container?.id === container.id);
    if (idle) recorded.push({ key: 'cpuidle-trigger', how: 'detector', event: idle });
    else log('the cpuidle detector did not fire within 30 s: only the manual capture is recorded');
    const idleManual = await agent.capture('cpuidle', { durationMs: CAPTURE_MS, container: container.id });
    captures.cpuidle = { status: idleManual.status, body: idleManual.body };
    if (idleManual.status === 202 && idleManual.body.id) {
      recorded.push({ key: 'cpuidle', how: 'manual', event: await agent.waitForEvent(idleManual.body.id) });
    }
    await container.remove();

    // --- dload, memburst, iotracing: manual captures while a workload gives them something to see (an agent that
    // cannot capture a type yet answers 501, which is recorded)
    const workloads: Record<string, () => Workload> = {
      // workers stuck in uninterruptible sleep (vfork parents waiting for their sleeping children)
      dload: () => new Workload(workload('dstate'), ['6', '10']),
      // 1.5 GiB allocated at 400 MiB/s
      memburst: () => new Workload(workload('memgrow'), ['1536', '400', '10']),
      // buffered writes and reads of a file
      iotracing: () =>
        new Workload('stress-ng', [
          '--hdd',
          '1',
          '--hdd-bytes',
          '256M',
          '--temp-path',
          os.tmpdir(),
          '--timeout',
          '60s',
          '--quiet',
        ]),
    };
    for (const [type, start] of Object.entries(workloads)) {
      const w = start();
      try {
        await sleep(1000);
        const r = await agent.capture(type, { durationMs: CAPTURE_MS });
        captures[type] = { status: r.status, body: r.body };
        log(`${type}: ${r.status} ${r.text}`);
        if (r.status === 202 && r.body.id)
          recorded.push({ key: type, how: 'manual', event: await agent.waitForEvent(r.body.id) });
      } finally {
        await w.stop();
      }
    }
    // detector captures the workloads caused on their own (a cpusys spike from the IO phase, iotracing's util
    // detector …): the newest ended one of each type not recorded yet
    const listed = await agent.get<{ events: AutotracingEvent[] }>('/api/v1/events?limit=100');
    for (const e of listed.events) {
      const key = `${e.type}-trigger`;
      if (e.trigger.metric !== 'manual' && e.status !== 'capturing' && !recorded.some((r) => r.key === key))
        recorded.push({ key, how: 'detector', event: e });
    }
    const endedAt = Date.now();

    // --- the previous recording goes (only now, so that a failed run leaves it in place): agent/ and the JSON files
    fs.rmSync(path.join(OUT, 'agent'), { recursive: true, force: true });
    for (const f of fs.existsSync(OUT) ? fs.readdirSync(OUT) : [])
      if (f.endsWith('.json')) fs.rmSync(path.join(OUT, f));

    // --- the agent's own answers
    const info = await agent.get<Record<string, unknown>>('/api/v1/info');
    write('agent/info.json', info);
    write('agent/tracers.json', (await agent.api('GET', '/api/v1/tracers', undefined, true)).body);
    write('agent/captures.json', captures);
    write('agent/events.json', await agent.get('/api/v1/events?limit=100'));
    const from = startedAt.getTime() - 60_000;
    const to = endedAt + 60_000;
    write('agent/counts.json', await agent.get(`/api/v1/stats/counts?from=${from}&to=${to}&step=60000&by=type`));
    const profilesOf = (e: AutotracingEvent) =>
      ((e.data as { flamegraphs?: Array<{ name: string }> }).flamegraphs ?? []).map((f) => f.name);
    const fgFile = (key: string, profile: string) => `flamegraph-${key}-${profile}.json`;
    for (const r of recorded) write(`agent/event-${r.key}.json`, await agent.get(`/api/v1/events/${r.event.id}`));
    // the agent's flame graphs of one event (the backend's answers below hold every profile of every event)
    const first = recorded.find((r) => r.key === 'cpusys') ?? recorded[0];
    for (const profile of first ? profilesOf(first.event).filter((p) => p !== 'before') : []) {
      write(
        `agent/${fgFile(first!.key, profile)}`,
        await agent.get(`/api/v1/events/${first!.event.id}/flamegraph?format=nested&profile=${profile}`)
      );
    }
    if (first)
      write(
        `agent/flamegraph-${first.key}.folded.txt`,
        (await agent.api('GET', `/api/v1/events/${first.event.id}/flamegraph?format=folded`)).text
      );

    // --- the backend, as Grafana drives it
    const { plugin, ds } = await startBackend(agent);
    cleanup.push(() => plugin.kill());
    const resource = async (p: string, query = '') => {
      const r = await plugin.callResource(ds, p, query);
      if (r.code !== 200) throw new Error(`CallResource ${p}?${query}: ${r.code} ${r.body.toString()}`);
      return r;
    };
    const json = async (p: string, query = '') => JSON.parse((await resource(p, query)).body.toString()) as unknown;
    write(
      'health.json',
      await plugin
        .checkHealth(ds)
        .then((h) => ({
          status: h.status,
          message: h.message,
          jsonDetails: h.jsonDetails?.length ? JSON.parse(Buffer.from(h.jsonDetails).toString()) : null,
        }))
    );
    write('agents.json', await json('agents'));
    write('events.json', await json('events', `from=${from}&to=${to}&limit=50`));
    write('counts.json', await json('counts', `from=${from}&to=${to}&step=60000&by=type`));
    // every recorded event as GET events/:id answers it (+ the X-Autotracing-Agent header), and every profile of
    // each as GET events/:id/flamegraph?format=nested&profile=… answers it
    const captured: Record<string, { how: string; agent: string; event: unknown }> = {};
    const flamegraphs: Record<string, Record<string, unknown>> = {};
    for (const r of recorded) {
      const ev = await resource(`events/${r.event.id}`);
      captured[r.key] = {
        how: r.how,
        agent: ev.headers['x-autotracing-agent']?.[0] ?? '',
        event: JSON.parse(ev.body.toString()),
      };
      // every profile; the seconds before the trigger only for the cpusys capture (the diff tests' baseline)
      for (const profile of profilesOf(r.event).filter((p) => p !== 'before' || r.key === 'cpusys')) {
        (flamegraphs[r.event.id] ??= {})[profile] = await json(
          `events/${r.event.id}/flamegraph`,
          `format=nested&profile=${profile}`
        );
      }
    }
    write('captures.json', captured);
    write('flamegraphs.json', flamegraphs);
    if (first) {
      const files: Record<string, unknown> = {};
      for (const format of ['folded', 'pprof', 'svg']) {
        const r = await resource(`events/${first.event.id}/flamegraph`, `format=${format}`);
        const body = r.body;
        files[format] = {
          contentType: r.headers['content-type']?.[0] ?? null,
          bytes: body.length,
          // folded text: its line count and first lines (agent/ has it in full); the pprof is gzip'd protobuf (its
          // inflated size); the SVG's first characters
          ...(format === 'folded'
            ? {
                lines: body.toString().split('\n').filter(Boolean).length,
                head: body.toString().split('\n').slice(0, 20),
              }
            : {}),
          ...(format === 'pprof'
            ? { gzip: body[0] === 0x1f && body[1] === 0x8b, inflatedBytes: gunzipSync(body).length }
            : {}),
          ...(format === 'svg' ? { head: body.toString().slice(0, 200) } : {}),
        };
      }
      write('flamegraph-files.json', { event: first.event.id, ...files });
    }

    // QueryData, every query type, as a dashboard would send them
    const queries: Array<[string, Record<string, unknown>]> = [
      ['events', { queryType: 'events' }],
      ['counts', { queryType: 'counts' }],
      ['flamegraph', { queryType: 'flamegraph', eventId: first?.event.id }],
      ['flamegraph-merged', { queryType: 'flamegraph', types: ['cpusys'] }],
      ['dstate', { queryType: 'dstate' }],
      ['io', { queryType: 'io' }],
      ['memory', { queryType: 'memory' }],
    ];
    for (const [name, q] of queries) {
      const resp = await plugin.queryData(ds, [dataQuery('A', q, from, to)]);
      write(`query-${name}.json`, { request: { refId: 'A', ...q }, response: queryDataToJSON(resp) });
    }
    await plugin.shutdown();

    const byType = Object.fromEntries(
      ['cpusys', 'cpuidle', 'dload', 'memburst', 'iotracing'].map((t) => {
        const c = captures[t];
        const got = recorded.filter((r) => r.event.type === t);
        return [
          t,
          {
            captured: got.map((r) => ({ key: r.key, how: r.how, id: r.event.id, status: r.event.status })),
            manualCaptureAnswer: c?.status ?? null,
          },
        ];
      })
    );
    write('recorded.json', {
      recordedAt: startedAt.toISOString(),
      by: 'scripts/record-fixtures.ts',
      kernel: os.release(),
      machine: `${os.type()} ${os.arch()}, ${os.cpus().length} CPUs`,
      node: process.version,
      agent: { version: info.version, host: info.host },
      types: byType,
    });
  } finally {
    await runCleanup();
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    log(`failed: ${e.stack ?? e.message}`);
    process.exit(1);
  }
);
