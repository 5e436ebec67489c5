// Records the evidence fixtures of the backend tests (test/backend/fixtures/*.json) from a REAL agent:
//
//   sudo node --import tsx test/backend/record-fixtures.ts [--out DIR] [--only dload,memburst,iotracing]
//
// A real daemon (test/helpers/daemon.ts: the compiled CLI's `run`, a temp data folder, tokens) with its
// detectors tuned so the workloads below trigger them within seconds, and these captures:
//
//   (detectors start disabled; each scenario turns its own on: PATCH /api/v1/tracers/:type)
//   iotracing-detector   fio (direct randwrite 1 MiB + randread 64 KiB) in a docker-like cgroup on an ext4
//                        loop filesystem (image on tmpfs, test/helpers/loopdev.ts): the await detector fires
//                        on the loop device (data.device and data.snapshot set)
//   iotracing-writeback  POST /api/v1/captures iotracing (manual, data.device null): pages dirtied before
//                        the window (flusher, owner unknown, labelled), a buffered fio writer in the same
//                        container flushed by `sync` (charged to the dirtier), a direct dd throttled to 4
//                        writes/s (io_schedule stalls with stacks)
//   dload-detector       test/workloads/dstate (12 workers blocked in vfork) in a docker-like cgroup (v1 cpu
//                        hierarchy) while the throttled dd waits in D on the host: container scope, known
//                        issue vfork-wait, the dd as a host task (inScope false), two stack groups
//   dload-host           POST /api/v1/captures dload (manual, host scope) during the same stall
//   memburst-detector    test/workloads/memgrow 1.5 GiB at 400 MiB/s in a docker-like cgroup (v1 cpu and
//                        memory hierarchies) next to a steady 1 GiB holder on the host: the growth rule fires
//   memburst-manual      POST /api/v1/captures memburst right after the container grower was killed (it stays
//                        the top grower of the growth window, exited) while a host process grows 768 MiB at
//                        200 MiB/s
//
// Each fixture holds the event exactly as GET /api/v1/events/:id answered it, its flame graphs in folded
// form (GET …/flamegraph?format=folded&profile=NAME) and how it was made. Times, ids, pids and the
// host name are the real ones (the tests move events in time and rename hosts when they load them).
// Needs root (BPF, cgroups, loop devices), fio, mkfs.ext4, the agent build (npx tsc -p tsconfig.node.json,
// npm run -s build:bpf, build:native) and the test workloads (make -C test/workloads). About a minute.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AutotracingEvent, InfoResponse } from '../../agent/src/api/schemas';
import { startDaemon, tempDir, writeConfig, type Daemon } from '../helpers/daemon';
import { makeLoopFs, throttledCgroup, type LoopFs, type ThrottledCgroup } from '../helpers/loopdev';
import {
  CGROUP_UNIFIED,
  CGROUP_V1_CPU,
  fakeContainerId,
  makeCgroup,
  workload,
  type TestCgroup,
} from '../helpers/workloads';
import type { RecordedFixture } from './fixtures';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const OUT = path.resolve(arg('--out') ?? path.join(__dirname, 'fixtures'));
const ONLY = new Set((arg('--only') ?? 'iotracing,dload,memburst').split(','));
const CAPTURE = '3s';

const log = (msg: string) => process.stderr.write(`[record] ${msg}\n`);

