// The kernel-matrix suite, run inside a guest booted on another kernel (matrix.kmatrix.test.ts boots it):
// the built agent unchanged, on a pure cgroup v2 host with kprobes and fentry. doctor first, then one
// real capture per tracer under its provoked anomaly, through a real daemon and its HTTP API, with
// cgroups named like the four container layouts users run (docker and kubepods, cgroupfs and systemd
// drivers). What is asserted is what the 6.18 suites assert about the evidence (culprit process and
// container, stacks, absolute paths, histograms, growers); thresholds and rates that only hold at native
// speed stay in those suites: this machine emulates the guest (TCG), ~7–10× slower.
//
// Not a *.test.ts on purpose: it only makes sense inside a guest (it changes the cgroup tree and
// mounts loop devices), so the host's test phases never pick it up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AutotracingEvent } from '../../agent/src/events/event';
import type { InfoResponse } from '../../agent/src/api/schemas';
import type { GrowerRow } from '../../agent/src/tracers/memburst/capture';
import type { DTaskRow } from '../../agent/src/tracers/dload/capture';
import type { IoHistogramRow, IoProcessRow } from '../../agent/src/tracers/iotracing/report';
import { startDaemon, tempDir, writeConfig, CLI, type Daemon } from '../helpers/daemon';
import { makeCgroup, fakeContainerId, spinner, workload, type TestCgroup } from '../helpers/workloads';
import { makeLoopFs, type LoopFs } from '../helpers/loopdev';
import { KMATRIX_MARK } from './marks';

const V2 = '/sys/fs/cgroup';
const HZ = 99;

/** A result line the host side collects for the closing figures (doctor lines, sample rates). */
function report(key: string, value: unknown): void {
  console.log(`${KMATRIX_MARK} ${JSON.stringify({ key, value })}`);
}

