// iotracing end to end against the live kernel: filesystems on loop devices (on tmpfs) mounted at
// known paths, fio and dd in test cgroups named like containers, real BPF captures in a real store.
// A capture whose programs cannot load ends `failed` and these tests fail with its error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { IotracingTracer } from './iotracing';
import { makeTestEnv, type TestEnv } from '../../../test/helpers/tracerEnv';
import { makeCgroup, fakeContainerId, CGROUP_UNIFIED } from '../../../test/helpers/workloads';
import { makeLoopFs, fsAvailable, throttledCgroup } from '../../../test/helpers/loopdev';
import type { IotracingConfig } from '../config';
import type { IoDeviceRow, IoFileRow, IoHistogramRow, IoProcessRow, IoStallRow } from './iotracing/report';
import type { AutotracingEvent } from '../events/event';

interface IoData {
  device: string | null;
  snapshot: {
    device: string;
    major: number;
    minor: number;
    rule: string;
    reason: string;
    values: Record<string, number>;
  } | null;
  window: { durationMs: number; kernel: Record<string, number>; missing: string[] };
  devices: IoDeviceRow[];
  histograms: IoHistogramRow[];
  processes: IoProcessRow[];
  containers: { container: { id: string } | null; diskWriteBps: number; diskReadBps: number }[];
  stalls: IoStallRow[];
  stallCount: number;
}