/** Spawn `cmd` (a shell command line) after moving the shell into the given cgroup.procs files. */
function inCgroups(procs: string[], cmd: string): ChildProcess {
  const moves = procs.map((p) => `echo $$ > ${p}`).join('; ');
  return spawn('sh', ['-c', `${moves}${moves ? '; ' : ''}exec ${cmd}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
}

async function kill(c: ChildProcess | null): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  try {
    process.kill(-c.pid!, 'SIGKILL'); // its process group: dstate's workers and their children too
  } catch {
    /* gone */
  }
  await once(c, 'exit');
}

/** memgrow MIB RATE HOLD in the given cgroups; resolves `ready` when all is allocated. */
function memgrow(
  procs: string[],
  mib: number,
  rate: number,
  hold: number
): { child: ChildProcess; ready: Promise<void> } {
  const child = inCgroups(procs, `${workload('memgrow')} ${mib} ${rate} ${hold}`);
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

/** Turn a detector on (PATCH /api/v1/tracers/:type) and give it a baseline. Each runs only during its own
 *  scenario, so that other activity on the host (a shared test machine) cannot use up its cooldown first. */
async function enable(d: Daemon, type: string, baselineMs = 3000): Promise<void> {
  const r = await d.api(`/api/v1/tracers/${type}`, { method: 'PATCH', body: JSON.stringify({ enabled: true }) });
  if (!r.ok) throw new Error(`PATCH /api/v1/tracers/${type}: HTTP ${r.status} ${await r.text()}`);
  await sleep(baselineMs);
}

async function manual(d: Daemon, body: { type: string; container?: string; durationMs?: number }): Promise<string> {
  const r = await d.api('/api/v1/captures', { method: 'POST', body: JSON.stringify(body) });
  const text = await r.text();
  if (r.status !== 202) throw new Error(`POST /api/v1/captures ${JSON.stringify(body)}: HTTP ${r.status} ${text}`);
  return (JSON.parse(text) as { id: string }).id;
}

async function finished(d: Daemon, id: string, timeoutMs = 30_000): Promise<AutotracingEvent> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const e = await d.json<AutotracingEvent>(`/api/v1/events/${id}`);
    if (e.status !== 'capturing') return e;
    if (Date.now() > end) throw new Error(`event ${id} still capturing after ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** The first event of `type` the detector made after `since`, once its capture has ended. */
async function detected(d: Daemon, type: string, since: number, timeoutMs: number): Promise<AutotracingEvent> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const list = await d.json<{ events: AutotracingEvent[] }>(`/api/v1/events?type=${type}&from=${since}&limit=50`);
    const ev = list.events.filter((e) => e.trigger.metric !== 'manual').pop();
    if (ev) return finished(d, ev.id);
    if (Date.now() > end) {
      const state = await d.json<{ tracers: Array<{ type: string }> }>('/api/v1/tracers').catch(() => null);
      const logs = d.logs.filter((l) => JSON.stringify(l).includes(type)).slice(-10);
      throw new Error(
        `the ${type} detector did not fire within ${timeoutMs} ms; tracer: ${JSON.stringify(state?.tracers.find((t) => t.type === type))}; logs: ${JSON.stringify(logs)}`
      );
    }
    await sleep(250);
  }
}

let info: InfoResponse | null = null;

async function save(
  d: Daemon,
  name: string,
  how: RecordedFixture['recorded']['how'],
  scenario: string,
  ev: AutotracingEvent
): Promise<void> {
  if (ev.status !== 'complete') log(`warning: ${name} is ${ev.status}: ${ev.error ?? ''}`);
  const profiles: RecordedFixture['profiles'] = {};
  const refs = Array.isArray(ev.data.flamegraphs) ? (ev.data.flamegraphs as Array<{ name: string; unit: string }>) : [];
  for (const ref of refs) {
    const r = await d.api(`/api/v1/events/${ev.id}/flamegraph?format=folded&profile=${encodeURIComponent(ref.name)}`);
    if (!r.ok) throw new Error(`flame graph ${ref.name} of ${ev.id}: HTTP ${r.status}`);
    const folded: Record<string, number> = {};
    for (const line of (await r.text()).split('\n')) {
      const m = /^(.*) (\d+(?:\.\d+)?)$/.exec(line);
      if (m) folded[m[1]!] = (folded[m[1]!] ?? 0) + Number(m[2]);
    }
    profiles[ref.name] = { unit: ref.unit as RecordedFixture['profiles'][string]['unit'], folded };
  }
  const fixture: RecordedFixture = {
    recorded: {
      at: new Date().toISOString(),
      how,
      scenario,
      by: 'test/backend/record-fixtures.ts',
      agent: { version: info?.version ?? '', kernel: info?.kernel ?? '' },
    },
    event: ev,
    profiles,
  };
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify(fixture, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), file)} (${ev.type}, ${ev.status}): ${ev.summary}`);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('record-fixtures needs root (BPF, cgroups, loop devices)');
  const cleanup: Array<() => Promise<unknown> | unknown> = [];
  const lfs: LoopFs = await makeLoopFs({ fsType: 'ext4' });
  cleanup.push(() => lfs.cleanup());
  const dir = tempDir('autotracing-record-');
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const common = `interval: 500ms, holdSamples: 2, baselineWindow: 10s, duration: ${CAPTURE}, cooldown: 30m`;
  writeConfig(
    dir,
    `tracers:
  cpusys: { enabled: false }
  cpuidle: { enabled: false }
  dload: { enabled: false, ${common}, dloadWindow: 5s }
  memburst: { enabled: false, ${common}, growthWindow: 5s }
  iotracing: { enabled: false, ${common}, awaitThreshold: 1ms, awaitDeltaThreshold: 0ms, utilThreshold: 100, stallThreshold: 100ms, includeDevices: [${lfs.device}] }