// the four layouts, on the unified hierarchy (what a pure-v2 host has)
const podUid = '7c1e2d4c-3a6a-4978-8a1b-2c3d4e5f6a7d';
const cid = (l: string) => fakeContainerId(`kmx-${l}`);
const LAYOUTS = {
  dockerSystemd: {
    runtime: 'docker',
    id: cid('docker-systemd'),
    rel: `/system.slice/docker-${cid('docker-systemd')}.scope`,
  },
  dockerCgroupfs: { runtime: 'docker', id: cid('docker-cgroupfs'), rel: `/docker/${cid('docker-cgroupfs')}` },
  kubeSystemd: {
    runtime: 'containerd',
    id: cid('kube-systemd'),
    rel: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUid.replace(/-/g, '_')}.slice/cri-containerd-${cid('kube-systemd')}.scope`,
  },
  kubeCgroupfs: {
    runtime: 'containerd',
    id: cid('kube-cgroupfs'),
    rel: `/kubepods/besteffort/pod${podUid}/${cid('kube-cgroupfs')}`,
  },
} as const;

// cpuidle and dload detect (their scopes are cgroup v2 directories here, which is what this suite is
// for); cpusys, memburst and iotracing are captured on request: their triggers are rates and latencies
// the emulated guest cannot reach reliably, and the 6.18 suites prove those.
// (their detectors run, reading this kernel's /proc and cgroups, with thresholds they cannot pass)
const CONFIG = `tracers:
  cpusys: { sysThreshold: 100 }
  memburst:
    { anonGrowthRate: 0, anonGrowthRatio: 0, psiSomeThreshold: 0, psiFullThreshold: 0, directReclaimThreshold: 0, allocStallThreshold: 0 }
  iotracing: { utilThreshold: 100, awaitThreshold: 1h }
  cpuidle:
    interval: 500ms
    holdSamples: 2
    baselineWindow: 10s
    duration: 3s
    cooldown: 1h
    userThreshold: 40
    userDeltaThreshold: 25
    sysThreshold: 40
    sysDeltaThreshold: 25
    totalThreshold: 40
    totalDeltaThreshold: 25
  dload:
    interval: 500ms
    holdSamples: 2
    dloadWindow: 5s
    baselineWindow: 10s
    duration: 3s
    cooldown: 1h
`;

let daemon: Daemon;
const cgroups: TestCgroup[] = [];
const children: { c: ChildProcess; group: boolean }[] = [];

/** Start `cmd` with its shell moved into the cgroup first (then exec: same pid, children follow). */
function inCgroup(procs: string | null, cmd: string, opts: { detached?: boolean } = {}): ChildProcess {
  const move = procs ? `echo $$ > ${procs}; ` : '';
  const c = spawn('sh', ['-c', `${move}exec ${cmd}`], { stdio: 'ignore', cwd: '/tmp', detached: opts.detached });
  children.push({ c, group: opts.detached === true });
  return c;
}

async function kill(c: ChildProcess | null, group = false): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  try {
    if (group) process.kill(-c.pid!, 'SIGKILL');
    else c.kill('SIGKILL');
  } catch {
    /* gone */
  }
  await once(c, 'exit');
}

function layoutCgroup(l: (typeof LAYOUTS)[keyof typeof LAYOUTS]): TestCgroup {
  const cg = makeCgroup(V2, l.rel);
  cgroups.push(cg);
  return cg;
}

/** The first completed event of a type whose time is after `since`. */
async function triggered(type: string, since: number, timeoutMs: number): Promise<AutotracingEvent> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const list = await daemon.json<{ events: AutotracingEvent[] }>(`/api/v1/events?type=${type}&from=${since}`);
    const e = list.events.find((x) => x.time >= since);
    if (e) return daemon.finished(e.id);
    if (Date.now() > end) {
      const tracers = await daemon.json<{ tracers: unknown[] }>('/api/v1/tracers');
      throw new Error(`no ${type} event within ${timeoutMs} ms; tracers: ${JSON.stringify(tracers).slice(0, 2000)}`);
    }
    await sleep(250);
  }
}

/** folded stacks of an event's profile: [frames, value] */
async function folded(id: string, profile?: string): Promise<[string[], number][]> {
  const q = profile ? `&profile=${profile}` : '';
  const r = await daemon.api(`/api/v1/events/${id}/flamegraph?format=folded${q}`);
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.text())
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const i = l.lastIndexOf(' ');
      return [l.slice(0, i).split(';'), Number(l.slice(i + 1))];
    });
}

before(async () => {
  // the guest mounts cgroup2 alone; the controllers tests need are enabled for the subtree
  const controllers = fs.readFileSync(`${V2}/cgroup.controllers`, 'utf8').trim().split(/\s+/);
  for (const c of ['cpu', 'memory', 'io'])
    if (controllers.includes(c)) fs.writeFileSync(`${V2}/cgroup.subtree_control`, `+${c}`);
  spawnSync('modprobe', ['loop'], { stdio: 'ignore' });
  const dir = tempDir('kmx-daemon-');
  writeConfig(dir, CONFIG);
  daemon = await startDaemon(dir, undefined, { startTimeoutMs: 120_000 });
});

after(async () => {
  for (const { c, group } of children) await kill(c, group);
  daemon?.signal('SIGTERM');
  await daemon?.waitExit(60_000).catch(() => null);
  for (const c of cgroups.reverse()) await c.remove();
});

test('doctor: exit 0, every tracer full, kernel symbols readable, no load failure', () => {
  const r = spawnSync(process.execPath, [CLI(), 'doctor'], { encoding: 'utf8', timeout: 180_000 });
  const out = r.stdout + r.stderr;
  report('doctor', out.trim().split('\n'));
  assert.equal(r.status, 0, out);
  for (const t of ['cpusys', 'cpuidle', 'dload', 'memburst', 'iotracing'])
    assert.match(out, new RegExp(`^\\s+full\\s+${t}$`, 'm'), `${t} is full on this kernel:\n${out}`);
  assert.match(out, /^\s+ok\s+kernel symbols\s+\/proc\/kallsyms has addresses/m, out);
  assert.match(out, /^\s+ok\s+cgroups\s+v2/m, 'a pure cgroup v2 host');
  assert.doesNotMatch(out, /^\s+(no|FAIL)\s+load /m, out);
});

test('/api/v1/info: every tracer full, capabilities probed on this kernel', async () => {
  const info = await daemon.json<InfoResponse>('/api/v1/info');
  report('kernel', info.kernel);
  for (const t of info.tracers) assert.deepEqual(t.support, { mode: 'full', missing: [] }, t.type);
  const metrics = await (await daemon.api('/metrics')).text();
  assert.match(metrics, /^autotracing_tracer_support\{type="iotracing",mode="full"[^}]*\} 1$/m);
});

test('cpusys: the sys-heavy process and its syscall path in named kernel frames; samples = CPU time × Hz', async () => {
  const stress = inCgroup(null, 'stress-ng --open 1 --quiet --temp-path /tmp');
  const spin = spinner(60);
  try {
    await sleep(1500);
    const id = await daemon.capture({ type: 'cpusys', durationMs: 4000 });
    const ev = await daemon.finished(id);
    assert.equal(ev.status, 'complete', ev.error ?? '');
    const data = ev.data as {
      profile: { durationMs: number; lostSamples: number };
      topProcesses: { pid: number; comm: string; userPct: number; sysPct: number }[];
      topKernelFunctions: { name: string }[];
    };
    const top = data.topProcesses.find((p) => p.sysPct > 0);
    assert.match(top?.comm ?? '', /^stress-ng/, JSON.stringify(data.topProcesses.slice(0, 3)));
    assert.ok(data.topKernelFunctions.length > 0);
    for (const f of data.topKernelFunctions) assert.doesNotMatch(f.name, /^0x[0-9a-f]+$/, 'kernel frames are named');

    const stacks = await folded(id);
    const openPath = stacks
      .filter(
        ([f]) => f[0]!.startsWith('stress-ng') && f.some((n) => /do_sys_openat2|do_sys_open\b|__x64_sys_open/.test(n))
      )
      .reduce((a, [, v]) => a + v, 0);
    const stressSamples = stacks.filter(([f]) => f[0]!.startsWith('stress-ng')).reduce((a, [, v]) => a + v, 0);
    // the 6.18 suite's bar: open() is at least 30 % of it (close and the user loop share the rest)
    assert.ok(openPath > 0.3 * stressSamples, `open() kernel path ${openPath} of stress-ng's ${stressSamples} samples`);

    // the spinner's whole user stack, and as many samples as its CPU time × the frequency
    const spinStacks = stacks.filter(([f]) => f[0] === 'spinner');
    const leaf = spinStacks.filter(([f]) => f.includes('main') && f.at(-1) === 'autotracing_spin_leaf');
    const spinSamples = spinStacks.reduce((a, [, v]) => a + v, 0);
    assert.ok(leaf.reduce((a, [, v]) => a + v, 0) > 0.8 * spinSamples, JSON.stringify(spinStacks.slice(0, 3)));
    // the spinner's CPU share from /proc over the capture (the agent's own figure, read around the
    // sampling window), applied to that window: the request as a whole also holds the agent's
    // symbolization, which competes with the spinner for the guest's two CPUs
    const row = data.topProcesses.find((x) => x.pid === spin.pid);
    assert.ok(row, `the spinner among the top processes: ${JSON.stringify(data.topProcesses.map((x) => x.comm))}`);
    const expected = ((row.userPct + row.sysPct) / 100) * (data.profile.durationMs / 1000) * HZ;
    const ratio = spinSamples / expected;
    report('profiler_rate', {
      samples: spinSamples,
      expected: Math.round(expected),
      ratio: Number(ratio.toFixed(3)),
      lost: data.profile.lostSamples,
    });
    // wider than the 6.18 suite's bar: an emulated CPU delivers the 99 Hz timer late, and a late
    // cpu-clock tick is one sample however many periods it covers (0.72–0.85 measured on one vCPU,
    // 0.86–0.97 on two); a profiler at half its rate still fails
    assert.ok(ratio > 0.55 && ratio < 1.25, `spinner samples ${spinSamples}, expected ~${expected.toFixed(0)}`);
  } finally {
    await kill(stress);
    await spin.stop();
  }
});