/** Start `cmd` inside the given cgroup.procs files (the shell moves itself, then execs: same pid). */
function inCgroup(procs: string[], cmd: string): ChildProcess {
  const moves = procs.map((p) => `echo $$ > ${p}`).join('; ');
  return spawn('sh', ['-c', `${moves}${moves ? '; ' : ''}exec ${cmd}`], { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function stop(c: ChildProcess | null): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  c.kill('SIGKILL');
  await once(c, 'exit');
}

function ioConfig(env: TestEnv, over: Partial<IotracingConfig>): IotracingConfig {
  return {
    ...env.config.tracers.iotracing,
    interval: 500,
    holdSamples: 2,
    baselineWindow: 10_000,
    cooldown: 60_000,
    ...over,
  };
}

function dump(ev: AutotracingEvent | null): string {
  return ev ? JSON.stringify({ status: ev.status, error: ev.error, summary: ev.summary }) : 'no event';
}

/** On a failed assertion, print the evidence it was made on (test output only). */
function explain(d: IoData): void {
  const short = {
    processes: d.processes.map((p) => ({
      pid: p.pid,
      comm: p.comm,
      owner: p.owner,
      container: p.container?.id.slice(0, 12) ?? null,
      wb: p.writeback,
      files: p.files.map((f) => [
        f.path,
        f.chargedVia,
        f.direct,
        f.writeBps,
        f.diskWriteBps,
        f.diskReadBps,
        f.submittedBy,
      ]),
    })),
    stalls: d.stalls.map((x) => [x.pid, x.comm, x.waitMs, x.stack.slice(0, 8)]),
    devices: d.devices.map((x) => [
      x.device,
      x.diskstats,
      x.traced.write.ios,
      x.traced.write.q2cAvgUs,
      x.traced.read.ios,
      x.traced.read.q2cAvgUs,
    ]),
    window: d.window,
  };
  console.log(`# evidence: ${JSON.stringify(short)}`);
}

/** |a − b| within `rel` of b, or within `abs` (for small values). */
function near(a: number, b: number, rel: number, abs: number): boolean {
  return Math.abs(a - b) <= Math.max(rel * Math.abs(b), abs);
}

test('ext4, direct IO from a container: the latency spike names the device, the process, its container and the absolute paths; latencies agree with /proc/diskstats', async () => {
  const env = makeTestEnv();
  const lfs = await makeLoopFs({ fsType: 'ext4' });
  const cid = fakeContainerId(`iot-direct-${process.pid}`);
  const cg = makeCgroup(CGROUP_UNIFIED, `/system.slice/docker-${cid}.scope`);
  const dataDir = path.join(lfs.mountPoint, 'data');
  const writeFile = path.join(dataDir, 'write.dat');
  const readFile = path.join(dataDir, 'read.dat');
  // a low latency threshold: 1 ms await (1 MiB direct writes queue up to a few ms on a loop device);
  // only the test's device is watched, so other users' disks cannot fire first
  const cfg = ioConfig(env, {
    duration: 3000,
    awaitThreshold: 1,
    awaitDeltaThreshold: 0,
    utilThreshold: 100,
    includeDevices: [lfs.device],
  });
  const tracer = new IotracingTracer(cfg, env);
  let fio: ChildProcess | null = null;
  try {
    fs.mkdirSync(dataDir);
    execFileSync('dd', ['if=/dev/zero', `of=${readFile}`, 'bs=1M', 'count=32', 'oflag=direct'], { stdio: 'ignore' });
    execFileSync('dd', ['if=/dev/zero', `of=${writeFile}`, 'bs=1M', 'count=64', 'oflag=direct'], { stdio: 'ignore' });
    tracer.start();
    await sleep(2500); // baseline
    assert.equal(env.completed().length, 0, 'no event while quiet');
    const t0 = Date.now();
    fio = inCgroup(
      [cg.procs],
      `fio --thread --ioengine=libaio --direct=1 --time_based --runtime=20 --name=w --filename=${writeFile} --size=64M --rw=randwrite --bs=1M --iodepth=16 --name=r --filename=${readFile} --size=32M --rw=randread --bs=64k --iodepth=8`
    );
    const ev = await env.waitFor((e) => e.type === 'iotracing', 25_000);
    assert.ok(ev, 'iotracing fired');
    assert.equal(ev.status, 'complete', dump(ev));
    assert.ok(ev.time - t0 < 10_000, `trigger ${ev.time - t0} ms after fio started`);
    assert.match(ev.trigger.metric, /^(read|write)_await_ms$/);
    assert.ok(ev.trigger.value > 1, JSON.stringify(ev.trigger));
    const d = ev.data as unknown as IoData;
    try {
      // the trigger snapshot names the device
      assert.equal(d.device, lfs.device);
      assert.equal(d.snapshot?.device, lfs.device);
      assert.equal(d.snapshot?.major, lfs.major);
      assert.equal(d.snapshot?.minor, lfs.minor);
      assert.match(d.snapshot!.reason, new RegExp(`^${lfs.device} \\(${lfs.major}:${lfs.minor}\\) (read|write) await`));
      assert.deepEqual(d.window.missing, []);

      // the process, its container, its files with absolute paths
      const p = d.processes.find((x) => x.pid === fio!.pid);
      assert.ok(p, `fio[${fio.pid}] among ${JSON.stringify(d.processes.map((x) => [x.pid, x.comm]))}`);
      assert.equal(p.comm, 'fio');
      assert.match(p.command ?? '', /^fio --thread/);
      assert.equal(p.container?.id, cid);
      assert.equal(p.container?.runtime, 'docker');
      assert.equal(d.processes[0]!.pid, fio.pid, 'the top process');
      const byPath = new Map(p.files.map((f) => [f.path, f]));
      const w: IoFileRow | undefined = byPath.get(writeFile);
      const r: IoFileRow | undefined = byPath.get(readFile);
      assert.ok(w && r, `files ${JSON.stringify(p.files.map((f) => f.path))}`);
      assert.deepEqual(
        [w.direct, w.kind, w.device, w.devNo, w.inode, w.pathSource],
        [true, 'file', lfs.device, `${lfs.major}:${lfs.minor}`, Number(fs.statSync(writeFile).ino), 'mountinfo']
      );
      assert.ok(
        w.diskWriteBps > 10 * 2 ** 20 && w.writeBps === w.diskWriteBps,
        'direct writes count as filesystem and disk bytes'
      );
      assert.ok(r.direct && r.diskReadBps > 0 && r.diskWriteBps === 0);
      assert.ok(w.q2cUs! > 0 && w.d2cUs! > 0 && w.maxQ2cUs! >= w.q2cUs!);
      const mine = d.containers.find((c) => c.container?.id === cid);
      assert.ok(mine && mine.diskWriteBps >= w.diskWriteBps);

      // the kernel's view of the device agrees with /proc/diskstats over the same window
      const dev = d.devices.find((x) => x.device === lfs.device)!;
      assert.ok(dev.diskstats, 'diskstats for the window');
      for (const op of ['write', 'read'] as const) {
        const t = dev.traced[op];
        const ds =
          op === 'write'
            ? { iops: dev.diskstats.writeIops, awaitMs: dev.diskstats.writeAwaitMs }
            : { iops: dev.diskstats.readIops, awaitMs: dev.diskstats.readAwaitMs };
        if (op === 'read' && t.ios < 50) continue; // reads may have been starved by the writes
        // same requests: counts within 10 % (the programs are attached a little before and after the
        // two diskstats reads); average q2c within 15 % or 0.2 ms of the kernel's own await
        assert.ok(near(t.iops, ds.iops, 0.1, 5), `${op} IOPS traced ${t.iops} vs diskstats ${ds.iops}`);
        assert.ok(
          near(t.q2cAvgUs! / 1000, ds.awaitMs, 0.15, 0.2),
          `${op} q2c ${t.q2cAvgUs} µs vs diskstats await ${ds.awaitMs} ms`
        );
        assert.ok(t.d2cAvgUs! <= t.q2cAvgUs! + 1);
        const h = d.histograms.find((x) => x.device === lfs.device && x.op === op)!;
        assert.equal(
          h.q2c.reduce((a, b) => a + b.count, 0),
          t.ios
        );
        assert.equal(h.buckets, 'log2');
      }
      assert.ok(d.window.kernel.directMatched > 0 && d.window.kernel.attributed > 0);
      assert.match(ev.summary, new RegExp(`top fio\\[${fio.pid}\\] in ${cid.slice(0, 12)}`));
    } catch (e) {
      explain(d);
      throw e;
    }
  } finally {
    tracer.stop();
    await stop(fio);
    await env.close();
    await cg.remove();
    await lfs.cleanup();
  }
});

test('writeback on xfs: buffered writes flushed by the flusher are charged to the writer; pages dirtied before the window are labelled; io_schedule stalls come with kernel stacks', async () => {
  const fsType = fsAvailable('xfs') ? 'xfs' : 'ext4';
  if (fsType !== 'xfs')
    console.log('# mkfs.xfs not installed: running the writeback test on ext4 (apt-get install xfsprogs)');
  const env = makeTestEnv();
  const lfs = await makeLoopFs({ fsType });
  const cid = fakeContainerId(`iot-wb-${process.pid}`);
  const cg = makeCgroup(CGROUP_UNIFIED, `/system.slice/docker-${cid}.scope`);
  const slow = throttledCgroup(`autotracing-iot-throttle-${process.pid}`, lfs.major, lfs.minor, 4);
  const logs = path.join(lfs.mountPoint, 'logs');
  const before = path.join(logs, 'before.dat');
  const buffered = path.join(logs, 'buffered.dat');
  const slowFile = path.join(lfs.mountPoint, 'slow.dat');
  const tracer = new IotracingTracer(ioConfig(env, { enabled: false, stallThreshold: 100 }), env);
  let writer: ChildProcess | null = null;
  let stall: ChildProcess | null = null;
  try {
    fs.mkdirSync(logs);
    // dirtied before the capture starts, still in the page cache when it runs
    execFileSync('dd', ['if=/dev/zero', `of=${before}`, 'bs=1M', 'count=16'], { stdio: 'ignore' });
    // 4 writes a second allowed: every direct 4 KiB write waits ~250 ms in io_schedule
    stall = inCgroup([slow.procs], `dd if=/dev/zero of=${slowFile} bs=4k count=1000 oflag=direct`);
    const { id, done } = tracer.manual({ durationMs: 6000 });
    await sleep(300);
    writer = inCgroup(
      [cg.procs],
      `fio --thread --name=buf --filename=${buffered} --rw=write --bs=1M --size=24M --direct=0 --end_fsync=0 --invalidate=0`
    );
    const writerPid = writer.pid!;
    const [code] = (await once(writer, 'exit')) as [number | null];
    assert.equal(code, 0, 'fio wrote its file');
    // the flusher writes both files back while we watch
    execFileSync('sync', ['-f', lfs.mountPoint]);
    const flushedAt = Date.now();
    await done;
    const ev = env.store.getEvent(id)!;
    assert.equal(ev.status, 'complete', dump(ev));
    assert.ok(
      flushedAt < ev.timeEnd,
      `the flush ended ${flushedAt - ev.timeEnd} ms after the window (machine too busy?)`
    );
    const d = ev.data as unknown as IoData;
    try {
      assert.equal(d.device, null, 'manual capture');

      // the writer: its dirtied pages (filesystem level) and the writeback done for it
      const w = d.processes.find((p) => p.pid === writerPid);
      assert.ok(
        w,
        `writer fio[${writerPid}] among ${JSON.stringify(d.processes.map((p) => [p.pid, p.comm, p.owner]))}`
      );
      assert.equal(w.comm, 'fio');
      assert.equal(w.container?.id, cid, 'container from the recorded cgroup id (the writer has exited)');
      assert.equal(w.writeback, true);
      const f = w.files.find((x) => x.path === buffered);
      assert.ok(f, `files ${JSON.stringify(w.files.map((x) => x.path))}`);
      const sec = d.window.durationMs / 1000;
      const MiB = 2 ** 20;
      assert.equal(f.writeback, true);
      assert.equal(f.direct, false);
      assert.equal(f.chargedVia, 'dirtier');
      assert.ok(near(f.writeBps * sec, 24 * MiB, 0.2, 0), `dirtied ${(f.writeBps * sec) / MiB} MiB`);
      assert.ok(near(f.diskWriteBps * sec, 24 * MiB, 0.25, 0), `written back ${(f.diskWriteBps * sec) / MiB} MiB`);
      assert.ok(
        f.submittedBy.length > 0 && f.submittedBy.every((s) => s.pid !== writerPid),
        JSON.stringify(f.submittedBy)
      );
      assert.ok(
        f.submittedBy.some((s) => /^kworker/.test(s.comm)),
        `flushed by ${JSON.stringify(f.submittedBy)}`
      );

      // pages dirtied before the window: labelled writeback, charged to the flusher, inode and path kept
      const unknown = d.processes.filter((p) => p.owner === 'unknown');
      const pre = unknown.flatMap((p) => p.files.map((x) => ({ p, x }))).find(({ x }) => x.path === before);
      assert.ok(pre, `before.dat among ${JSON.stringify(unknown.map((p) => [p.comm, p.files.map((x) => x.path)]))}`);
      assert.equal(pre.p.writeback, true);
      assert.match(pre.p.label ?? '', /dirtied before the capture window/);
      assert.match(pre.p.comm, /^kworker/);
      assert.equal(pre.x.chargedVia, 'flusher');
      assert.equal(pre.x.inode, Number(fs.statSync(before).ino));
      assert.ok(near(pre.x.diskWriteBps * sec, 16 * MiB, 0.25, 0));

      // the throttled direct writer waits in io_schedule: its stalls, with kernel stacks
      const s = d.stalls.filter((x) => x.pid === stall!.pid);
      assert.ok(
        s.length > 0,
        `stalls of dd[${stall.pid}]: ${JSON.stringify(d.stalls.map((x) => [x.pid, x.comm, x.waitMs]))}`
      );
      assert.ok(s.every((x) => x.waitMs >= 100 && x.comm === 'dd'));
      // (a sleeping task's stack starts below the scheduler functions — io_schedule, schedule — as in
      // /proc/PID/stack: here, in the direct-IO wait of the write(2))
      const st = s[0]!.stack;
      assert.match(st[0] ?? '', /iomap_dio_rw/, JSON.stringify(st));
      assert.ok(st.includes(`${fsType}_file_write_iter`) && st.includes('vfs_write'), JSON.stringify(st));
      assert.ok(d.stallCount >= s.length);
    } catch (e) {
      explain(d);
      throw e;
    }
  } finally {
    await stop(writer);
    await stop(stall);
    await env.close();
    await cg.remove();
    await slow.remove();
    await lfs.cleanup();
  }
});

test('quiet: no event over 30 s with background IO below the thresholds (default thresholds)', async () => {
  const env = makeTestEnv();
  const lfs = await makeLoopFs({ fsType: 'ext4' });
  // defaults, except: sampled twice a second, and only the test's device is watched (other users of
  // this machine's disks are not ours to judge)
  const tracer = new IotracingTracer(ioConfig(env, { includeDevices: [lfs.device] }), env);
  let bg: ChildProcess | null = null;
  try {
    execFileSync(
      'dd',
      ['if=/dev/zero', `of=${path.join(lfs.mountPoint, 'bg.dat')}`, 'bs=1M', 'count=16', 'oflag=direct'],
      { stdio: 'ignore' }
    );
    tracer.start();
    bg = inCgroup(
      [],
      `fio --name=bg --filename=${path.join(lfs.mountPoint, 'bg.dat')} --size=16M --rw=randrw --bs=4k --direct=1 --ioengine=psync --rate_iops=100 --time_based --runtime=40`
    );
    await sleep(30_000);
    assert.equal(bg.exitCode, null, 'the background IO ran the whole time');
    assert.deepEqual(
      env.completed().map((e) => e.summary),
      []
    );
    const util = tracer.state().detector.find((r) => r.scope === lfs.device && r.metric === 'util_percent');
    assert.ok(util, 'the detector watched the device');
    assert.ok(util.value < 90);
    const busy = tracer.state().detector.find((r) => r.scope === lfs.device && r.metric === 'write_await_ms');
    assert.ok(busy && busy.value < 100);
  } finally {
    tracer.stop();
    await stop(bg);
    await env.close();
    await lfs.cleanup();
  }
});
