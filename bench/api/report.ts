// Markdown table of bench/results/api-bench.json (written by bench/api/run.ts):
//   node build/bench/api/report.js [bench/results/api-bench.json]
// Per scenario and connection count: latency p50 / p99 and req/s of the pass in which the rest of the
// machine was least busy, req/s of every pass, the agent's CPU in that pass and the others' busy CPUs.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../common/host';

interface Row {
  pass: number;
  scenario: string;
  connections: number;
  load: {
    requests: number;
    rps: number;
    latencyMs: { p50: number; p99: number };
    bytesPerResponse: number;
    statusCodes: Record<string, number>;
  };
  daemonCpu: number;
  daemonRssMiB: number;
  contention: { otherBusyCpus: number; loadavg1: { mean: number } };
}

const file = process.argv[2] ?? path.join(ROOT, 'bench/results/api-bench.json');
const r = JSON.parse(fs.readFileSync(file, 'utf8')) as {
  scenarios: { name: string; what: string; firstFetch: { bytes: number } }[];
  rows: Row[];
};
const kib = (b: number) => (b >= 1 << 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const lines = [
  "| scenario | response | conns | p50 ms | p99 ms | req/s | req/s, every pass | agent CPUs | others' CPUs | requests |",
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const s of r.scenarios) {
  for (const c of [1, 10]) {
    const rows = r.rows.filter((x) => x.scenario === s.name && x.connections === c);
    if (!rows.length) continue;
    const best = [...rows].sort((a, b) => a.contention.otherBusyCpus - b.contention.otherBusyCpus)[0]!;
    const bad = rows.flatMap((x) => Object.keys(x.load.statusCodes).filter((k) => k !== '200'));
    lines.push(
      `| ${c === 1 ? `${s.name}: ${s.what}` : ''} | ${c === 1 ? kib(best.load.bytesPerResponse) : ''} | ${c} | ${fmt(best.load.latencyMs.p50)} | ${fmt(best.load.latencyMs.p99)} | ${fmt(best.load.rps)} | ${rows.map((x) => fmt(x.load.rps)).join(' / ')} | ${best.daemonCpu.toFixed(2)} | ${best.contention.otherBusyCpus.toFixed(2)} | ${best.load.requests}${bad.length ? ` (non-200: ${bad.join(',')})` : ''} |`
    );
  }
}
console.log(lines.join('\n'));