test('cpuidle, kubepods (systemd driver) on cgroup v2: the busy container is detected and named, its flame graph holds only its processes', async () => {
  const l = LAYOUTS.kubeSystemd;
  const cg = layoutCgroup(l);
  await sleep(2500); // listed, with a baseline
  const t0 = Date.now();
  const load = inCgroup(cg.procs, 'stress-ng --cpu 1 --quiet');
  try {
    const ev = await triggered('cpuidle', t0, 30_000);
    assert.equal(ev.status, 'complete', ev.error ?? '');
    assert.equal(ev.container?.id, l.id);
    assert.equal(ev.container?.runtime, l.runtime);
    assert.equal(ev.container?.qos, 'burstable');
    const data = ev.data as { topProcesses: { comm: string; container: { id: string } | null }[] };
    assert.match(data.topProcesses[0]!.comm, /^stress-ng/);
    assert.equal(data.topProcesses[0]!.container?.id, l.id);
    const procs = new Set((await folded(ev.id)).map(([f]) => f[0]));
    assert.ok(procs.size > 0);
    for (const p of procs) assert.match(p ?? '', /^stress-ng/, `process ${p} from outside the container`);
  } finally {
    await kill(load);
  }
});

test('dload, docker (cgroupfs driver) on cgroup v2: the container, its D tasks, the vfork stack and the known issue; off-CPU time', async () => {
  const l = LAYOUTS.dockerCgroupfs;
  const cg = layoutCgroup(l);
  await sleep(2000);
  const t0 = Date.now();
  const workers = 12;
  const gen = inCgroup(cg.procs, `${workload('dstate')} ${workers} 20`, { detached: true });
  try {
    const ev = await triggered('dload', t0, 30_000);
    assert.equal(ev.status, 'complete', ev.error ?? '');
    assert.equal(ev.container?.id, l.id);
    assert.equal(ev.container?.runtime, 'docker');
    const data = ev.data as {
      source: string;
      knownIssue: string | null;
      tasks: DTaskRow[];
      offcpu: { durationMs: number };
    };
    assert.equal(data.source, 'bpf', 'the BPF task iterator loads on this kernel');
    assert.equal(data.knownIssue, 'vfork-wait');
    const mine = data.tasks.filter((t) => t.inScope);
    assert.equal(mine.length, workers, JSON.stringify(mine.map((t) => [t.pid, t.comm])));
    for (const t of mine) {
      assert.equal(t.comm, 'dstate');
      assert.equal(t.container?.id, l.id);
      assert.match(t.stack.join(';'), /(__x64_sys_vfork|__do_sys_vfork);kernel_clone(;wait_for_vfork_done)?$/);
    }
    let vforkNs = 0;
    for (const [f, v] of await folded(ev.id, 'offcpu')) {
      assert.equal(f[0], 'dstate', 'the off-CPU flame graph holds only the container');
      if (f.some((n) => /_sys_vfork/.test(n))) vforkNs += v;
    }
    const expected = data.offcpu.durationMs * 1e6 * workers;
    assert.ok(
      vforkNs > 0.8 * expected && vforkNs < 1.15 * expected,
      `vfork off-CPU ${vforkNs / 1e9} s of ~${expected / 1e9} s`
    );
  } finally {
    await kill(gen, true);
  }
});

