// dload end to end against the live kernel: a D-state generator (test/workloads/dstate.c: workers
// blocked in vfork while their children sleep) inside test cgroups named like containers — in the
// cgroup v1 cpu hierarchy (docker, cgroupfs driver) and in the unified hierarchy only (containerd under
// kubepods, systemd driver) — real BPF iterators and sched_switch programs, real captures in a real store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { DloadTracer } from './dload';
import type { DTaskRow, StackGroupRow } from './dload/capture';
import { makeTestEnv } from '../../../test/helpers/tracerEnv';
import {
  makeCgroup,
  fakeContainerId,
  workload,
  CGROUP_V1_CPU,
  CGROUP_UNIFIED,
  type TestCgroup,
} from '../../../test/helpers/workloads';
import type { DloadConfig } from '../config';

/** `dstate N SECONDS` with its main process placed in the cgroups before it forks the workers. */
function dstate(n: number, seconds: number, cgroupProcs: string[]): ChildProcess {
  const script = `for f in ${cgroupProcs.join(' ')}; do echo $$ > $f; done; exec ${workload('dstate')} ${n} ${seconds}`;
  return spawn('sh', ['-c', script], { stdio: 'ignore', detached: true });
}

async function killGroup(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  try {
    process.kill(-c.pid!, 'SIGKILL');
  } catch {
    /* gone */
  }
  await once(c, 'exit');
}

/** The settings of these tests (and of the shared quiet window in memburst.kernel.test.ts): the default
 *  threshold (5) and delta (2), but a 5 s D-load window instead of the kernel's 60 s and a 500 ms
 *  interval, so a stall is caught in seconds. D state does not depend on CPU time, so contention from
 *  other suites changes when we sample, not what we count. */
function dloadTestConfig(base: DloadConfig): DloadConfig {
  return {
    ...base,
    interval: 500,
    holdSamples: 2,
    dloadWindow: 5000,
    baselineWindow: 10_000,
    duration: 3000,
    cooldown: 60_000,
  };
}

const WORKERS = 12;
const VFORK = /(^|;)(__x64_sys_vfork|__do_sys_vfork);kernel_clone(;wait_for_vfork_done)?$/;

interface Style {
  name: string;
  runtime: string;
  make(): TestCgroup[];
  id: string;
}

const id = (l: string) => fakeContainerId(`dload-${l}-${process.pid}`);
const podUid = '5b1e2d4c-3a6a-4978-8a1b-2c3d4e5f6a7c';
const STYLES: Style[] = [
  {
    name: 'docker, cgroup v1 cpu hierarchy',
    runtime: 'docker',
    id: id('v1'),
    make: () => [makeCgroup(CGROUP_V1_CPU, `/docker/${id('v1')}`)],
  },
  {
    name: 'containerd in a Kubernetes pod, unified hierarchy only (v2 style)',
    runtime: 'containerd',
    id: id('v2'),
    make: () => [
      makeCgroup(
        CGROUP_UNIFIED,
        `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUid.replace(/-/g, '_')}.slice/cri-containerd-${id('v2')}.scope`
      ),
    ],
  },
];

for (const style of STYLES) {
  test(`dload, ${style.name}: names the container, its D tasks, the vfork stack and the known issue; off-CPU time by stack`, async () => {
    const env = makeTestEnv();
    const tracer = new DloadTracer(dloadTestConfig(env.config.tracers.dload), env);
    const cgs = style.make();
    let gen: ChildProcess | null = null;
    try {
      tracer.start();
      await sleep(2000); // the container is listed and has a baseline
      assert.equal(env.completed().length, 0, 'no event before the stall');
      const t0 = Date.now();
      gen = dstate(
        WORKERS,
        12,
        cgs.map((c) => c.procs)
      );
      const ev = await env.waitFor((e) => e.type === 'dload', 15_000);
      assert.ok(ev, 'dload fired');
      assert.ok(ev.time - t0 < 6000, `trigger ${ev.time - t0} ms after the tasks blocked`);
      assert.equal(ev.status, 'complete', ev.error);
      assert.equal(ev.container?.id, style.id);
      assert.equal(ev.container?.runtime, style.runtime);
      assert.equal(ev.trigger.metric, 'dload');
      assert.ok(ev.trigger.value > 5, JSON.stringify(ev.trigger));

      const data = ev.data as {
        source: string;
        scope: string;
        knownIssue: string | null;
        load: { counts: { uninterruptible: number } };
        tasks: DTaskRow[];
        stackGroups: StackGroupRow[];
        offcpu: { blockedMs: number; durationMs: number; seededTasks: number };
      };
      assert.equal(data.source, 'bpf', 'the BPF task iterator must load on this kernel');
      assert.equal(data.scope, 'container');
      assert.ok(data.load.counts.uninterruptible >= WORKERS - 1, JSON.stringify(data.load));
      const mine = data.tasks.filter((t) => t.inScope);
      assert.equal(mine.length, WORKERS, JSON.stringify(mine.map((t) => [t.pid, t.comm])));
      for (const t of mine) {
        assert.equal(t.comm, 'dstate');
        assert.equal(t.container?.id, style.id);
        assert.match(t.command ?? '', new RegExp(`dstate ${WORKERS} 12$`));
        assert.match(t.stack.join(';'), VFORK, t.stack.join(';'));
        assert.equal(t.wchan, 'kernel_clone');
        assert.equal(t.knownIssue, 'vfork-wait');
        assert.ok(t.stillBlocked);
        // blocked since it forked: more than the time to trigger, less than since the generator started
        assert.ok(
          t.blockedMs !== null && t.blockedMs > 1000 && t.blockedMs < Date.now() - t0 + 100,
          `blockedMs ${t.blockedMs}`
        );
        assert.equal(t.blockedSource, 'exec_start');
      }
      assert.equal(data.knownIssue, 'vfork-wait');
      const g = data.stackGroups.find((x) => x.group === mine[0]!.group)!;
      assert.equal(g.inScopeCount, WORKERS);
      assert.equal(data.stackGroups[0]!.group, g.group, 'the vfork stack is the largest group');
      assert.match(ev.summary, new RegExp(`${WORKERS} tasks in D`));
      assert.match(ev.summary, /known issue vfork-wait/);

      // off-CPU: every worker was blocked through the whole window, on the vfork stack
      const p = env.profile(ev.id, 'offcpu');
      assert.equal(p.unit, 'nanoseconds');
      let vforkNs = 0;
      for (const s of p.stacks()) {
        const kernel = s.frames
          .filter((f) => f.kind === 'kernel')
          .map((f) => f.name)
          .join(';');
        assert.equal(s.frames[0]!.name, 'dstate', 'the flame graph holds only the container');
        if (VFORK.test(kernel)) vforkNs += s.value;
      }
      const expected = data.offcpu.durationMs * 1e6 * WORKERS;
      assert.ok(
        vforkNs > 0.85 * expected && vforkNs < 1.1 * expected,
        `vfork off-CPU ${vforkNs / 1e9} s, expected ~${expected / 1e9} s`
      );
      assert.ok(data.offcpu.seededTasks >= WORKERS, 'tasks blocked before the window were seeded');
    } finally {
      tracer.stop();
      if (gen) await killGroup(gen);
      await env.close();
      for (const c of cgs) await c.remove();
    }
  });
}
