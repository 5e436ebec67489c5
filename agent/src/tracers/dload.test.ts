// dload without the kernel: the detector on synthetic sweeps, the /proc sweep and cgroup-id resolution
// on a cgroup-v2-only fixture host (test/fixtures/dstate-v2), the iterator record parser, and a whole
// capture from the fixture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DloadDetector, DloadTracer, HOST_SCOPE } from './dload';
import { ProcSweep, emptyCounts, type StateCounts, type SweepSample } from './dload/sweep';
import { mergeSnapshots, type DTaskRow, type StackGroupRow } from './dload/capture';
import { CgroupIdResolver } from '../bpf/cgroupIds';
import { DSTATE_TASK_SIZE, offCpuSince, parseDTasks } from '../bpf/dstate';
import { ContainerIndex } from './containerIndex';
import { listContainers, type ListedCgroup } from '../containers';
import { defaultConfig, type DloadConfig } from '../config';
import { makeTestEnv } from '../../../test/helpers/tracerEnv';

/** The fixture in the source tree, also when this test runs compiled from build/. */
function fixtureDir(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const d = path.join(dir, 'test/fixtures/dstate-v2');
    if (fs.existsSync(path.join(d, 'ids.json'))) return d;
  }
  return path.join(process.cwd(), 'test/fixtures/dstate-v2');
}
const ROOT = path.join(fixtureDir(), 'host');
const IDS = JSON.parse(fs.readFileSync(path.join(fixtureDir(), 'ids.json'), 'utf8')) as {
  ctrA: string;
  dockerB: string;
  cgroups: Record<string, string>;
};

function cfg(o: Partial<DloadConfig> = {}): DloadConfig {
  return {
    ...defaultConfig().tracers.dload,
    interval: 1000,
    holdSamples: 2,
    dloadWindow: 5000,
    baselineWindow: 10_000,
    ...o,
  };
}

function counts(d: number, r = 1): StateCounts {
  return { ...emptyCounts(), threads: d + r + 5, running: r, uninterruptible: d, sleeping: 5 };
}

function listed(id: string): ListedCgroup {
  return {
    kind: 'container',
    ref: { id, name: null, runtime: 'docker', pod: null, namespace: null, qos: null, cgroup: `/docker/${id}` },
    podUid: null,
    paths: {},
    dirs: {},
  };
}

function sample(outsideD: number, containers: Record<string, number>): SweepSample {
  const s: SweepSample = { source: 'bpf', host: counts(outsideD), outside: counts(outsideD), containers: new Map() };
  for (const [id, d] of Object.entries(containers)) {
    s.containers.set(id, { listed: listed(id), counts: counts(d) });
    s.host.uninterruptible += d;
  }
  return s;
}

test('detector: a container stall fires after the hold; the host scope (outside containers) does not', () => {
  const d = new DloadDetector(cfg());
  for (let i = 0; i < 5; i++) {
    const r = d.update(sample(0, { c1: 0, c2: 0 }));
    assert.ok(r.scopes.every((s) => !s.reading.fired));
  }
  let fired: string[] = [];
  let at = -1;
  for (let i = 0; i < 10 && !fired.length; i++) {
    const r = d.update(sample(0, { c1: 12, c2: 0 }));
    fired = r.scopes.filter((s) => s.reading.fired).map((s) => s.scope);
    at = i;
    assert.ok(r.hostTotal.counts.uninterruptible === 12);
  }
  assert.deepEqual(fired, ['c1']);
  // 12 tasks, 5 s window at 1 s steps: above 5 from the third sample, held two
  assert.equal(at, 3);
  // once per excursion
  const again = d.update(sample(0, { c1: 12, c2: 0 }));
  assert.ok(!again.scopes.some((s) => s.reading.fired));
});

