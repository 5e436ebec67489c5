// What memburst costs, measured on this host (root; BPF must load; make -C test/workloads first):
//   node --import tsx agent/src/tracers/memburst/cost.bench.ts
// 1. a detector tick (meminfo, vmstat, PSI, the BPF RSS sweep of every process, the rules) and the
//    /proc/PID/statm fallback sweep;
// 2. during a capture: alloc_sample's cost per page allocation (kernel.bpf_stats_enabled switched on
//    for the measurement and restored, also on SIGINT/SIGTERM), and the wall time of a process that
//    allocates and touches 2 GiB as fast as it can, with and without the sampler.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { MemburstTracer } from '../memburst';
import { BpfRss, ProcRss } from './rss';
import { AllocSampler } from '../../bpf/memalloc';
import { makeTestEnv } from '../../../../test/helpers/tracerEnv';
import { workload } from '../../../../test/helpers/workloads';
import { summarize, timeRuns, bpfProgStats } from '../../../../bench/common/timing';

function grow(): number {
  const t = Date.now();
  spawnSync(workload('memgrow'), ['2048', '0', '0'], { stdio: 'ignore' });
  return Date.now() - t;
}

async function main(): Promise<void> {
  const env = makeTestEnv();
  const tracer = new MemburstTracer({ ...env.config.tracers.memburst, enabled: false }, env);
  tracer.runTick(Date.now());
  const procs = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).length;
  console.log(`host: ${procs} processes`);
  console.log(
    `memburst tick (meminfo+vmstat+PSI+BPF RSS sweep+rules): ${summarize(timeRuns(200, () => tracer.runTick(Date.now())))}`
  );
  const bpf = new BpfRss();
  console.log(`  BPF RSS sweep alone:     ${summarize(timeRuns(200, () => bpf.sweep()))}`);
  bpf.close();
  const proc = new ProcRss();
  console.log(`  /proc RSS sweep (statm): ${summarize(timeRuns(50, () => proc.sweep()))}`);

  const statsFile = '/proc/sys/kernel/bpf_stats_enabled';
  const before = fs.readFileSync(statsFile, 'utf8').trim();
  const restore = () => fs.writeFileSync(statsFile, before);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => (restore(), process.exit(1)));
  const runs: Record<'off' | 'on', number[]> = { off: [], on: [] };
  try {
    fs.writeFileSync(statsFile, '1');
    for (let i = 0; i < 3; i++) {
      runs.off.push(grow());
      const s = new AllocSampler({ samplePeriod: env.config.tracers.memburst.allocSamplePeriod });
      s.start();
      runs.on.push(grow());
      const p = bpfProgStats(['alloc_sample']).get('alloc_sample');
      const w = s.stop();
      if (p)
        console.log(
          `  alloc_sample: ${p.cnt} runs, ${(p.ns / Math.max(1, p.cnt)).toFixed(0)} ns/run; ${w.stats.samples} samples for ${(w.stats.bytes / 2 ** 20).toFixed(0)} MiB allocated, sampled estimate ${(w.records.reduce((a, r) => a + r.bytes, 0) / 2 ** 20).toFixed(0)} MiB`
        );
    }
  } finally {
    restore();
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
  console.log(
    `memgrow 2048 MiB as fast as possible: without ${runs.off.join('/')} ms, with the sampler ${runs.on.join('/')} ms (medians ${med(runs.off)} vs ${med(runs.on)})`
  );
  tracer.stop();
  await env.close();
}

void main();
