// The real stack the browser test and scripts/record-fixtures.ts run against, with nothing faked:
// an agent daemon (`node build/agent/src/cli/main.js run`, root: it loads BPF programs) on a free
// loopback port with its own data folder and tokens, workloads that give its captures something to
// show (stress-ng, a process in a docker-like cgroup), and the datasource backend executable spawned
// and spoken to the way Grafana does (test/backend/grafanaHost.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AutotracingEvent } from '../../agent/src/api/schemas';
import type { DataSourceInstanceSettings } from '../../src/backend/plugin/messages';
import { PluginProcess, dsSettings, ensureExecutable } from '../backend/grafanaHost';

/** The repository root (from test/browser/ when run with tsx, or from a compiled copy under build/). */
export const REPO = ((): string => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'agent', 'src'))) return dir;
  }
  throw new Error(`no repository root above ${__dirname}`);
})();
const AGENT_MAIN = path.join(REPO, 'build', 'agent', 'src', 'cli', 'main.js');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new Error(`${what} runs a real agent, which loads BPF programs: run it as root`);
}

/** `npx tsc -p tsconfig.node.json` when the agent's build is missing (a fresh clone after setup.sh has it). */
export function ensureAgentBuild(): void {
  if (fs.existsSync(AGENT_MAIN)) return;
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.node.json'], { cwd: REPO, stdio: 'inherit' });
  if (r.status !== 0 || !fs.existsSync(AGENT_MAIN)) throw new Error(`cannot build the agent (${AGENT_MAIN} missing)`);
}

export interface AgentOptions {
  host?: string;
  /** YAML of the `tracers:` section (indented by the caller is not needed: one line per tracer) */
  tracers?: Record<string, Record<string, string | number | boolean>>;
}

