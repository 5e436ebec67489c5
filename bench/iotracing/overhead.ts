// Overhead of an iotracing capture window on an IO-heavy fio run: ONE fio run per workload, capture
// windows switched on and off in alternating phases of the same run (load + attach at the start of an
// "on" phase, detach + read-out at its end — exactly what a capture does), device throughput per phase
// from /proc/diskstats. Then, in the same run, one more window with bpf_stats on for the in-kernel cost
// of every program (bpf_stats adds two clock reads per program run, so it stays off while throughput
// is compared).
//   npx tsx bench/iotracing/overhead.ts [--phase 3] [--pairs 10] [--out bench/results/iotracing-overhead.json]
// Needs root. The filesystems are on loop devices backed by tmpfs, so the "device" is memory and the
// per-request cost of the programs is as visible as it can be (a real disk hides it behind its latency).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { BlockIoCapture } from '../../agent/src/bpf/blockio';
import { readDiskstats } from '../../agent/src/host/diskstats';
import { makeLoopFs, type LoopFs } from '../../test/helpers/loopdev';
import { machine, hostBusySeconds, ROOT } from '../common/host';

const { values } = parseArgs({
  options: {
    phase: { type: 'string', default: '3' },
    pairs: { type: 'string', default: '10' },
    out: { type: 'string', default: path.join(ROOT, 'bench/results/iotracing-overhead.json') },
  },
});
const PHASE_MS = Number(values.phase) * 1000;
const PAIRS = Number(values.pairs);
const EDGE_MS = 500; // left out of the steady-state numbers at both ends of a phase
const COST_MS = 4000;

interface Workload {
  name: string;
  what: string;
  /** fio arguments after the file name */
  fio: (file: string, seconds: number) => string[];
  /** the unit reported: requests or bytes per second at the device */
  unit: 'IOPS' | 'MiB/s';
}

const WORKLOADS: Workload[] = [
  {
    name: 'randread-direct',
    what: '4 KiB random direct reads, libaio, queue depth 32',
    fio: (f, s) => [
      `--filename=${f}`,
      '--size=128M',
      '--rw=randread',
      '--bs=4k',
      '--direct=1',
      '--ioengine=libaio',
      '--iodepth=32',
      '--time_based',
      `--runtime=${s}`,
    ],
    unit: 'IOPS',
  },
  {
    name: 'write-buffered-fdatasync',
    what: '64 KiB buffered sequential writes, fdatasync every 16 writes (page dirtying + writeback)',
    fio: (f, s) => [
      `--filename=${f}`,
      '--size=128M',
      '--rw=write',
      '--bs=64k',
      '--direct=0',
      '--ioengine=psync',
      '--fdatasync=16',
      '--time_based',
      `--runtime=${s}`,
    ],
    unit: 'MiB/s',
  },
];

interface DiskSample {
  t: number;
  ios: number;
  bytes: number;
}

function sampleDisk(dev: string): DiskSample {
  const s = readDiskstats()?.get(dev);
  if (!s) throw new Error(`${dev} not in /proc/diskstats`);
  return {
    t: performance.now(),
    ios: s.readsCompleted + s.writesCompleted,
    bytes: (s.sectorsRead + s.sectorsWritten) * 512,
  };
}

function rate(a: DiskSample, b: DiskSample, unit: Workload['unit']): number {
  const sec = (b.t - a.t) / 1000;
  return unit === 'IOPS' ? (b.ios - a.ios) / sec : (b.bytes - a.bytes) / 2 ** 20 / sec;
}