test('memburst, docker (systemd driver) on cgroup v2: the grower is named with its container; its page faults in the allocation flame graph', async () => {
  const l = LAYOUTS.dockerSystemd;
  const cg = layoutCgroup(l);
  // 1.5 GiB at 150 MiB/s: still growing through the whole capture at emulated speed
  const grower = inCgroup(cg.procs, `${workload('memgrow')} 1536 150 30`);
  try {
    await sleep(500);
    const id = await daemon.capture({ type: 'memburst', durationMs: 4000 });
    const ev = await daemon.finished(id);
    assert.equal(ev.status, 'complete', ev.error ?? '');
    const data = ev.data as { source: { rss: string; alloc: string | null }; topGrowers: GrowerRow[] };
    assert.deepEqual(data.source, { rss: 'bpf', alloc: 'bpf' }, 'both BPF programs load on this kernel');
    const g = data.topGrowers[0]!;
    assert.equal(g.pid, grower.pid, JSON.stringify(data.topGrowers.slice(0, 3)));
    assert.equal(g.comm, 'memgrow');
    assert.equal(g.container?.id, l.id);
    assert.equal(g.container?.runtime, 'docker');
    assert.ok(g.rssDeltaBytes > 128 * 2 ** 20, `grew ${g.rssDeltaBytes / 2 ** 20} MiB`);
    let bytes = 0;
    let faultPath = 0;
    for (const [f, v] of await folded(id, 'alloc')) {
      if (f[0] !== `memgrow-${grower.pid}`) continue;
      bytes += v;
      const user = f.indexOf('autotracing_memgrow_touch');
      if (user > 0 && f.slice(user).some((n) => /handle_mm_fault/.test(n))) faultPath += v;
    }
    assert.ok(Math.abs(bytes - (g.allocBytes ?? 0)) <= 0.05 * bytes + 2 ** 20, `alloc ${bytes} vs ${g.allocBytes}`);
    assert.ok(
      bytes > 0.5 * g.rssDeltaBytes,
      `sampled ${bytes / 2 ** 20} MiB of ${g.rssDeltaBytes / 2 ** 20} MiB grown`
    );
    assert.ok(faultPath > 0.8 * bytes, 'the user touch → page fault → handle_mm_fault path carries the bytes');
  } finally {
    await kill(grower);
  }
});

