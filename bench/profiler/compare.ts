// Our profiler vs `perf record -F 99 -a -g` + `perf script` + folding, in ONE run on the same
// workload and the same window: CPU seconds each tool spends to produce a symbolized folded
// profile, the in-kernel cost of our BPF program, and whether both see the same top functions.
//   npx tsx bench/profiler/compare.ts [--seconds 10] [--runs 3]
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bpfProgStats } from '../common/timing';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = path.resolve(__dirname, '../..').replace(/\/build$/, '');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    frequency: { type: 'string', default: '99' },
  },
});
const SECONDS = Number(values.seconds);
// both tools sample at this rate; more samples per second stands in for more CPUs (a 64-CPU host at
// 99 Hz makes as many samples as 2 CPUs at ~3 kHz)
const HZ = Number(values.frequency);
const RUNS = Number(values.runs);

/** Run a bash script; its last line is `times` output: children's user and sys seconds. */
function timed(script: string): Promise<{ user: number; sys: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', ['-c', `${script}\ntimes`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => {
      const lines = out.trim().split('\n');
      const children = lines.at(-1)!.trim().split(/\s+/);
      const sec = (s: string) => {
        const m = /(\d+)m([\d.]+)s/.exec(s);
        return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
      };
      if (code !== 0) reject(new Error(`bash exited ${code}: ${out}`));
      else resolve({ user: sec(children[0]!), sys: sec(children[1]!), out: lines.slice(0, -2).join('\n') });
    });
  });
}

/** leaf function → share of samples (self), from folded text; process frames excluded */
function selfShares(folded: string): Map<string, number> {
  const self = new Map<string, number>();
  let total = 0;
  for (const line of folded.split('\n')) {
    const sp = line.lastIndexOf(' ');
    if (sp <= 0) continue;
    const n = Number(line.slice(sp + 1));
    const frames = line.slice(0, sp).split(';');
    if (frames.length < 2) continue;
    const leaf = frames.at(-1)!.replace(/_\[[kj]\]$/, '');
    self.set(leaf, (self.get(leaf) ?? 0) + n);
    total += n;
  }
  for (const [k, v] of self) self.set(k, v / total);
  return self;
}

function top(m: Map<string, number>, n: number): [string, number][] {
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
}

function bpfProgramCost(): { runTimeNs: number; runCnt: number } | null {
  try {
    const s = bpfProgStats(['profile_sample']).get('profile_sample');
    return s ? { runTimeNs: s.ns, runCnt: s.cnt } : null;
  } catch {
    return null;
  }
}

async function oneRun(dir: string) {
  // workload: the spinner (user-space, known stack, some syscalls) and a syscall-heavy stressor
  const spin = spawn(path.join(ROOT, 'build/workloads/spinner'), [String(SECONDS + 5), 'syscalls'], {
    stdio: 'ignore',
  });
  const stress = spawn(
    'stress-ng',
    ['--open', '1', '--timeout', `${SECONDS + 5}s`, '--quiet', '--temp-path', os.tmpdir()],
    { stdio: 'ignore', cwd: os.tmpdir() } // stress-ng leaves files in its working directory when killed
  );
  await sleep(1000);
  const ours = path.join(dir, 'ours.folded');
  const perfData = path.join(dir, 'perf.data');
  const perfFolded = path.join(dir, 'perf.folded');
  const agent = `node ${path.join(ROOT, 'build/agent/src/cli/main.js')}`;
  const fold = `node ${path.join(ROOT, 'build/bench/profiler/foldPerf.js')}`;
  const oursRun = timed(
    `${agent} profile --duration ${SECONDS} --frequency ${HZ} --format folded --output ${ours} 2>/dev/null`
  );
  const perfRecord = timed(`perf record -F ${HZ} -a -g -o ${perfData} -- sleep ${SECONDS} 2>/dev/null >/dev/null`);
  await sleep((SECONDS - 1) * 1000);
  const bpf = bpfProgramCost();
  const [o, r] = await Promise.all([oursRun, perfRecord]);
  const post = await timed(`perf script -i ${perfData} 2>/dev/null | ${fold} > ${perfFolded}`);
  spin.kill('SIGKILL');
  stress.kill('SIGTERM');
  const oursTop = top(selfShares(fs.readFileSync(ours, 'utf8')), 10);
  const perfShares = selfShares(fs.readFileSync(perfFolded, 'utf8'));
  const perfTop = top(perfShares, 10);
  const overlap = oursTop.filter(([f]) => perfTop.some(([g]) => g === f)).length;
  return {
    oursCpu: o.user + o.sys,
    perfRecordCpu: r.user + r.sys,
    perfPostCpu: post.user + post.sys,
    perfDataBytes: fs.statSync(perfData).size,
    oursFoldedBytes: fs.statSync(ours).size,
    bpf,
    overlap,
    oursTop,
    perfTop,
    perfSharesOfOursTop: oursTop.map(([f]) => perfShares.get(f) ?? 0),
  };
}

(async () => {
  execFileSync('sysctl', ['-q', 'kernel.bpf_stats_enabled=1']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-profiler-'));
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await oneRun(dir));
  execFileSync('sysctl', ['-q', 'kernel.bpf_stats_enabled=0']);
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const ours = med(runs.map((r) => r.oursCpu));
  const perf = med(runs.map((r) => r.perfRecordCpu + r.perfPostCpu));
  const last = runs.at(-1)!;
  const lines = [
    `Workload: spinner (user loop + getppid) and stress-ng --open 1 on ${os.cpus().length} CPUs; window ${SECONDS} s at ${HZ} Hz; ${RUNS} runs, median.`,
    '',
    '| | CPU seconds (user+sys) | |',
    '|---|---|---|',
    `| ours: \`agent profile --format folded\` (load, sample, drain, symbolize, fold; incl. Node start-up) | ${ours.toFixed(2)} | runs: ${runs.map((r) => r.oursCpu.toFixed(2)).join(', ')} |`,
    `| perf record -F ${HZ} -a -g | ${med(runs.map((r) => r.perfRecordCpu)).toFixed(2)} | |`,
    `| perf script + folding | ${med(runs.map((r) => r.perfPostCpu)).toFixed(2)} | |`,
    `| **perf total / ours** | **${(perf / ours).toFixed(1)}×** | perf total ${perf.toFixed(2)} s |`,
    '',
    `In-kernel cost of our BPF program (bpf_stats, sampled near the end of the window): ${last.bpf ? `${(last.bpf.runTimeNs / Math.max(1, last.bpf.runCnt)).toFixed(0)} ns per sample, ${last.bpf.runCnt} samples` : 'n/a'}.`,
    `perf.data: ${(last.perfDataBytes / 1024).toFixed(0)} KiB; our folded output: ${(last.oursFoldedBytes / 1024).toFixed(0)} KiB.`,
    '',
    `Top-10 self functions in common: ${runs.map((r) => `${r.overlap}/10`).join(', ')}. Last run:`,
    '',
    '| # | ours | share | share in perf | perf | share |',
    '|---|---|---|---|---|---|',
    ...last.oursTop.map(
      ([f, s], i) =>
        `| ${i + 1} | ${f} | ${(s * 100).toFixed(1)}% | ${(last.perfSharesOfOursTop[i]! * 100).toFixed(1)}% | ${last.perfTop[i]?.[0] ?? ''} | ${((last.perfTop[i]?.[1] ?? 0) * 100).toFixed(1)}% |`
    ),
  ];
  console.log(lines.join('\n'));
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/results/profiler-vs-perf.json'), JSON.stringify(runs, null, 2));
  fs.rmSync(dir, { recursive: true, force: true });
})();