`
  );
  // a steady 1 GiB holder for the memburst scenario, allocated before the agent starts (its own growth
  // would otherwise fire the detector and start the cooldown)
  let holder: ChildProcess | null = null;
  if (ONLY.has('memburst')) {
    const h = memgrow([], 1024, 0, 600);
    holder = h.child;
    cleanup.push(() => kill(h.child));
    await h.ready;
  }
  const d = await startDaemon(dir);
  cleanup.push(async () => {
    d.signal('SIGTERM');
    await d.waitExit().catch(() => d.signal('SIGKILL'));
  });
  info = await d.json<InfoResponse>('/api/v1/info');
  log(`agent ${info.version} on ${info.kernel} at ${d.url}; loop filesystem ${lfs.device} at ${lfs.mountPoint}`);
  // undone in reverse: the workloads are killed first, then their cgroups go
  const cgroups: Array<TestCgroup | ThrottledCgroup> = [];
  cleanup.push(async () => {
    for (const c of cgroups) await c.remove();
  });
  const running: ChildProcess[] = [];
  cleanup.push(async () => {
    for (const c of running) await kill(c);
  });
  const cgroup = <T extends TestCgroup | ThrottledCgroup>(c: T): T => (cgroups.push(c), c);
  const run = (c: ChildProcess): ChildProcess => (running.push(c), c);

  try {
    const ioId = fakeContainerId(`io-record-${process.pid}`);
    const ioCg = cgroup(makeCgroup(CGROUP_UNIFIED, `/system.slice/docker-${ioId}.scope`));
    const slow = cgroup(throttledCgroup(`autotracing-record-throttle-${process.pid}`, lfs.major, lfs.minor, 4));
    const data = path.join(lfs.mountPoint, 'data');
    fs.mkdirSync(data);

    if (ONLY.has('iotracing')) {
      // --- iotracing, detector: direct IO from a container on the loop device
      const w = path.join(data, 'write.dat');
      const r = path.join(data, 'read.dat');
      execFileSync('dd', ['if=/dev/zero', `of=${r}`, 'bs=1M', 'count=32', 'oflag=direct'], { stdio: 'ignore' });
      execFileSync('dd', ['if=/dev/zero', `of=${w}`, 'bs=1M', 'count=64', 'oflag=direct'], { stdio: 'ignore' });
      await enable(d, 'iotracing');
      const t0 = Date.now();
      const fio = run(
        inCgroups(
          [ioCg.procs],
          `fio --thread --ioengine=libaio --direct=1 --time_based --runtime=20 --name=w --filename=${w} --size=64M --rw=randwrite --bs=1M --iodepth=16 --name=r --filename=${r} --size=32M --rw=randread --bs=64k --iodepth=8`
        )
      );
      const ev = await detected(d, 'iotracing', t0, 30_000);
      await kill(fio);
      await save(
        d,
        'iotracing-detector',
        'detector',
        `fio direct randwrite/randread in docker-like cgroup ${ioId.slice(0, 12)} on ext4 on ${lfs.device}; await detector`,
        ev
      );

      // --- iotracing, manual: writeback (before the window, and of a writer in the window), stalls
      const logs = path.join(lfs.mountPoint, 'logs');
      fs.mkdirSync(logs);
      execFileSync('dd', ['if=/dev/zero', `of=${path.join(logs, 'before.dat')}`, 'bs=1M', 'count=16'], {
        stdio: 'ignore',
      });
      const stall = run(
        inCgroups(
          [slow.procs],
          `dd if=/dev/zero of=${path.join(lfs.mountPoint, 'slow.dat')} bs=4k count=1000 oflag=direct`
        )
      );
      const id = await manual(d, { type: 'iotracing', durationMs: 4000 });
      await sleep(300);
      const writer = run(
        inCgroups(
          [ioCg.procs],
          `fio --thread --name=buf --filename=${path.join(logs, 'buffered.dat')} --rw=write --bs=1M --size=24M --direct=0 --end_fsync=0 --invalidate=0`
        )
      );
      await once(writer, 'exit');
      execFileSync('sync', ['-f', lfs.mountPoint]);
      const ev2 = await finished(d, id);
      await kill(stall);
      await save(
        d,
        'iotracing-writeback',
        'manual',
        `manual capture: writeback of pages dirtied before the window, buffered fio in ${ioId.slice(0, 12)} flushed by sync, dd throttled to 4 direct writes/s`,
        ev2
      );
    }

    if (ONLY.has('dload')) {
      // --- dload, detector: vfork waits in a container, a throttled direct writer in D on the host
      const dId = fakeContainerId(`dload-record-${process.pid}`);
      const dCg = cgroup(makeCgroup(CGROUP_V1_CPU, `/docker/${dId}`));
      await enable(d, 'dload'); // the container is listed and has a baseline
      const stall = run(
        inCgroups(
          [slow.procs],
          `dd if=/dev/zero of=${path.join(lfs.mountPoint, 'slow2.dat')} bs=4k count=1000 oflag=direct`
        )
      );
      const t0 = Date.now();
      const gen = run(inCgroups([dCg.procs], `${workload('dstate')} 12 25`));
      const ev = await detected(d, 'dload', t0, 20_000);
      await save(
        d,
        'dload-detector',
        'detector',
        `test/workloads/dstate 12 workers in docker-like cgroup ${dId.slice(0, 12)} (v1 cpu); dd throttled to 4 direct writes/s on the host; D-load detector`,
        ev
      );
      const id = await manual(d, { type: 'dload' });
      const ev2 = await finished(d, id);
      await save(
        d,
        'dload-host',
        'manual',
        'manual host-scope capture during the same stall (the container tasks are context, inScope false)',
        ev2
      );
      await kill(gen);
      await kill(stall);
    }

    if (ONLY.has('memburst')) {
      // --- memburst, detector: a container grows fast next to a steady holder
      const mId = fakeContainerId(`mem-record-${process.pid}`);
      const mCg = [
        cgroup(makeCgroup(CGROUP_V1_CPU, `/docker/${mId}`)),
        cgroup(makeCgroup('/sys/fs/cgroup/memory', `/docker/${mId}`)),
      ];
      await enable(d, 'memburst');
      const t0 = Date.now();
      const grower = memgrow(
        mCg.map((c) => c.procs),
        1536,
        400,
        30
      );
      run(grower.child);
      const ev = await detected(d, 'memburst', t0, 20_000);
      await save(
        d,
        'memburst-detector',
        'detector',
        `test/workloads/memgrow 1536 MiB at 400 MiB/s in docker-like cgroup ${mId.slice(0, 12)} (v1 cpu + memory), a steady 1 GiB holder (pid ${holder?.pid}) on the host; growth detector`,
        ev
      );
      await kill(grower.child);

      // --- memburst, manual: a host process growing during the capture
      const host = memgrow([], 768, 200, 30);
      run(host.child);
      const id = await manual(d, { type: 'memburst', durationMs: 3000 });
      const ev2 = await finished(d, id);
      await save(
        d,
        'memburst-manual',
        'manual',
        'manual capture right after the container grower was killed (exited, still the top grower of the growth window) while a host process grows 768 MiB at 200 MiB/s; the 1 GiB holder stays',
        ev2
      );
    }
  } finally {
    for (const c of cleanup.reverse()) {
      try {
        await c();
      } catch (e) {
        log(`cleanup: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    log(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  }
);
