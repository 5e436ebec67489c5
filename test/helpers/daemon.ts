// A real agent daemon for end-to-end tests: the compiled CLI's `run` in a child process, with a
// config in a temp dir, listening on a random loopback port (learned from its start-up log line).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AutotracingEvent } from '../../agent/src/events/event';
import { ROOT } from './workloads';

export const READ_TOKEN = 'read-token-0123456789abcdef';
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

export interface Daemon {
  url: string;
  dir: string;
  configFile: string;
  child: ChildProcess;
  logs: Record<string, unknown>[];
  /** GET/POST with the admin token unless one is given */
  api(pathname: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  json<T>(pathname: string, init?: RequestInit & { token?: string | null }): Promise<T>;
  /** POST /api/v1/captures; the accepted event's id (anything but 202 throws with the body) */
  capture(body: object): Promise<string>;
  /** the event once its capture has ended (complete, partial or failed) */
  finished(id: string, timeoutMs?: number): Promise<AutotracingEvent>;
  /** run the CLI against this daemon */
  cli(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }>;
  signal(sig: NodeJS.Signals): void;
  waitExit(timeoutMs?: number): Promise<number | null>;
  waitLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export const CLI = () => path.join(ROOT, 'build/agent/src/cli/main.js');

export function tempDir(prefix = 'autotracing-daemon-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeConfig(dir: string, extra = ''): string {
  const file = path.join(dir, 'agent.yaml');
  fs.writeFileSync(
    file,
    `host: itest-host
dataDir: ${path.join(dir, 'data')}
log: { level: info }
api:
  listen: 127.0.0.1:0
  tokens: { read: [${READ_TOKEN}], admin: [${ADMIN_TOKEN}] }
capture: { maxConcurrent: 2, budgetPerHour: 1h }
${extra}`
  );
  return file;
}

/** Start `agent run --config FILE` and wait until it listens. */
export async function startDaemon(
  dir: string,
  configFile = path.join(dir, 'agent.yaml'),
  opts: { startTimeoutMs?: number } = {}
): Promise<Daemon> {
  const child = spawn(process.execPath, [CLI(), 'run', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AUTOTRACING_LOG_JSON: '1' },
  });
  const logs: Record<string, unknown>[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] =
    [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    let l: Record<string, unknown>;
    try {
      l = JSON.parse(line) as Record<string, unknown>;
    } catch {
      l = { msg: line };
    }
    logs.push(l);
    for (const w of [...waiters])
      if (w.pred(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitLog = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const hit = logs.find(pred);
      if (hit) return resolve(hit);
      const t = setTimeout(
        () =>
          reject(
            new Error(
              `no matching log line within ${timeoutMs} ms; stderr: ${stderr}\nlogs: ${JSON.stringify(logs.slice(-5))}`
            )
          ),
        timeoutMs
      );
      t.unref();
      waiters.push({ pred, resolve: (l) => (clearTimeout(t), resolve(l)) });
      void exited.then((code) => {
        clearTimeout(t);
        reject(new Error(`daemon exited (${code}) before the expected log line; stderr: ${stderr}`));
      });
    });
  const started = await waitLog((l) => l.msg === 'agent started', opts.startTimeoutMs);
  const url = `http://${String(started.listen)}`;
  const api = (p: string, init: RequestInit & { token?: string | null } = {}) => {
    const token = init.token === undefined ? ADMIN_TOKEN : init.token;
    const headers = new Headers(init.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(url + p, { ...init, headers });
  };
  const json = async <T>(p: string, init?: RequestInit & { token?: string | null }) => {
    const r = await api(p, init);
    if (!r.ok) throw new Error(`${p}: HTTP ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
  return {
    url,
    dir,
    configFile,
    child,
    logs,
    api,
    json,
    async capture(body) {
      const r = await api('/api/v1/captures', { method: 'POST', body: JSON.stringify(body) });
      const text = await r.text();
      if (r.status !== 202) throw new Error(`POST /api/v1/captures ${JSON.stringify(body)}: HTTP ${r.status} ${text}`);
      return (JSON.parse(text) as { id: string }).id;
    },
    async finished(id, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const e = await json<AutotracingEvent>(`/api/v1/events/${id}`);
        if (e.status !== 'capturing') return e;
        if (Date.now() > end) throw new Error(`event ${id} still capturing after ${timeoutMs} ms`);
        await sleep(200);
      }
    },
    cli(args) {
      return new Promise((resolve) => {
        const c = spawn(process.execPath, [CLI(), ...args], {
          env: { ...process.env, AUTOTRACING_URL: url, AUTOTRACING_TOKEN: ADMIN_TOKEN },
        });
        const out: Buffer[] = [];
        let err = '';
        c.stdout.on('data', (d: Buffer) => out.push(d));
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        c.on('exit', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
      });
    },
    signal(sig) {
      child.kill(sig);
    },
    waitExit(timeoutMs = 20_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<number | null>((_, rej) => {
        timer = setTimeout(() => rej(new Error('daemon did not exit')), timeoutMs);
      });
      return Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
    },
    waitLog,
  };
}