test('detector: tasks already blocked when a scope is first seen are its starting level, not a rise', () => {
  const d = new DloadDetector(cfg());
  for (let i = 0; i < 20; i++) {
    const r = d.update(sample(9, { c1: 8 }));
    assert.ok(!r.scopes.some((s) => s.reading.fired), `sample ${i}`);
    if (i === 0) assert.equal(r.scopes.find((s) => s.scope === 'c1')!.reading.value, 8);
  }
});

test('detector: the host scope fires for stalls outside containers; scopes that vanish are forgotten', () => {
  const d = new DloadDetector(cfg());
  for (let i = 0; i < 3; i++) d.update(sample(0, { c1: 0 }));
  let fired = false;
  for (let i = 0; i < 8 && !fired; i++)
    fired = d.update(sample(20, {})).scopes.some((s) => s.scope === HOST_SCOPE && s.reading.fired);
  assert.ok(fired);
  const r = d.update(sample(0, {}));
  assert.deepEqual(
    r.scopes.map((s) => s.scope),
    [HOST_SCOPE]
  );
  // a reconfigured window restarts the averages (seeded from the next sample)
  d.reconfigure(cfg({ dloadWindow: 60_000 }));
  assert.equal(d.update(sample(4, {})).scopes[0]!.reading.value, 4);
});

test('v2 fixture, /proc sweep: threads by state per container (sub-cgroups included) and outside containers', () => {
  const list = listContainers({ root: ROOT });
  assert.equal(list.length, 2);
  const sweep = new ProcSweep({ root: ROOT });
  const s = sweep.sample(list, 1000);
  assert.equal(s.source, 'proc');
  const a = s.containers.get(IDS.ctrA)!.counts;
  // dstate main (S), 3 workers (D), 3 children (S), nginx (R), sidecar in a sub-cgroup (D)
  assert.deepEqual(a, { threads: 9, running: 1, uninterruptible: 4, iowait: 0, sleeping: 4, stopped: 0 });
  const b = s.containers.get(IDS.dockerB)!.counts;
  assert.deepEqual(b, { threads: 3, running: 1, uninterruptible: 1, iowait: 0, sleeping: 1, stopped: 0 });
  // systemd (S), idle kworker (I: not load), jbd2 (D), bash (R); pid 500 exited mid-sweep
  assert.deepEqual(s.outside, { threads: 4, running: 1, uninterruptible: 1, iowait: 0, sleeping: 2, stopped: 0 });
  assert.equal(s.host.uninterruptible, 6);
  assert.equal(s.host.threads, 16);

  const tasks = sweep.blockedTasks(list, 4000);
  const byTid = new Map(tasks.map((t) => [t.tid, t]));
  assert.deepEqual(
    [...byTid.keys()].sort((x, y) => x - y),
    [60, 201, 202, 203, 230, 301]
  );
  const w = byTid.get(201)!;
  assert.equal(w.listed?.ref.id, IDS.ctrA);
  assert.deepEqual(w.stack, ['entry_SYSCALL_64_after_hwframe', 'do_syscall_64', '__do_sys_vfork', 'kernel_clone']);
  assert.equal(w.wchan, 'kernel_clone');
  assert.equal(w.blockedMs, 3000, 'observed since the first sweep that saw it in D');
  assert.equal(w.blockedSource, 'observed');
  assert.equal(byTid.get(230)!.listed?.ref.id, IDS.ctrA, 'a sub-cgroup belongs to its container');
  assert.equal(byTid.get(301)!.comm, 'walwriter');
  assert.equal(byTid.get(301)!.listed?.ref.id, IDS.dockerB);
  assert.equal(byTid.get(60)!.listed, null);
  assert.equal(byTid.get(60)!.kthread, true);
});

