// The daemon's own cost while nothing happens: a REAL daemon (`agent run`), default detector settings
// (interval 1s), no load of ours, for several minutes.
//
//   node build/bench/idle/idle.js [--minutes 5] [--tracers cpusys,cpuidle] [--containers 0] [--warmup 15]
//
// --tracers: the tracers enabled in the config (the others `enabled: false`); "all" leaves the config
// at its defaults (all five enabled; a tracer not implemented yet does not run a detector).
// --containers N: N idle docker-style cgroups (/docker/<id> in the v1 cpu and cpuacct hierarchies)
// exist during the run, so cpuidle has containers to list and read every second.
// Measured over the window after the warm-up: CPU from /proc/PID/stat (utime+stime) as percent of one
// CPU; VmRSS at start, end and its maximum (sampled every 5 s) plus VmHWM; detector tick cost from the
// daemon's /metrics (autotracing_detector_tick_seconds histogram: the window's count and sum, and the
// bucket holding the median and the 99th percentile); captures started in the window (should be 0:
// one started by someone else's load spike on this shared machine would be reported here).
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon, READ_TOKEN, ADMIN_TOKEN } from '../../test/helpers/daemon';
import { makeCgroup, CGROUP_V1_CPU, type TestCgroup } from '../../test/helpers/workloads';
import { Contention, uniqueId, arg, machine, procCpuSeconds, procMem, round, writeResult } from '../common/host';

const MINUTES = Number(arg('minutes', '5'));
const TRACERS = arg('tracers', 'cpusys,cpuidle');
const CONTAINERS = Number(arg('containers', '0'));
const WARMUP_S = Number(arg('warmup', '15'));
const ALL = ['cpusys', 'cpuidle', 'dload', 'memburst', 'iotracing'];

interface Hist {
  buckets: Map<string, number>;
  sum: number;
  count: number;
}

/** autotracing_detector_tick_seconds per tracer from Prometheus text */
function ticks(text: string): Map<string, Hist> {
  const out = new Map<string, Hist>();
  const get = (t: string) => {
    let h = out.get(t);
    if (!h) out.set(t, (h = { buckets: new Map(), sum: 0, count: 0 }));
    return h;
  };
  for (const line of text.split('\n')) {
    const m = /^autotracing_detector_tick_seconds_(bucket|sum|count)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    const h = get(labels.tracer ?? '?');
    const v = Number(m[3]);
    if (m[1] === 'bucket') h.buckets.set(labels.le!, v);
    else if (m[1] === 'sum') h.sum = v;
    else h.count = v;
  }
  return out;
}

function counter(text: string, name: string): number {
  let s = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) s += Number(line.split(' ').pop());
  return s;
}

