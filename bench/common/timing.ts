// Small measuring helpers the micro-benchmarks share: repeated timing of a function, a one-line
// summary, and the kernel's run-time statistics of our BPF programs (needs kernel.bpf_stats_enabled=1).
import { execFileSync } from 'node:child_process';

/** Run f n times; wall time of each run in ms. */
export function timeRuns(n: number, f: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    f();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

/** "mean … ms, p50 …, p99 … (n=…)" */
export function summarize(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `mean ${mean.toFixed(3)} ms, p50 ${q(0.5).toFixed(3)}, p99 ${q(0.99).toFixed(3)} (n=${s.length})`;
}

/** Run count and total run time (ns) of the loaded BPF programs with these names, summed per name. */
export function bpfProgStats(names: string[]): Map<string, { cnt: number; ns: number }> {
  const all = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as Array<{
    name: string;
    run_cnt?: number;
    run_time_ns?: number;
  }>;
  const out = new Map<string, { cnt: number; ns: number }>();
  for (const p of all) {
    if (!names.includes(p.name)) continue;
    const have = out.get(p.name) ?? { cnt: 0, ns: 0 };
    out.set(p.name, { cnt: have.cnt + (p.run_cnt ?? 0), ns: have.ns + (p.run_time_ns ?? 0) });
  }
  return out;
}
