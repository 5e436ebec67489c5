// Agent API under load, on a big store: a REAL daemon (`agent run`) on a data directory filled by
// bench/store/generate.ts, and autocannon in a separate process (bench/api/loadgen.ts) per scenario.
//
//   node build/bench/api/run.js --dir /tmp/bench-store [--duration 10] [--connections 1,10] [--passes 2]
//        [--only name,name] [--fg-duration 15]
//
// Bench config: api.rateLimit.max 0 (the 600/min per-client limit would otherwise answer 429 after
// the first second), every tracer disabled (no detector or capture competes with the API), store
// retention 3650d and maxSize 1TiB (the default 7d/1GiB would start deleting the dataset). Each
// scenario cycles through many request paths (random ids, random deep cursors, random windows) so
// one hot row does not stand for the table. Per scenario and connection count: latency p50/p90/p99
// (float ms, per response), req/s, bytes per response, the daemon's CPU (from /proc/PID/stat) and
// RSS, and how busy the rest of the machine was (load average, others' busy CPUs).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { openStore, storePath, encodeCursor } from '../../agent/src/store';
import { startDaemon, READ_TOKEN, ADMIN_TOKEN, type Daemon } from '../../test/helpers/daemon';
import {
  Contention,
  arg,
  machine,
  procCpuSeconds,
  procMem,
  round,
  writeResult,
  type ContentionReport,
} from '../common/host';
import type { LoadResult, LoadSpec } from './loadgen';

const DIR = arg('dir', '/tmp/bench-store');
const DURATION = Number(arg('duration', '10'));
const FG_DURATION = Number(arg('fg-duration', '15'));
const CONNECTIONS = arg('connections', '1,10').split(',').map(Number);
const PASSES = Number(arg('passes', '2'));
const ONLY = arg('only', '') ? new Set(arg('only', '').split(',')) : null;

interface Scenario {
  name: string;
  what: string;
  paths: string[];
  /** flame graphs: one connection only, longer window */
  single?: boolean;
}

const H = 3_600_000;
const D = 24 * H;