export class RealAgent {
  url = '';
  logs = '';
  readonly readToken = `read-${randomBytes(12).toString('hex')}`;
  readonly adminToken = `admin-${randomBytes(12).toString('hex')}`;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autotracing-agent-'));
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly opts: AgentOptions = {}) {}

  /** Starts the daemon with `api.listen: 127.0.0.1:0` and waits for its "agent started" line. */
  async start(timeoutMs = 30_000): Promise<this> {
    ensureAgentBuild();
    const tracers = Object.entries(this.opts.tracers ?? {})
      .map(
        ([t, kv]) =>
          `  ${t}: { ${Object.entries(kv)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')} }`
      )
      .join('\n');
    const config = [
      `host: ${this.opts.host ?? 'autotracing-test'}`,
      `dataDir: ${path.join(this.dir, 'data')}`,
      'api:',
      '  listen: 127.0.0.1:0',
      `  tokens: { read: [${this.readToken}], admin: [${this.adminToken}] }`,
      tracers ? `tracers:\n${tracers}` : '',
    ].join('\n');
    const file = path.join(this.dir, 'agent.yaml');
    fs.writeFileSync(file, `${config}\n`);
    const child = spawn(process.execPath, [AGENT_MAIN, 'run', '--config', file], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.on('exit', () => resolve()));
    const onData = (d: Buffer) => (this.logs += d.toString());
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const until = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.logs.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const l = JSON.parse(line) as { msg?: string; listen?: string };
          if (l.msg === 'agent started' && l.listen) {
            this.url = `http://${l.listen}`;
            return this;
          }
        } catch {
          // a partial line: read on
        }
      }
      if (child.exitCode !== null) throw new Error(`agent exited (${child.exitCode}) before it started:\n${this.logs}`);
      if (Date.now() > until) throw new Error(`agent did not start within ${timeoutMs} ms:\n${this.logs}`);
      await sleep(50);
    }
  }

  /** SIGTERM (captures in flight end partial, the database closes), SIGKILL after 10 s; removes its folder. */
  async stop(): Promise<void> {
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** One API call; the body is parsed as JSON when it is JSON. */
  async api<T = unknown>(
    method: string,
    route: string,
    body?: unknown,
    admin = false
  ): Promise<{ status: number; body: T; text: string; headers: Headers }> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${route}`, {
        method,
        headers: {
          Authorization: `Bearer ${admin ? this.adminToken : this.readToken}`,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      const c = this.child;
      const state = c
        ? c.exitCode !== null || c.signalCode !== null
          ? `exited (code ${c.exitCode}, signal ${c.signalCode})`
          : 'running'
        : 'not started';
      throw new Error(
        `${method} ${route}: ${(e as Error).message} (${(e as Error).cause ?? ''}); agent ${state}; its last log lines:\n${this.logs.split('\n').slice(-15).join('\n')}`
      );
    }
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, text, headers: res.headers };
  }

  async get<T = unknown>(route: string): Promise<T> {
    const r = await this.api<T>('GET', route);
    if (r.status !== 200) throw new Error(`GET ${route}: ${r.status} ${r.text}`);
    return r.body;
  }

  /** POST /api/v1/captures; the answer as it came (202, or the refusal: 501 for a tracer not implemented yet). */
  capture(type: string, extra: { durationMs?: number; container?: string } = {}) {
    return this.api<{ id?: string; status?: string; error?: { code: string; message: string } }>(
      'POST',
      '/api/v1/captures',
      { type, ...extra },
      true
    );
  }

  /** Polls an event until its capture has ended (complete, partial or failed). */
  async waitForEvent(id: string, timeoutMs = 30_000): Promise<AutotracingEvent> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.api<AutotracingEvent>('GET', `/api/v1/events/${id}`);
      if (r.status === 200 && r.body.status !== 'capturing') return r.body;
      if (Date.now() > until)
        throw new Error(`event ${id} still ${r.status === 200 ? r.body.status : r.status} after ${timeoutMs} ms`);
      await sleep(250);
    }
  }

  /** Waits for an event the detector of `type` triggered (not a manual capture) and for its capture to end. */
  async waitForTrigger(
    type: string,
    timeoutMs: number,
    match: (e: AutotracingEvent) => boolean = () => true
  ): Promise<AutotracingEvent | null> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const list = await this.get<{ events: AutotracingEvent[] }>(`/api/v1/events?type=${type}&limit=50`);
      const hit = list.events.find((e) => e.trigger.metric !== 'manual' && match(e));
      if (hit) return this.waitForEvent(hit.id);
      await sleep(500);
    }
    return null;
  }
}

/** A workload process in its own process group, killed (the whole group) by stop(). */
export class Workload {
  readonly child: ChildProcess;
  output = '';
  constructor(cmd: string, args: string[], opts: { cwd?: string; stdin?: boolean } = {}) {
    this.child = spawn(cmd, args, {
      cwd: opts.cwd ?? os.tmpdir(), // workloads like stress-ng leave files in their working directory when killed
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.on('error', (e) => (this.output += `spawn error: ${e.message}\n`));
  }

  get pid(): number {
    if (!this.child.pid) throw new Error(`workload did not start: ${this.output}`);
    return this.child.pid;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null || !this.child.pid) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
    await exited;
  }
}

/** `stress-ng --open N`: open(2)/close(2) in a loop, i.e. CPU time in the kernel (cpusys). */
export function openStorm(workers = 1): Workload {
  return new Workload('stress-ng', [
    '--open',
    String(workers),
    '--temp-path',
    os.tmpdir(),
    '--timeout',
    '120s',
    '--quiet',
  ]);
}

/**
 * A docker-like container without a runtime: a cgroup named like Docker's on cgroup v1
 * (/sys/fs/cgroup/<cpu|cpuacct>/docker/<64 hex>) or v2 (/sys/fs/cgroup[/unified]/docker/<64 hex>), with a
 * workload moved into it. The agent recognises it from the cgroup path alone.
 */
export class FakeContainer {
  readonly id = randomBytes(32).toString('hex');
  readonly dirs: string[] = [];
  workload: Workload | null = null;

  create(): this {
    const v1 = ['cpu', 'cpuacct']
      .map((c) => path.join('/sys/fs/cgroup', c))
      .filter((d) => fs.existsSync(path.join(d, 'cgroup.procs')) && !fs.existsSync(path.join(d, 'cgroup.controllers')));
    const roots = v1.length
      ? v1
      : [fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified'];
    for (const root of roots) {
      const dir = path.join(root, 'docker', this.id);
      fs.mkdirSync(dir, { recursive: true });
      this.dirs.push(dir);
    }
    return this;
  }

  /**
   * Starts `cmd` inside every cgroup of the container: a shell waits on its stdin until it has been moved,
   * then execs the command, so every process the command forks starts inside.
   */
  run(cmd: string, args: string[]): Workload {
    const w = new Workload('sh', ['-c', 'read _go; exec "$@"', 'sh', cmd, ...args], { stdin: true });
    for (const dir of this.dirs) fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(w.pid));
    w.child.stdin!.end('go\n');
    this.workload = w;
    return w;
  }

  async remove(): Promise<void> {
    await this.workload?.stop();
    for (const dir of this.dirs) {
      // processes leave a cgroup a moment after they die
      for (let i = 0; i < 50; i++) {
        try {
          fs.rmdirSync(dir);
          break;
        } catch {
          await sleep(100);
        }
      }
    }
  }
}

export const DS_UID = 'autotracing';

/** The datasource backend executable (rebuilt when its sources are newer), configured with one agent. */
export async function startBackend(
  agent: RealAgent,
  agentName = 'local'
): Promise<{ plugin: PluginProcess; ds: DataSourceInstanceSettings }> {
  const exe = await ensureExecutable();
  const plugin = await PluginProcess.start(exe);
  const ds = dsSettings({
    uid: DS_UID,
    agents: [{ name: agentName, url: agent.url }],
    token: agent.readToken,
    timeoutMs: 10_000,
  });
  return { plugin, ds };
}
