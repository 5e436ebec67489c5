// A real Prometheus (Debian's) scraping a real agent with the rules we ship
// (provisioning/prometheus/autotracing-rules.yaml): the first capture of a type fires its alert, and
// `promtool check metrics` has nothing to say about what the agent exposes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon, tempDir, writeConfig, type Daemon } from '../helpers/daemon';
import { ROOT } from '../helpers/workloads';

const RULES = path.join(ROOT, 'provisioning/prometheus/autotracing-rules.yaml');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

interface PromAlert {
  labels: Record<string, string>;
  state: string;
}

async function promApi<T>(base: string, p: string): Promise<T> {
  const r = await fetch(base + p);
  const body = (await r.json()) as { status: string; data: T; error?: string };
  assert.equal(body.status, 'success', `${p}: ${body.error ?? r.status}`);
  return body.data;
}

async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await f();
      if (v !== null) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms (${String(last)})`);
    await sleep(500);
  }
}

test(
  'Prometheus: the first cpusys capture fires the shipped alert; promtool accepts our metrics',
  { timeout: 180_000 },
  async () => {
    for (const bin of ['prometheus', 'promtool'])
      assert.equal(
        spawnSync('sh', ['-c', `command -v ${bin}`]).status,
        0,
        `${bin} is installed (scripts/setup.sh --tests)`
      );
    const dir = tempDir('autotracing-prom-');
    writeConfig(dir, 'tracers: { cpusys: { sysThreshold: 100 } }\n');
    let d: Daemon | null = null;
    let prom: ChildProcess | null = null;
    try {
      d = await startDaemon(dir);
      const target = new URL(d.url).host;
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      fs.writeFileSync(
        path.join(dir, 'prometheus.yml'),
        `global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: [${JSON.stringify(RULES)}]
scrape_configs:
  - job_name: autotracing
    static_configs: [{ targets: [${JSON.stringify(target)}] }]
`
      );
      let promLog = '';
      prom = spawn(
        'prometheus',
        [
          `--config.file=${path.join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=warn',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] }
      );
      prom.stderr!.on('data', (b: Buffer) => (promLog = (promLog + b.toString()).slice(-8000)));

      // scraped, and the counter of the capture to come already there at 0 (for a few samples)
      await until('the agent scraped, up', 60_000, async () => {
        const t = await promApi<{ activeTargets: { health: string; lastError: string }[] }>(base, '/api/v1/targets');
        return t.activeTargets[0]?.health === 'up' ? true : null;
      });
      const zero = await until('cpusys captures at 0 over 3 s', 30_000, async () => {
        const q = encodeURIComponent(
          'count_over_time(autotracing_captures_total{type="cpusys",status="complete"}[3s])'
        );
        const r = await promApi<{ result: { value: [number, string] }[] }>(base, `/api/v1/query?query=${q}`);
        return Number(r.result[0]?.value[1] ?? 0) >= 2 ? r : null;
      });
      assert.ok(zero);
      const firingBefore = await promApi<{ alerts: PromAlert[] }>(base, '/api/v1/alerts');
      assert.deepEqual(firingBefore.alerts, [], 'nothing fires before the capture');

      // the first capture of the type
      const ev = await d.finished(await d.capture({ type: 'cpusys', durationMs: 1000 }));
      assert.equal(ev.status, 'complete', ev.error ?? '');

      const alert = await until('AutotracingCapture firing', 60_000, async () => {
        const a = await promApi<{ alerts: PromAlert[] }>(base, '/api/v1/alerts');
        return a.alerts.find((x) => x.labels.alertname === 'AutotracingCapture' && x.state === 'firing') ?? null;
      }).catch((e: Error) => {
        throw new Error(`${e.message}\nprometheus: ${promLog}`);
      });
      assert.equal(alert.labels.type, 'cpusys');
      assert.equal(alert.labels.status, 'complete');
      assert.equal(alert.labels.host, 'itest-host');

      // promtool's lint of the exposition: no complaint about anything we expose
      const text = await (await d.api('/metrics')).text();
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);
      assert.equal((lint.stdout + lint.stderr).trim(), '', 'promtool has nothing to say');
    } finally {
      if (prom && prom.exitCode === null) {
        prom.kill('SIGTERM');
        await once(prom, 'exit');
      }
      d?.signal('SIGTERM');
      await d?.waitExit().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
);