function scenarios(): { list: Scenario[]; info: Record<string, unknown> } {
  const store = openStore(storePath(DIR), { readonly: true });
  const db = store.db;
  const newest = (db.prepare('SELECT max(time) AS t FROM events').get() as { t: number }).t;
  const oldest = (db.prepare('SELECT min(time) AS t FROM events').get() as { t: number }).t;
  const total = (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  // a sample of rows spread over the whole table: ids for single fetches, (time, id) for deep cursors
  const sample = db
    .prepare<[number], { id: string; time: number; type: string; container_id: string | null }>(
      'SELECT id, time, type, container_id FROM events WHERE rowid % ? = 0'
    )
    .all(Math.max(1, Math.floor(total / 2000)));
  const byName = db
    .prepare<[], { name: string; ids: number; n: number }>(
      'SELECT container_name AS name, count(DISTINCT container_id) AS ids, count(*) AS n FROM events WHERE container_name IS NOT NULL GROUP BY container_name ORDER BY n DESC'
    )
    .all();
  const byId = db
    .prepare<[], { id: string; n: number; pod: string | null }>(
      'SELECT container_id AS id, count(*) AS n, max(container_pod) AS pod FROM events WHERE container_id IS NOT NULL GROUP BY container_id ORDER BY n DESC'
    )
    .all();
  const big = db
    .prepare("SELECT event_id AS id, stacks FROM profiles WHERE name = 'cpu' ORDER BY stacks DESC LIMIT 1")
    .get() as { id: string; stacks: number };
  const typical = db
    .prepare(
      "SELECT event_id AS id, stacks FROM profiles WHERE name = 'cpu' AND stacks BETWEEN 400 AND 1000 ORDER BY event_id DESC LIMIT 1"
    )
    .get() as { id: string; stacks: number };
  store.close();

  const popularName = byName[0]!; // a Kubernetes container name shared by many pods
  const rareId = byId[Math.floor(byId.length * 0.9)]!; // a quiet container: its newest 100 reach far back
  const pods = byId.filter((c) => c.pod).slice(0, 50);
  const cur = (r: { time: number; id: string }) => encodeCursor({ time: r.time, id: r.id });
  const deep = sample.filter((r) => newest - r.time > D); // at least a day deep
  const windows = Array.from({ length: 200 }, (_, i) => {
    const from = oldest + Math.floor((((i * 7919) % 1000) / 1000) * (newest - oldest - H));
    return `from=${from}&to=${from + H}`;
  });
  const E = '/api/v1/events';
  const C = '/api/v1/stats/counts';
  const fg = (id: string, f: string) => `/api/v1/events/${id}/flamegraph?format=${f}`;
  const list: Scenario[] = [
    { name: 'list', what: 'newest first, default page (limit 100)', paths: [`${E}`] },
    { name: 'list-1000', what: 'newest first, limit 1000 (api.maxPageSize)', paths: [`${E}?limit=1000`] },
    { name: 'type', what: 'type=dload (15% of events)', paths: [`${E}?type=dload`] },
    { name: 'types', what: 'type=cpusys,dload', paths: [`${E}?type=cpusys,dload`] },
    {
      name: 'container-name',
      what: `container=${popularName.name} (a Kubernetes name: ${popularName.ids} container ids, ${popularName.n} events)`,
      paths: [`${E}?container=${popularName.name}`],
    },
    {
      name: 'container-rare',
      what: `container=<full id> of a quiet container (${rareId.n} events over 7 d)`,
      paths: [`${E}?container=${rareId.id}`],
    },
    {
      name: 'container-prefix',
      what: 'container=<12-char id prefix>, 50 containers in turn',
      paths: byId.slice(0, 50).map((c) => `${E}?container=${c.id.slice(0, 12)}`),
    },
    { name: 'pod', what: 'container=<pod name>, 50 pods in turn', paths: pods.map((c) => `${E}?container=${c.pod}`) },
    { name: 'range-latest', what: 'from=newest−1h to=newest', paths: [`${E}?from=${newest - H}&to=${newest}`] },
    {
      name: 'range-random',
      what: '1 h windows anywhere in the 7 days, 200 in turn',
      paths: windows.map((w) => `${E}?${w}`),
    },
    {
      name: 'type-container-day',
      what: `type=cpuidle&container=${popularName.name}, a 1-day window`,
      paths: [`${E}?type=cpuidle&container=${popularName.name}&from=${newest - 4 * D}&to=${newest - 3 * D}`],
    },
    {
      name: 'cursor-deep',
      what: `cursor ≥ 1 day deep (random rows of the table, ${deep.length} in turn)`,
      paths: deep.map((r) => `${E}?cursor=${cur(r)}`),
    },
    {
      name: 'cursor-deep-type',
      what: 'type=iotracing with a deep cursor',
      paths: deep.filter((r) => r.type === 'iotracing').map((r) => `${E}?type=iotracing&cursor=${cur(r)}`),
    },
    {
      name: 'cursor-deep-container',
      what: 'container=<id> with a deep cursor',
      paths: deep.filter((r) => r.container_id).map((r) => `${E}?container=${r.container_id}&cursor=${cur(r)}`),
    },
    {
      name: 'event',
      what: `GET /events/:id, ${sample.length} ids spread over the table in turn`,
      paths: sample.map((r) => `${E}/${r.id}`),
    },
    {
      name: 'counts-type-1h',
      what: 'counts by=type, 7 d, step 1h',
      paths: [`${C}?from=${newest - 7 * D}&to=${newest}&step=1h&by=type`],
    },
    {
      name: 'counts-type-1m',
      what: 'counts by=type, 7 d, step 1m (10,081 buckets)',
      paths: [`${C}?from=${newest - 7 * D}&to=${newest}&step=1m&by=type`],
    },
    {
      name: 'counts-container-1h',
      what: 'counts by=container, 7 d, step 1h',
      paths: [`${C}?from=${newest - 7 * D}&to=${newest}&step=1h&by=container`],
    },
    {
      name: 'counts-container-1m',
      what: 'counts by=container, 7 d, step 1m',
      paths: [`${C}?from=${newest - 7 * D}&to=${newest}&step=1m&by=container`],
    },
    { name: 'counts-default', what: 'counts, defaults (last hour, ~300 buckets)', paths: [`${C}`] },
    {
      name: 'containers',
      what: 'GET /containers over 7 d (template variable)',
      paths: [`/api/v1/containers?from=${newest - 7 * D}`],
    },
    { name: 'hosts', what: 'GET /hosts (template variable)', paths: ['/api/v1/hosts'] },
    { name: 'metrics', what: 'GET /metrics (store gauges count rows on every scrape)', paths: ['/metrics'] },
    {
      name: 'fg-typical-nested',
      what: `flame graph, real capture of ${typical.stacks} stacks, nested`,
      paths: [fg(typical.id, 'nested')],
      single: true,
    },
    {
      name: 'fg-merged-1h',
      what: 'merged flame graph, type=cpusys, last hour (≤ 100 captures), nested',
      paths: [`/api/v1/flamegraph?type=cpusys&from=${newest - H}&to=${newest}`],
      single: true,
    },
    ...(['nested', 'folded', 'pprof', 'svg'] as const).map((f): Scenario => ({
      name: `fg-20k-${f}`,
      what: `flame graph, ${big.stacks}-stack capture, ${f}`,
      paths: [fg(big.id, f)],
      single: true,
    })),
  ];
  return {
    list: ONLY ? list.filter((s) => ONLY.has(s.name)) : list,
    info: {
      events: total,
      newest,
      oldest,
      sampleRows: sample.length,
      deepCursors: deep.length,
      popularName,
      rareId,
      bigEvent: big,
      typicalEvent: typical,
      containerNames: byName.length,
      containerIds: byId.length,
    },
  };
}

function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // the spec goes through a file: thousands of cursors do not fit in one argv string (E2BIG)
    const specFile = path.join(fs.mkdtempSync('/tmp/bench-loadgen-'), 'spec.json');
    fs.writeFileSync(specFile, JSON.stringify(spec));
    const child = spawn(process.execPath, [path.join(__dirname, 'loadgen.js'), specFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      fs.rmSync(path.dirname(specFile), { recursive: true, force: true });
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadResult);
      else reject(new Error(`loadgen exited ${code}`));
    });
  });
}