test('v2 fixture, BPF path: cgroup ids (directory inodes) resolve to containers, sub-cgroups included, v1 and unified apart', () => {
  const list = listContainers({ root: ROOT });
  const r = new CgroupIdResolver('cpu');
  r.update(list, 0);
  const ino = (rel: string) => fs.statSync(path.join(ROOT, 'sys/fs/cgroup', rel), { bigint: true }).ino;
  const a = ino(IDS.cgroups.a!);
  // on a v2 host the cpu controller is on the unified hierarchy: both ids are unified ids
  assert.equal(r.resolve(a, a)?.ref.id, IDS.ctrA);
  assert.equal(r.resolve(0n, ino(IDS.cgroups.aSub!))?.ref.id, IDS.ctrA);
  assert.equal(r.resolve(0n, ino(IDS.cgroups.b!))?.ref.id, IDS.dockerB);
  assert.equal(r.resolve(ino(IDS.cgroups.host!), ino(IDS.cgroups.host!)), null);
  // a v1 id is only looked up among v1 directories (none on this host)
  assert.equal(r.resolve(a, 1n), null);
  assert.equal(r.size, 3);
});

test('iterator records: parsing and the blocked-since clocks', () => {
  const buf = Buffer.alloc(DSTATE_TASK_SIZE * 2);
  const rec = buf.subarray(0, DSTATE_TASK_SIZE);
  rec.writeUInt32LE(4242, 0);
  rec.writeUInt32LE(4243, 4);
  rec.writeBigUInt64LE(11n, 8);
  rec.writeBigUInt64LE(22n, 16);
  rec.writeUInt32LE(0x2102, 24); // TASK_UNINTERRUPTIBLE | TASK_WAKEKILL | TASK_FREEZABLE (vfork's TASK_KILLABLE)
  rec.writeUInt32LE(0x00200000, 28);
  const now = 10_000_000_000n;
  rec.writeBigUInt64LE(now, 32);
  rec.writeBigUInt64LE(6_000_000_000n, 40); // exec_start (clock_task)
  rec.writeBigUInt64LE(5_900_000_000n, 48); // last_arrival (clock)
  rec.writeBigUInt64LE(9_500_000_000n, 56); // task rq clock
  rec.writeBigUInt64LE(9_200_000_000n, 64); // task rq clock_task: 300 ms of steal/irq
  rec.writeBigUInt64LE(9_800_000_000n, 72); // this rq clock: CLOCK_MONOTONIC is 200 ms ahead
  rec.writeBigUInt64LE(123n, 80);
  rec.writeUInt32LE(1, 88);
  rec.writeUInt32LE(1, 92);
  rec.writeInt32LE(16, 96);
  rec.write('jbd2/sda1-8', 100);
  rec.writeBigUInt64LE(0xffffffff81000010n, 120);
  rec.writeBigUInt64LE(0xffffffff81000020n, 128);
  const [t, second] = parseDTasks(buf);
  assert.equal(t!.tgid, 4242);
  assert.equal(t!.tid, 4243);
  assert.equal(t!.comm, 'jbd2/sda1-8');
  assert.equal(t!.kthread, true);
  assert.equal(t!.iowait, true);
  assert.deepEqual(t!.kstack, [0xffffffff81000010n, 0xffffffff81000020n]);
  // since = exec_start + (clock − clock_task) + (now − this clock) = 6.0 + 0.3 + 0.2 s → blocked 3.5 s
  assert.equal(t!.blockedNs, 3_500_000_000);
  assert.equal(t!.blockedSource, 'exec_start');
  assert.equal(second!.tid, 0, 'an all-zero record parses (and is skipped by no one: the iterator never writes one)');
  // without the CFS runqueue clocks: last_arrival
  assert.deepEqual(
    offCpuSince({
      nowNs: now,
      execStart: 1n,
      lastArrival: 5_900_000_000n,
      taskRqClock: 0n,
      taskRqClockTask: 0n,
      thisRqClock: 9_800_000_000n,
    }),
    { since: 6_100_000_000n, source: 'last_arrival' }
  );
  assert.equal(
    offCpuSince({ nowNs: now, execStart: 1n, lastArrival: 1n, taskRqClock: 1n, taskRqClockTask: 1n, thisRqClock: 0n }),
    null
  );
  // a task that blocked "after" now on a fresher CPU clock is clamped to 0 ms
  assert.equal(
    offCpuSince({
      nowNs: 100n,
      execStart: 99n,
      lastArrival: 0n,
      taskRqClock: 200n,
      taskRqClockTask: 200n,
      thisRqClock: 50n,
    })!.since,
    100n
  );
});