test('iotracing, kubepods (cgroupfs driver) on cgroup v2: ext4 direct IO names the device, process, container and absolute paths, with histograms', async () => {
  const l = LAYOUTS.kubeCgroupfs;
  const cg = layoutCgroup(l);
  let lfs: LoopFs | null = null;
  let fio: ChildProcess | null = null;
  try {
    lfs = await makeLoopFs({ fsType: 'ext4', sizeMiB: 128, base: '/run' });
    const dataDir = path.join(lfs.mountPoint, 'data');
    fs.mkdirSync(dataDir);
    const file = path.join(dataDir, 'write.dat');
    execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=32', 'oflag=direct'], { stdio: 'ignore' });
    fio = inCgroup(
      cg.procs,
      `fio --thread --ioengine=libaio --direct=1 --time_based --runtime=30 --name=w --filename=${file} --size=32M --rw=randwrite --bs=256k --iodepth=4`
    );
    await sleep(1500);
    const id = await daemon.capture({ type: 'iotracing', durationMs: 4000 });
    const ev = await daemon.finished(id);
    assert.equal(ev.status, 'complete', ev.error ?? '');
    const data = ev.data as {
      window: { missing: string[]; devices: string[] };
      processes: IoProcessRow[];
      histograms: IoHistogramRow[];
      devices: { device: string }[];
    };
    report('iotracing_window', data.window);
    assert.deepEqual(data.window.missing, [], 'every kernel source of the window attached');
    assert.ok(data.window.devices.includes(lfs.device), `the new disk is covered: ${data.window.devices.join(' ')}`);
    const p = data.processes.find((x) => x.pid === fio!.pid);
    assert.ok(p, `fio among ${JSON.stringify(data.processes.map((x) => [x.pid, x.comm]))}`);
    assert.equal(p.comm, 'fio');
    assert.equal(p.container?.id, l.id);
    assert.equal(p.container?.runtime, 'containerd');
    const f = p.files.find((x) => x.path === file);
    assert.ok(f, `the absolute path among ${JSON.stringify(p.files.map((x) => x.path))}`);
    assert.equal(f.device, lfs.device);
    assert.ok(f.direct && f.diskWriteBps > 0);
    assert.ok(data.devices.some((d) => d.device === lfs!.device));
    const h = data.histograms.find((x) => x.device === lfs!.device && x.op === 'write');
    assert.ok(h && h.count > 0 && h.q2c.length > 0 && h.d2c.length > 0, JSON.stringify(data.histograms));
  } finally {
    await kill(fio);
    await lfs?.cleanup();
  }
});