/** run_time_ns / run_cnt of this process's BPF programs (bpf_stats), by program name. */
function progStats(): Map<string, { ns: number; cnt: number }> {
  const out = new Map<string, { ns: number; cnt: number }>();
  for (const fd of fs.readdirSync('/proc/self/fdinfo')) {
    let t: string;
    try {
      t = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    // program fds only (a link's fdinfo names its program too)
    const id = /^prog_type:/m.test(t) ? /^prog_id:\s+(\d+)/m.exec(t)?.[1] : undefined;
    if (!id) continue;
    const ns = Number(/^run_time_ns:\s+(\d+)/m.exec(t)?.[1] ?? 0);
    const cnt = Number(/^run_cnt:\s+(\d+)/m.exec(t)?.[1] ?? 0);
    let name = `prog ${id}`;
    try {
      name = (
        JSON.parse(execFileSync('bpftool', ['prog', 'show', 'id', id, '--json'], { encoding: 'utf8' })) as {
          name: string;
        }
      ).name;
    } catch {
      /* keep the id */
    }
    out.set(name, { ns, cnt });
  }
  return out;
}

function statsOn(): boolean {
  return execFileSync('sysctl', ['-n', 'kernel.bpf_stats_enabled'], { encoding: 'utf8' }).trim() === '1';
}

let weEnabledStats = false;
function ensureStats(): void {
  if (statsOn()) return;
  execFileSync('sysctl', ['-q', 'kernel.bpf_stats_enabled=1']);
  weEnabledStats = true;
}

interface Phase {
  on: boolean;
  whole: number;
  steady: number;
  startMs: number;
  /** our process's CPU (load, attach, ring buffer, read-out) */
  agentCpuMs: number;
  hostBusyCpus: number;
  /** requests the device completed in the phase */
  requests: number;
  statsWereOn: boolean;
}

interface CostWindow {
  seconds: number;
  requests: number;
  progs: Record<string, { ns: number; cnt: number }>;
  /** false when someone switched bpf_stats off during the window */
  valid: boolean;
}

async function runWorkload(w: Workload, lfs: LoopFs): Promise<{ phases: Phase[]; cost: CostWindow }> {
  const file = path.join(lfs.mountPoint, `${w.name}.dat`);
  execFileSync(
    'fio',
    ['--name=layout', `--filename=${file}`, '--size=128M', '--rw=write', '--bs=1M', '--direct=1', '--ioengine=psync'],
    { stdio: 'ignore' }
  );
  const seconds = Math.ceil((2000 + PAIRS * 2 * PHASE_MS + COST_MS) / 1000) + 10;
  const fio: ChildProcess = spawn('fio', ['--name=bench', ...w.fio(file, seconds)], { stdio: 'ignore' });
  const phases: Phase[] = [];
  try {
    await sleep(2000); // warm-up
    for (let i = 0; i < PAIRS * 2; i++) {
      const on = i % 2 === 1;
      const cpu0 = process.cpuUsage();
      const busy0 = hostBusySeconds();
      const s0 = sampleDisk(lfs.device);
      const startMs = Date.now();
      let cap: BlockIoCapture | null = null;
      if (on) {
        cap = new BlockIoCapture({ stallNs: 100e6 });
        cap.start();
      }
      await sleep(EDGE_MS - (performance.now() - s0.t));
      const s1 = sampleDisk(lfs.device);
      await sleep(PHASE_MS - EDGE_MS * 2 - (performance.now() - (s0.t + EDGE_MS)));
      const s2 = sampleDisk(lfs.device);
      await sleep(PHASE_MS - (performance.now() - s0.t) - 5);
      const statsWereOn = statsOn(); // another user of the machine may have switched bpf_stats on
      cap?.stop();
      const s3 = sampleDisk(lfs.device);
      const cpu = process.cpuUsage(cpu0);
      phases.push({
        on,
        whole: rate(s0, s3, w.unit),
        steady: rate(s1, s2, w.unit),
        startMs,
        agentCpuMs: (cpu.user + cpu.system) / 1000,
        hostBusyCpus: (hostBusySeconds() - busy0) / ((s3.t - s0.t) / 1000),
        requests: s3.ios - s0.ios,
        statsWereOn,
      });
      if (fio.exitCode !== null) throw new Error(`fio exited early (${fio.exitCode})`);
    }
    // the in-kernel cost, with bpf_stats on
    ensureStats();
    const cap = new BlockIoCapture({ stallNs: 100e6 });
    cap.start();
    const base = progStats();
    const c0 = sampleDisk(lfs.device);
    await sleep(COST_MS);
    const end = progStats();
    const c1 = sampleDisk(lfs.device);
    const valid = statsOn();
    cap.stop();
    const progs: CostWindow['progs'] = {};
    for (const [name, v] of end)
      progs[name] = { ns: v.ns - (base.get(name)?.ns ?? 0), cnt: v.cnt - (base.get(name)?.cnt ?? 0) };
    if (fio.exitCode !== null) throw new Error(`fio exited early (${fio.exitCode})`);
    return { phases, cost: { seconds: (c1.t - c0.t) / 1000, requests: c1.ios - c0.ios, progs, valid } };
  } finally {
    fio.kill('SIGKILL');
    await once(fio, 'exit').catch(() => undefined);
  }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (i - lo);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (x: number, d = 1) => x.toFixed(d);

async function main(): Promise<void> {
  if (process.geteuid?.() !== 0) throw new Error('needs root (BPF, loop devices)');
  const load0 = os.loadavg()[0]!;
  const results: Record<string, unknown>[] = [];
  const lines: string[] = [];
  try {
    for (const w of WORKLOADS) {
      const lfs = await makeLoopFs({ fsType: 'ext4', sizeMiB: 512 });
      try {
        const { phases, cost } = await runWorkload(w, lfs);
        const off = phases.filter((p) => !p.on);
        const on = phases.filter((p) => p.on);
        // each "on" phase against the mean of the "off" phases around it (drift-corrected pairs)
        const paired = (k: 'whole' | 'steady') =>
          phases
            .map((p, i) =>
              p.on
                ? {
                    on: p[k],
                    off: ((phases[i - 1]?.[k] ?? phases[i + 1]![k]) + (phases[i + 1]?.[k] ?? phases[i - 1]![k])) / 2,
                  }
                : null
            )
            .filter((x): x is { on: number; off: number } => x !== null)
            .map((x) => (100 * (x.on - x.off)) / x.off);
        const steadyDelta = paired('steady');
        const wholeDelta = paired('whole');
        const perProg: Record<string, { nsPerRun: number; runsPerSec: number }> = {};
        let kernelNs = 0;
        for (const [name, v] of Object.entries(cost.progs)) {
          kernelNs += v.ns;
          if (v.cnt)
            perProg[name] = { nsPerRun: Math.round(v.ns / v.cnt), runsPerSec: Math.round(v.cnt / cost.seconds) };
        }
        const r = {
          workload: w.name,
          what: w.what,
          unit: w.unit,
          offMedian: median(off.map((p) => p.steady)),
          onMedian: median(on.map((p) => p.steady)),
          steadyDeltaPct: {
            median: median(steadyDelta),
            p25: quantile(steadyDelta, 0.25),
            p75: quantile(steadyDelta, 0.75),
          },
          wholeDeltaPct: {
            median: median(wholeDelta),
            p25: quantile(wholeDelta, 0.25),
            p75: quantile(wholeDelta, 0.75),
          },
          bpfCpuShare: cost.valid ? kernelNs / 1e9 / cost.seconds : null,
          bpfNsPerDeviceRequest: cost.valid ? Math.round(kernelNs / Math.max(1, cost.requests)) : null,
          agentCpuMsPerCapture: median(on.map((p) => p.agentCpuMs)) - median(off.map((p) => p.agentCpuMs)),
          hostBusyCpus: median(phases.map((p) => p.hostBusyCpus)),
          bpfStatsOnDuringComparison: phases.filter((p) => p.statsWereOn).length,
          perProgram: perProg,
          phases,
        };
        results.push(r);
        lines.push(
          `| ${w.name} | ${w.unit} | ${fmt(r.offMedian, 0)} | ${fmt(r.onMedian, 0)} | ${fmt(r.steadyDeltaPct.median)} % (${fmt(r.steadyDeltaPct.p25)} … ${fmt(r.steadyDeltaPct.p75)}) | ${fmt(r.wholeDeltaPct.median)} % | ${r.bpfCpuShare === null ? 'n/a' : `${fmt(100 * r.bpfCpuShare, 1)} % of a CPU, ${r.bpfNsPerDeviceRequest} ns per request`} | ${fmt(r.agentCpuMsPerCapture, 0)} ms |`
        );
        console.log(`${w.name}: ${JSON.stringify(perProg)}`);
      } finally {
        await lfs.cleanup();
      }
    }
  } finally {
    if (weEnabledStats) execFileSync('sysctl', ['-q', 'kernel.bpf_stats_enabled=0']);
  }
  const doc = {
    machine: machine(),
    loadavgAtStart: load0,
    loadavgAtEnd: os.loadavg()[0],
    phaseSeconds: PHASE_MS / 1000,
    pairs: PAIRS,
    results,
  };
  fs.mkdirSync(path.dirname(values.out!), { recursive: true });
  fs.writeFileSync(values.out!, JSON.stringify(doc, null, 1) + '\n');
  console.log(
    '| workload | unit | off (median) | on (median) | on vs off, steady (median, IQR) | whole phase incl. load/read-out | BPF programs (in-kernel) | agent CPU per capture |'
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const l of lines) console.log(l);
  console.log(`load average ${fmt(load0, 2)} → ${fmt(os.loadavg()[0]!, 2)}; ${JSON.stringify(machine())}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
