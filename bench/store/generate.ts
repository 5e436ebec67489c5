// Fills an agent data directory with N realistic events (bench/store/dataset.ts) spread over D days,
// plus one capture with a 20,000-stack flame graph, then reports the database size per event and per
// profile stack (SQLite's dbstat: each table and index, in pages).
//
//   node build/bench/store/generate.js --dir /tmp/bench-store --events 1000000 [--days 7] [--seed 1]
//        [--cpu-profiles 6] [--profile-cache /tmp/bench-store-profiles]
//
// Profiles: cpusys and cpuidle events carry a `cpu` flame graph taken from a pool of REAL system-wide
// profiles of this machine (`agent profile --duration 10 --format pprof`, cached in --profile-cache);
// dload carries a small `offcpu` graph (nanoseconds) and memburst an `alloc` graph (bytes), synthetic;
// iotracing none. Pool blobs are compressed once by the store's own codec and shared by many rows.
//
// Speed: events go in through the store's SQLite handle with the store's INSERT statements, 5,000 per
// transaction and `synchronous = OFF` for the load only (the agent reopens the file with FULL). The
// 20,000-stack capture goes through the store API (insertEvent + completeEvent: real compression).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { monotonicFactory } from 'ulid';
import { openStore, storePath, compressProfile, eventParams, INSERT_EVENT_SQL } from '../../agent/src/store';
import { EventSchema, type AutotracingEvent, type TracerType } from '../../agent/src/events/event';
import { encode, decode } from '../../agent/src/profiles/codec';
import { fromPprof } from '../../agent/src/profiles/pprof';
import { syntheticProfile } from '../../agent/src/profiles/synthetic';
import { ROOT, arg, machine, round, writeResult, Contention } from '../common/host';
import { rng, makeContainers, ContainerPicker, generate, TYPE_MIX, type ProfileRef } from './dataset';

const DIR = arg('dir', '/tmp/bench-store');
const N = Number(arg('events', '1000000'));
const DAYS = Number(arg('days', '7'));
const SEED = Number(arg('seed', '1'));
const CPU_PROFILES = Number(arg('cpu-profiles', '6'));
const CACHE = arg('profile-cache', '/tmp/bench-store-profiles');
const BIG_STACKS = Number(arg('big-stacks', '20000'));
const BIG_DEPTH = Number(arg('big-depth', '40'));
const HOSTS: [string, number][] = [
  ['node-a17.fleet.example', 0.94],
  ['node-a17', 0.02],
  ['ip-10-0-3-17', 0.02],
  ['node-a17.old.example', 0.02],
];

interface PoolEntry {
  ref: ProfileRef;
  codec: 'br' | 'none';
  blob: Buffer;
  rawBytes: number;
}

function pool(name: string, title: string, unit: ProfileRef['unit'], make: () => Buffer[]): PoolEntry[] {
  return make().map((raw) => {
    const p = decode(raw);
    const c = compressProfile(raw);
    return {
      ref: { name, title, unit, total: p.total, stacks: p.stackCount },
      codec: c.codec,
      blob: c.blob,
      rawBytes: raw.length,
    };
  });
}

/** Real on-CPU profiles of this machine, one per 10 s window, cached between runs. */
function realCpuProfiles(): Buffer[] {
  fs.mkdirSync(CACHE, { recursive: true });
  const out: Buffer[] = [];
  for (let i = 0; i < CPU_PROFILES; i++) {
    const f = path.join(CACHE, `cpu-${i}.pb.gz`);
    if (!fs.existsSync(f)) {
      console.error(`capturing real profile ${i + 1}/${CPU_PROFILES} (10 s, whole host) → ${f}`);
      execFileSync(
        process.execPath,
        [
          path.join(ROOT, 'build/agent/src/cli/main.js'),
          'profile',
          '--duration',
          '10',
          '--format',
          'pprof',
          '--output',
          f,
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] }
      );
    }
    out.push(encode(fromPprof(fs.readFileSync(f))));
  }
  return out;
}