function bucketOf(h0: Hist | undefined, h1: Hist, q: number): string {
  const n = h1.count - (h0?.count ?? 0);
  if (n <= 0) return 'n/a';
  const les = [...h1.buckets.keys()].sort((a, b) => (a === '+Inf' ? 1 : b === '+Inf' ? -1 : Number(a) - Number(b)));
  let prev = '0';
  for (const le of les) {
    const c = h1.buckets.get(le)! - (h0?.buckets.get(le) ?? 0);
    if (c >= q * n) return `${prev}–${le} s`;
    prev = le;
  }
  return 'n/a';
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync('/tmp/bench-idle-');
  const configFile = path.join(dir, 'agent.yaml');
  const enabled = TRACERS === 'all' ? ALL : TRACERS.split(',');
  fs.writeFileSync(
    configFile,
    `host: bench-idle
dataDir: ${path.join(dir, 'data')}
log: { level: info }
api:
  listen: 127.0.0.1:0
  tokens: { read: [${READ_TOKEN}], admin: [${ADMIN_TOKEN}] }
tracers:
${ALL.map((t) => `  ${t}: { enabled: ${enabled.includes(t)} }`).join('\n')}
`
  );
  const cgs: TestCgroup[] = [];
  for (let i = 0; i < CONTAINERS; i++) {
    const id = uniqueId(`idle-${process.pid}-${i}`);
    cgs.push(makeCgroup(CGROUP_V1_CPU, `/docker/${id}`), makeCgroup('/sys/fs/cgroup/cpuacct', `/docker/${id}`));
  }
  try {
    const t0 = performance.now();
    const d = await startDaemon(dir, configFile);
    const startupMs = round(performance.now() - t0, 0);
    const pid = d.child.pid!;
    const startupCpu = procCpuSeconds(pid)!;
    const startupRss = procMem(pid)!.rssKiB;
    await sleep(WARMUP_S * 1000);
    const tracers = (
      await d.json<{
        tracers: { type: string; enabled: boolean; implemented: boolean; detector: { scope: string }[] }[];
      }>('/api/v1/tracers', { token: READ_TOKEN })
    ).tracers;
    const m0 = await (await d.api('/metrics', { token: null })).text();
    const contention = new Contention();
    const w0 = performance.now();
    const cpu0 = procCpuSeconds(pid)!;
    const rss: number[] = [procMem(pid)!.rssKiB];
    const cpuSeries: number[] = [];
    let last = cpu0;
    const end = w0 + MINUTES * 60_000;
    while (performance.now() < end) {
      await sleep(Math.min(5000, end - performance.now()));
      rss.push(procMem(pid)!.rssKiB);
      const c = procCpuSeconds(pid)!;
      cpuSeries.push(round(c - last, 2));
      last = c;
    }
    const cpu1 = procCpuSeconds(pid)!;
    const wall = (performance.now() - w0) / 1000;
    const mem1 = procMem(pid)!;
    const m1 = await (await d.api('/metrics', { token: null })).text();
    const cont = contention.stop(cpu1 - cpu0);
    const h0 = ticks(m0);
    const h1 = ticks(m1);
    const tick = Object.fromEntries(
      [...h1].map(([t, h]) => {
        const n = h.count - (h0.get(t)?.count ?? 0);
        const s = h.sum - (h0.get(t)?.sum ?? 0);
        return [
          t,
          {
            ticks: n,
            meanMs: n ? round((1000 * s) / n, 3) : null,
            totalCpuPct: round((100 * s) / wall, 3),
            p50Bucket: bucketOf(h0.get(t), h, 0.5),
            p99Bucket: bucketOf(h0.get(t), h, 0.99),
          },
        ];
      })
    );
    const captures = counter(m1, 'autotracing_captures_total') - counter(m0, 'autotracing_captures_total');
    d.signal('SIGTERM');
    await d.waitExit(30_000);
    fs.rmSync(dir, { recursive: true, force: true });
    const result = {
      when: new Date().toISOString(),
      machine: machine(),
      command: `node build/bench/idle/idle.js ${process.argv.slice(2).join(' ')}`,
      tracersEnabled: enabled,
      tracers: tracers.map((t) => ({
        type: t.type,
        enabled: t.enabled,
        implemented: t.implemented,
        scopes: new Set(t.detector.map((x) => x.scope)).size,
      })),
      fakeContainers: CONTAINERS,
      startup: { ms: startupMs, cpuSeconds: startupCpu, rssMiB: round(startupRss / 1024) },
      windowSeconds: round(wall, 1),
      cpuPctOfOneCpu: round((100 * (cpu1 - cpu0)) / wall, 2),
      cpuSecondsPer5s: cpuSeries,
      rssMiB: {
        start: round(rss[0]! / 1024),
        end: round(rss[rss.length - 1]! / 1024),
        max: round(Math.max(...rss) / 1024),
        hwm: round(mem1.hwmKiB / 1024),
      },
      tick,
      capturesInWindow: captures,
      contention: cont,
    };
    const file = writeResult(`idle-${enabled.length === 5 ? 'all' : enabled.join('+')}-${CONTAINERS}c.json`, result);
    console.log(JSON.stringify({ ...result, cpuSecondsPer5s: undefined }, null, 2));
    console.error(`→ ${file}`);
  } finally {
    for (const c of cgs.reverse()) await c.remove();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