test('snapshots at the trigger and at the end merge by task identity', () => {
  const t = (key: string, blockedMs: number, stack: string[] = ['a']) => ({
    pid: 1,
    tid: 1,
    comm: 'x',
    kthread: false,
    iowait: null,
    listed: null,
    blockedMs,
    blockedSource: null,
    stack,
    wchan: 'a',
    key,
  });
  const m = mergeSnapshots([t('1@5', 100), t('2@5', 50)], [t('1@5', 3100, []), t('3@9', 10)]);
  assert.deepEqual(
    m.map((x) => [x.task.key, x.seen, x.task.blockedMs, x.task.stack]),
    [
      ['1@5', 'both', 3100, ['a']],
      ['2@5', 'start', 50, ['a']],
      ['3@9', 'end', 10, ['a']],
    ]
  );
});

test('v2 fixture: a whole capture from the /proc sweep names the container, groups its stacks, labels the known issue', async () => {
  const base = makeTestEnv();
  const env = { ...base, containers: new ContainerIndex({ root: ROOT }) };
  const tracer = new DloadTracer({ ...cfg(), enabled: false }, env, {
    sweep: new ProcSweep({ root: ROOT }),
    procRoot: ROOT,
  });
  try {
    const { id, done } = tracer.manual({ container: IDS.ctrA.slice(0, 12), durationMs: 200 });
    await done;
    const ev = base.store.getEvent(id)!;
    // no off-CPU flame graph without BPF: the event says so
    assert.equal(ev.status, 'partial');
    assert.match(ev.error ?? '', /no off-CPU flame graph/);
    assert.equal(ev.container?.id, IDS.ctrA);
    const data = ev.data as {
      source: string;
      knownIssue: string;
      tasks: DTaskRow[];
      stackGroups: StackGroupRow[];
      tasksInScope: number;
    };
    assert.equal(data.source, 'proc');
    assert.equal(data.knownIssue, 'vfork-wait');
    assert.equal(data.tasksInScope, 4);
    const mine = data.tasks.filter((t) => t.inScope);
    assert.deepEqual(mine.map((t) => t.tid).sort(), [201, 202, 203, 230]);
    assert.equal(mine.find((t) => t.tid === 201)!.command, '/app/dstate 3 60');
    assert.equal(mine.find((t) => t.tid === 230)!.knownIssue, 'mmap-lock');
    const others = data.tasks.filter((t) => !t.inScope);
    assert.deepEqual(others.map((t) => t.tid).sort(), [301, 60]);
    assert.equal(others.find((t) => t.tid === 301)!.knownIssue, 'page-writeback');
    assert.equal(
      others.find((t) => t.tid === 60)!.knownIssue,
      null,
      'the journal thread committing is not on the list'
    );
    const g1 = data.stackGroups[0]!;
    assert.equal(g1.count, 3);
    assert.equal(g1.inScopeCount, 3);
    assert.equal(g1.wchan, 'kernel_clone');
    assert.deepEqual(g1.pids.sort(), [201, 202, 203]);
    assert.deepEqual(
      data.stackGroups.map((g) => g.count),
      [3, 1, 1, 1]
    );
    for (const t of data.tasks)
      assert.equal(t.group, data.stackGroups.find((g) => g.stack.join(';') === t.stack.join(';'))!.group);
    assert.match(
      ev.summary,
      /^manual dload capture of a1a1a1a1a1a1: 4 tasks in D, top stack kernel_clone ×3 of 2 stacks, known issue vfork-wait$/
    );
  } finally {
    await base.close();
  }
});
