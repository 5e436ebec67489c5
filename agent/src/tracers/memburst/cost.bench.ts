// What memburst costs, measured on this host (root; BPF must load; make -C test/workloads first):
//   node --import tsx agent/src/tracers/memburst/cost.bench.ts
// 1. a detector tick (meminfo, vmstat, PSI, the BPF RSS sweep of every process, the rules) and the
//    /proc/PID/statm fallback sweep;
// 2. during a capture: alloc_sample's cost per page allocation (kernel.bpf_stats_enabled switched on
//    for the measurement and restored, also on SIGINT/SIGTERM), and the wall time of a process that
//    allocates and touches 2 GiB as fast as it can, with and without the sampler.
import fs from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { MemburstTracer } from '../memburst';
import { BpfRss, ProcRss } from './rss';
import { AllocSampler } from '../../bpf/memalloc';
import { makeTestEnv } from '../../../../test/helpers/tracerEnv';
import { workload } from '../../../../test/helpers/workloads';

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `mean ${mean.toFixed(3)} ms, p50 ${q(0.5).toFixed(3)}, p99 ${q(0.99).toFixed(3)} (n=${s.length})`;
}

function time(n: number, f: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    f();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

interface ProgStat {
  name: string;
  run_cnt?: number;
  run_time_ns?: number;
}

function progStat(name: string): { cnt: number; ns: number } | null {
  const all = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as ProgStat[];
  const p = all.find((x) => x.name === name);
  return p ? { cnt: p.run_cnt ?? 0, ns: p.run_time_ns ?? 0 } : null;
}

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
    `memburst tick (meminfo+vmstat+PSI+BPF RSS sweep+rules): ${stats(time(200, () => tracer.runTick(Date.now())))}`
  );
  const bpf = new BpfRss();
  console.log(`  BPF RSS sweep alone:     ${stats(time(200, () => bpf.sweep()))}`);
  bpf.close();
  const proc = new ProcRss();
  console.log(`  /proc RSS sweep (statm): ${stats(time(50, () => proc.sweep()))}`);

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
      const p = progStat('alloc_sample');
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
