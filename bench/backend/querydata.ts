// Benchmark: QueryData latency of `counts` and `events` across many agents, and the backend's RSS.
//
// How: the real executable (dist/datasource/gpx_autotracing_linux_amd64, rebuilt when stale) is
// started the way Grafana starts it (test/backend/grafanaHost.ts). The fleet is simulated on
// loopback by a separate process (agentFarm.ts) running N fixture agents, each a real HTTP server on
// its own 127.0.0.1 port serving the documented routes over ~120 fixture events; an optional per-
// response delay stands in for network and agent time. For each fleet size the client sends
// sequential QueryData calls (one query each; a warm-up call first) and reports p50/p95/max wall
// time; RSS is the plugin process's VmRSS/VmHWM from /proc after each phase.
//
// Usage: npm run -s bench:backend [-- --sizes 1,10,100,500 --iterations 20 --delay 0 --concurrency 16]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PluginProcess, dataQuery, dsSettings, ensureExecutable } from '../../test/backend/grafanaHost';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const sizes = arg('sizes', '1,10,100,500').split(',').map(Number);
const iterations = Number(arg('iterations', '20'));
const delay = Number(arg('delay', '0'));
const concurrency = Number(arg('concurrency', '16'));
const TOKEN = 'bench-token';

function rss(pid: number): { rssMiB: number; hwmMiB: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function startFarm(n: number): Promise<{ ports: number[]; stop: () => void }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'agentFarm.ts'), String(n), '120', String(delay), TOKEN],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    }
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', (c) => reject(new Error(`agent farm exited ${c}`)));
  });
  return { ports: (JSON.parse(line) as { ports: number[] }).ports, stop: () => child.stdin!.end() };
}

async function main(): Promise<void> {
  const exe = await ensureExecutable();
  const t0 = performance.now();
  const plugin = await PluginProcess.start(exe);
  const startup = performance.now() - t0;
  const idle = rss(plugin.child.pid!);
  const lines: string[] = [];
  lines.push(
    `executable: ${path.relative(process.cwd(), exe)}; start-up to handshake ${startup.toFixed(0)} ms; idle RSS ${idle.rssMiB.toFixed(1)} MiB`
  );
  lines.push(
    `machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average at start ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`
  );
  lines.push(
    `settings: concurrency ${concurrency}, per-agent delay ${delay} ms, ${iterations} sequential queries per cell, ~120 events per agent in the last hour`
  );
  lines.push('');
  lines.push('| agents | query | p50 ms | p95 ms | max ms | frames | RSS after (MiB) | peak RSS (MiB) |');
  lines.push('|---:|---|---:|---:|---:|---:|---:|---:|');
  try {
    for (const n of sizes) {
      const farm = await startFarm(n);
      try {
        const ds = dsSettings({
          uid: `bench-${n}`,
          agents: farm.ports.map((p, i) => ({ name: `agent-${i}`, url: `http://127.0.0.1:${p}` })),
          token: TOKEN,
          timeoutMs: 10_000,
          concurrency,
        });
        const to = Date.now();
        const cells: Array<{
          label: string;
          json: object;
          from: number;
          intervalMS: number;
          maxDataPoints: number;
          alert: boolean;
        }> = [
          {
            label: 'counts (1 h, 1 min)',
            json: { queryType: 'counts' },
            from: to - 3_600_000,
            intervalMS: 60_000,
            maxDataPoints: 1000,
            alert: false,
          },
          // what an alert rule sends: no user, FromAlert header, 1 s interval, 43200 points
          {
            label: 'counts (alert: 10 min, 1 s)',
            json: { queryType: 'counts' },
            from: to - 600_000,
            intervalMS: 1000,
            maxDataPoints: 43_200,
            alert: true,
          },
          {
            label: 'events (1 h, limit 500)',
            json: { queryType: 'events', limit: 500 },
            from: to - 3_600_000,
            intervalMS: 60_000,
            maxDataPoints: 1000,
            alert: false,
          },
        ];
        for (const cell of cells) {
          const label = cell.label;
          const times: number[] = [];
          let framesOut = 0;
          for (let i = 0; i <= iterations; i++) {
            const s = performance.now();
            const r = await plugin.queryData(
              ds,
              [
                dataQuery('A', cell.json, cell.from, to, {
                  intervalMS: cell.intervalMS,
                  maxDataPoints: cell.maxDataPoints,
                }),
              ],
              { fromAlert: cell.alert }
            );
            const ms = performance.now() - s;
            const resp = r.responses.A!;
            if (resp.error) throw new Error(`${label} with ${n} agents: ${resp.error}`);
            framesOut = resp.frames.length;
            if (i > 0) times.push(ms); // first call warms the instance and connections
          }
          const m = rss(plugin.child.pid!);
          lines.push(
            `| ${n} | ${label} | ${pct(times, 50).toFixed(1)} | ${pct(times, 95).toFixed(1)} | ${Math.max(...times).toFixed(1)} | ${framesOut} | ${m.rssMiB.toFixed(1)} | ${m.hwmMiB.toFixed(1)} |`
          );
          process.stderr.write(`${lines[lines.length - 1]}\n`);
        }
      } finally {
        farm.stop();
      }
    }
  } finally {
    await plugin.shutdown();
  }
  lines.push('');
  lines.push(
    `load average at end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