function main(): void {
  const r = rng(SEED);
  const contention = new Contention();
  const t0 = performance.now();
  const pools: Partial<Record<TracerType, PoolEntry[]>> = {
    cpusys: pool('cpu', 'On-CPU, all processes (kernel + user stacks)', 'samples', realCpuProfiles),
    dload: pool('offcpu', 'Off-CPU time in D state', 'nanoseconds', () =>
      Array.from({ length: 16 }, (_, i) =>
        encode(syntheticProfile({ stacks: 3 + i * 3, depth: 24, seed: 100 + i, unit: 'nanoseconds' }))
      )
    ),
    memburst: pool('alloc', 'Page allocations (sampled)', 'bytes', () =>
      Array.from({ length: 16 }, (_, i) =>
        encode(syntheticProfile({ stacks: 20 + i * 20, depth: 30, seed: 200 + i, unit: 'bytes' }))
      )
    ),
  };
  pools.cpuidle = pools.cpusys!.map((p) => ({
    ...p,
    ref: { ...p.ref, title: 'On-CPU in the container (kernel + user stacks)' },
  }));
  const poolSeconds = (performance.now() - t0) / 1000;

  fs.rmSync(DIR, { recursive: true, force: true });
  fs.mkdirSync(DIR, { recursive: true });
  const file = storePath(DIR);
  const store = openStore(file);
  const db = store.db;
  db.pragma('synchronous = OFF');
  const insEvent = db.prepare(INSERT_EVENT_SQL);
  const insProfile = db.prepare(
    `INSERT INTO profiles (event_id, name, title, unit, total, stacks, codec, raw_bytes, blob)
     VALUES (@event_id, @name, @title, @unit, @total, @stacks, @codec, @raw_bytes, @blob)`
  );

  // times: 60% spread evenly, 40% in 500 bursts of ~10 minutes (incidents); newest a minute ago
  const now = Date.now();
  const span = DAYS * 86_400_000;
  const start = now - span;
  const bursts = Array.from({ length: 500 }, () => start + r() * (span - 60_000));
  const times = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let t: number;
    if (r() < 0.6) t = start + r() * (span - 60_000);
    else {
      const g = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
      t = bursts[Math.floor(r() * bursts.length)]! + g * 300_000;
    }
    times[i] = Math.round(Math.min(now - 60_000, Math.max(start, t)));
  }
  times.sort();

  const containers = new ContainerPicker(makeContainers(r));
  const newId = monotonicFactory();
  const cumulative = <T>(xs: [T, number][]): [T, number][] => {
    let acc = 0;
    const out = xs.map(([x, w]): [T, number] => [x, (acc += w)]);
    return out.map(([x, c]) => [x, c / acc]);
  };
  const cumType = cumulative(TYPE_MIX);
  const cumHost = cumulative(HOSTS);
  const choose = <T>(cum: [T, number][]) => {
    const x = r();
    return (cum.find(([, c]) => x < c) ?? cum[cum.length - 1]!)[0];
  };

  const perType = new Map<TracerType, { n: number; dataBytes: number; withProfile: number }>();
  const status = { complete: 0, partial: 0, failed: 0 };
  let profileRows = 0;
  let profileStacks = 0;
  let checked = 0;
  const BATCH = 5000;
  const tIns = performance.now();
  const insertBatch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const type = choose(cumType);
      const host = choose(cumHost);
      const s = r() < 0.95 ? 'complete' : r() < 0.8 ? 'partial' : 'failed';
      const pe = s === 'failed' ? null : (pools[type]?.[Math.floor(r() * pools[type]!.length)] ?? null);
      const g = generate(type, r, containers, pe?.ref ?? null);
      const time = times[i]!;
      const duration = 10_000 + Math.floor(r() * 2000);
      const ev: AutotracingEvent = {
        id: newId(time),
        type,
        host,
        time,
        timeEnd: s === 'failed' ? time + Math.floor(r() * 500) : time + duration,
        container: g.container,
        trigger: g.trigger,
        summary: s === 'failed' ? `${type} capture failed: the profiler could not attach (EBUSY)` : g.summary,
        status: s,
        data: s === 'failed' ? {} : g.data,
      };
      if (s === 'partial')
        ev.error = pick2(r, [
          'process exited before its command line could be read',
          'the agent stopped during the capture window',
          'the cgroup of the container vanished during the capture',
        ]);
      if (s === 'failed') ev.error = 'the profiler could not attach (EBUSY)';
      if (checked < 5000 && (i < 2000 || r() < 0.001)) {
        checked++;
        if (!Value.Check(EventSchema, ev))
          throw new Error(
            `generated event does not match the contract: ${JSON.stringify([...Value.Errors(EventSchema, ev)].slice(0, 3))}`
          );
      }
      // the store's own row mapping: the bench writes exactly what insertEvent would, only faster
      const row = eventParams(ev, ev.timeEnd);
      insEvent.run(row);
      const dataJson = String(row.data_json);
      if (pe) {
        insProfile.run({
          event_id: ev.id,
          name: pe.ref.name,
          title: pe.ref.title,
          unit: pe.ref.unit,
          total: pe.ref.total,
          stacks: pe.ref.stacks,
          codec: pe.codec,
          raw_bytes: pe.rawBytes,
          blob: pe.blob,
        });
        profileRows++;
        profileStacks += pe.ref.stacks;
      }
      const pt = perType.get(type) ?? { n: 0, dataBytes: 0, withProfile: 0 };
      pt.n++;
      pt.dataBytes += dataJson.length;
      if (pe) pt.withProfile++;
      perType.set(type, pt);
      status[s]++;
    }
  });
  for (let i = 0; i < N; i += BATCH) {
    insertBatch(i, Math.min(N, i + BATCH));
    if ((i / BATCH) % 20 === 19) console.error(`${i + BATCH} events, ${round((performance.now() - tIns) / 1000, 1)} s`);
  }
  const insertSeconds = (performance.now() - tIns) / 1000;

  // the big capture: newest event, through the store API like a real capture
  db.pragma('synchronous = FULL');
  const big = syntheticProfile({ stacks: BIG_STACKS, depth: BIG_DEPTH, seed: 42 });
  const tb = performance.now();
  const bigRaw = encode(big);
  const encodeMs = performance.now() - tb;
  const bigEv = store.insertEvent({
    type: 'cpusys',
    host: HOSTS[0]![0],
    time: now - 30_000,
    container: null,
    trigger: {
      metric: 'sys_percent',
      value: 88,
      threshold: 45,
      baseline: 6,
      delta: 82,
      reason: 'host CPU sys 88% > 45% and 82 points above its baseline 6% (> 20) for 3 samples',
    },
    summary: 'cpusys capture in progress',
    data: {},
  });
  const tc = performance.now();
  store.completeEvent(
    bigEv.id,
    {
      status: 'complete',
      summary: `synthetic ${BIG_STACKS}-stack capture (bench)`,
      timeEnd: now - 20_000,
      data: { profile: { frequencyHz: 99, samples: big.total } },
    },
    [
      {
        name: 'cpu',
        title: 'On-CPU, all processes (kernel + user stacks)',
        unit: 'samples',
        total: big.total,
        stacks: big.stackCount,
        blob: bigRaw,
      },
    ]
  );
  const completeMs = performance.now() - tc;
  const bigInfo = store.listProfiles(bigEv.id)[0]!;

  store.checkpoint();
  store.close(); // runs PRAGMA optimize, as the agent does at every stop

  // sizes, from a read-only connection
  const ro = openStore(file, { readonly: true });
  const objects = ro.db
    .prepare<[], { name: string; tbl: string; bytes: number; pages: number }>(
      `SELECT d.name AS name, coalesce(m.tbl_name, d.name) AS tbl, sum(d.pgsize) AS bytes, count(*) AS pages
       FROM dbstat d LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY d.name ORDER BY bytes DESC`
    )
    .all();
  const payload = ro.db
    .prepare<[], { data: number; trig: number; summ: number }>(
      'SELECT sum(length(data_json)) AS data, sum(length(trigger_json)) AS trig, sum(length(summary)) AS summ FROM events'
    )
    .get()!;
  const prof = ro.db
    .prepare<[], { n: number; stacks: number; raw: number; stored: number }>(
      'SELECT count(*) AS n, sum(stacks) AS stacks, sum(raw_bytes) AS raw, sum(length(blob)) AS stored FROM profiles'
    )
    .get()!;
  const stat1 = ro.db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'sqlite_stat1'").get() as {
    n: number;
  };
  const stats = ro.stats();
  ro.close();
  const sum = (tbl: string, pred: (o: { name: string }) => boolean = () => true) =>
    objects.filter((o) => o.tbl === tbl && pred(o)).reduce((a, o) => a + o.bytes, 0);
  const eventsTable = sum('events', (o) => o.name === 'events');
  const eventsIndexes = sum('events', (o) => o.name !== 'events');
  const profilesBytes = sum('profiles');
  const poolAll = [...pools.cpusys!, ...pools.dload!, ...pools.memburst!];

  const result = {
    when: new Date().toISOString(),
    machine: machine(),
    command: `node build/bench/store/generate.js ${process.argv.slice(2).join(' ')}`,
    dir: DIR,
    events: stats.events,
    profiles: stats.profiles,
    days: DAYS,
    oldest: stats.oldest,
    newest: stats.newest,
    containers: containers.containers.length,
    status,
    perType: Object.fromEntries(
      [...perType].map(([t, v]) => [
        t,
        { events: v.n, withProfile: v.withProfile, avgDataJsonBytes: Math.round(v.dataBytes / v.n) },
      ])
    ),
    seconds: {
      profilePool: round(poolSeconds, 1),
      insert: round(insertSeconds, 1),
      eventsPerSecond: Math.round(N / insertSeconds),
    },
    pool: {
      cpu: pools.cpusys!.map((p) => ({
        stacks: p.ref.stacks,
        total: p.ref.total,
        rawBytes: p.rawBytes,
        storedBytes: p.blob.length,
        codec: p.codec,
      })),
      offcpuStacks: pools.dload!.map((p) => p.ref.stacks),
      allocStacks: pools.memburst!.map((p) => p.ref.stacks),
      storedBytesPerStack: round(
        poolAll.reduce((a, p) => a + p.blob.length, 0) / poolAll.reduce((a, p) => a + p.ref.stacks, 0),
        1
      ),
      cpuStoredBytesPerStack: round(
        pools.cpusys!.reduce((a, p) => a + p.blob.length, 0) / pools.cpusys!.reduce((a, p) => a + p.ref.stacks, 0),
        1
      ),
    },
    big: {
      id: bigEv.id,
      stacks: bigInfo.stacks,
      total: bigInfo.total,
      depth: BIG_DEPTH,
      rawBytes: bigInfo.rawBytes,
      storedBytes: bigInfo.storedBytes,
      codec: bigInfo.codec,
      encodeMs: round(encodeMs, 1),
      completeEventMs: round(completeMs, 1),
    },
    size: {
      fileBytes: stats.fileBytes,
      dbFileBytes: stats.dbFileBytes,
      pageSize: stats.pageSize,
      objects,
      eventsTableBytes: eventsTable,
      eventsIndexBytes: eventsIndexes,
      profilesBytes,
      bytesPerEvent: {
        rowOnly: round(eventsTable / stats.events, 1),
        withIndexes: round((eventsTable + eventsIndexes) / stats.events, 1),
        wholeFile: round(stats.fileBytes / stats.events, 1),
      },
      jsonPayloadPerEvent: round((payload.data + payload.trig + payload.summ) / stats.events, 1),
      profileBytesPerStack: round(profilesBytes / prof.stacks, 2),
      profileStoredBlobBytesPerStack: round(prof.stored / prof.stacks, 2),
      profileRawBytesPerStack: round(prof.raw / prof.stacks, 2),
      profileRows: prof.n,
      profileStacks: prof.stacks,
      sqliteStat1: stat1.n > 0,
    },
    contention: contention.stop(),
    profileRowsInserted: profileRows,
    profileStacksInserted: profileStacks,
  };
  const out = writeResult(`store-generate-${N}.json`, result);
  console.log(JSON.stringify({ ...result, size: { ...result.size, objects: undefined } }, null, 2));
  console.error(`→ ${out}`);
}

function pick2<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

main();