interface Row {
  pass: number;
  scenario: string;
  connections: number;
  load: LoadResult;
  daemonCpu: number;
  daemonRssMiB: number;
  daemonHwmMiB: number;
  contention: ContentionReport;
}

async function main(): Promise<void> {
  const { list, info } = scenarios();
  const cfgDir = fs.mkdtempSync('/tmp/bench-api-');
  const configFile = path.join(cfgDir, 'agent.yaml');
  fs.writeFileSync(
    configFile,
    `host: node-a17.fleet.example
dataDir: ${DIR}
log: { level: info }
api:
  listen: 127.0.0.1:0
  tokens: { read: [${READ_TOKEN}], admin: [${ADMIN_TOKEN}] }
  rateLimit: { max: 0 }
store: { retention: 3650d, maxSize: 1TiB }
tracers:
  cpusys: { enabled: false }
  cpuidle: { enabled: false }
  dload: { enabled: false }
  memburst: { enabled: false }
  iotracing: { enabled: false }
`
  );
  const t0 = performance.now();
  const daemon: Daemon = await startDaemon(cfgDir, configFile);
  const startupMs = round(performance.now() - t0, 0);
  const pid = daemon.child.pid!;
  const mem0 = procMem(pid)!;
  console.error(`daemon ${pid} at ${daemon.url} after ${startupMs} ms, RSS ${round(mem0.rssKiB / 1024)} MiB`);
  // a few fetches of each scenario: status and size, a warm page cache, and how slow it is
  const sizes: Record<
    string,
    { status: number; bytes: number; ms: number; firstMs: number; headers: Record<string, string> }
  > = {};
  for (const s of list) {
    // three sequential fetches: the first is cold (page cache, JIT); the fastest of them classifies the scenario
    const times: number[] = [];
    for (let k = 0; k < 3; k++) {
      const t = performance.now();
      const r = await fetch(daemon.url + s.paths[k % s.paths.length]!, {
        headers: { authorization: `Bearer ${READ_TOKEN}` },
      });
      const body = Buffer.from(await r.arrayBuffer());
      times.push(performance.now() - t);
      const headers: Record<string, string> = {};
      for (const [h, v] of r.headers) if (h.startsWith('x-autotracing') || h === 'content-type') headers[h] = v;
      if (k === 0)
        sizes[s.name] = { status: r.status, bytes: body.length, ms: 0, headers, firstMs: round(times[0]!, 1) };
      if (r.status !== 200) console.error(`${s.name}: HTTP ${r.status} ${body.toString().slice(0, 200)}`);
    }
    sizes[s.name]!.ms = round(Math.min(...times), 1);
  }
  const rows: Row[] = [];
  for (let pass = 1; pass <= PASSES; pass++) {
    for (const s of list) {
      // slow requests: a fixed number of them instead of a time window (autocannon drops the ones in
      // flight when the window ends); very slow ones with one connection only
      const first = sizes[s.name]!.ms;
      const mode = first > 2000 ? 'very-slow' : first > 200 ? 'slow' : 'fast';
      for (const c of s.single || mode === 'very-slow' ? [1] : CONNECTIONS) {
        const cpu0 = procCpuSeconds(pid)!;
        const contention = new Contention();
        const shape =
          mode === 'fast'
            ? { duration: s.single ? FG_DURATION : DURATION }
            : { amount: mode === 'very-slow' ? 5 : c === 1 ? 20 : 30 };
        const load = await runLoad({ url: daemon.url, token: READ_TOKEN, paths: s.paths, connections: c, ...shape });
        const daemonCpu = procCpuSeconds(pid)! - cpu0;
        const cont = contention.stop(daemonCpu + load.loadgenCpuSeconds);
        const mem = procMem(pid)!;
        const row: Row = {
          pass,
          scenario: s.name,
          connections: c,
          load,
          daemonCpu: round(daemonCpu / cont.seconds, 2),
          daemonRssMiB: round(mem.rssKiB / 1024),
          daemonHwmMiB: round(mem.hwmKiB / 1024),
          contention: cont,
        };
        rows.push(row);
        writeResult('api-bench-partial.json', { info, rows });
        console.error(
          `pass ${pass} ${s.name.padEnd(22)} c=${String(c).padEnd(2)} p50 ${load.latencyMs.p50} ms p99 ${load.latencyMs.p99} ms ${load.rps} req/s ${load.bytesPerResponse} B codes ${JSON.stringify(load.statusCodes)} agent ${row.daemonCpu} CPU RSS ${row.daemonRssMiB} MiB load ${cont.loadavg1.mean} others ${cont.otherBusyCpus} CPU`
        );
      }
    }
  }
  const memEnd = procMem(pid)!;
  daemon.signal('SIGTERM');
  await daemon.waitExit(60_000);
  fs.rmSync(cfgDir, { recursive: true, force: true });
  const file = writeResult('api-bench.json', {
    when: new Date().toISOString(),
    machine: machine(),
    command: `node build/bench/api/run.js ${process.argv.slice(2).join(' ')}`,
    loadGenerator: 'autocannon 9.0.0 (npm), separate process, keep-alive connections, no pipelining',
    durationSeconds: DURATION,
    flamegraphDurationSeconds: FG_DURATION,
    info,
    startupMs,
    rss: {
      startMiB: round(mem0.rssKiB / 1024),
      endMiB: round(memEnd.rssKiB / 1024),
      peakMiB: round(memEnd.hwmKiB / 1024),
    },
    scenarios: list.map((s) => ({ name: s.name, what: s.what, paths: s.paths.length, firstFetch: sizes[s.name] })),
    rows,
  });
  console.error(`→ ${file}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
