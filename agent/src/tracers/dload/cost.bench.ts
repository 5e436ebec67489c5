// What dload costs, measured on this host (root; BPF must load):
//   node --import tsx agent/src/tracers/dload/cost.bench.ts
// 1. a detector tick (BPF sweep + averages + readings) and the /proc fallback sweep, per tick;
// 2. during a capture: the off-CPU programs' cost per sched_switch / sched_wakeup (kernel.bpf_stats_enabled
//    is switched on for the measurement and restored, also on SIGINT/SIGTERM), and the wall time of a context-switch-heavy
//    workload with and without them.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { DloadTracer } from '../dload';
import { ProcSweep, BpfSweep } from './sweep';
import { OffCpuTracker } from '../../bpf/offcpu';
import { makeTestEnv } from '../../../../test/helpers/tracerEnv';
import { summarize, timeRuns, bpfProgStats } from '../../../../bench/common/timing';

function threads(): number {
  let n = 0;
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      n += fs.readdirSync(`/proc/${p}/task`).length;
    } catch {
      /* gone */
    }
  }
  return n;
}

/** stress-ng's context-switch stressor: two processes ping-ponging through a pipe. */
function switcher(): number {
  const t = Date.now();
  spawnSync('stress-ng', ['--switch', '1', '--switch-ops', '100000', '--timeout', '30', '--quiet'], {
    stdio: 'ignore',
  });
  return Date.now() - t;
}

async function main(): Promise<void> {
  const env = makeTestEnv();
  console.log(`host: ${threads()} threads`);
  const tracer = new DloadTracer({ ...env.config.tracers.dload, enabled: false }, env);
  tracer.runTick(Date.now()); // open the iterators, list containers
  console.log(`dload tick (BPF sweep + detector): ${summarize(timeRuns(200, () => tracer.runTick(Date.now())))}`);
  const list = env.containers.list();
  const bpf = new BpfSweep();
  console.log(`  BPF count sweep alone:          ${summarize(timeRuns(200, () => bpf.sample(list, Date.now())))}`);
  console.log(`  BPF D-task list (capture):      ${summarize(timeRuns(50, () => bpf.blockedTasks(list, Date.now())))}`);
  bpf.close();
  const proc = new ProcSweep();
  console.log(`  /proc fallback sweep:           ${summarize(timeRuns(50, () => proc.sample(list, Date.now())))}`);

  const statsFile = '/proc/sys/kernel/bpf_stats_enabled';
  const before = fs.readFileSync(statsFile, 'utf8').trim();
  const restore = () => fs.writeFileSync(statsFile, before);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => (restore(), process.exit(1)));
  const runs: Record<'off' | 'on', number[]> = { off: [], on: [] };
  try {
    fs.writeFileSync(statsFile, '1');
    for (let i = 0; i < 3; i++) {
      runs.off.push(switcher());
      const t = new OffCpuTracker();
      t.start();
      runs.on.push(switcher());
      const s = bpfProgStats(['offcpu_switch', 'offcpu_wakeup']);
      const w = t.stop();
      for (const [name, v] of s)
        console.log(`  ${name}: ${v.cnt} runs, ${(v.ns / Math.max(1, v.cnt)).toFixed(0)} ns/run`);
      console.log(`  window: ${w.stats.blocks} D switch-outs, ${w.records.length} stacks`);
    }
  } finally {
    restore();
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
  console.log(
    `stress-ng --switch 1 --switch-ops 100000: without ${runs.off.join('/')} ms, with off-CPU programs ${runs.on.join('/')} ms (medians ${med(runs.off)} vs ${med(runs.on)})`
  );
  tracer.stop();
  await env.close();
}

void main();
