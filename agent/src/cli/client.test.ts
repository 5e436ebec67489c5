// The client commands against a real API server (buildServer on a random port, real store).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import type { FastifyInstance } from 'fastify';
import { fromPprof } from '../profiles/pprof';
import { fromFolded } from '../profiles/folded';
import { buildServer } from '../api/server';
import {
  ADMIN_TOKEN,
  READ_TOKEN,
  addEvent,
  makeTestAgent,
  smallProfile,
  testContainer,
  type TestAgent,
} from '../api/testAgent';
import type { AutotracingEvent, NestedFlamegraph } from '../api/schemas';
import { UsageError } from './args';
import { ApiClient, listenToUrl, resolveTarget, ClientError, type Io } from './client';
import { clientCommands, runFlamegraph, runTrigger, waitForEvent } from './clientCommands';
import { runEvents } from './events';

interface Captured extends Io {
  stdout(): string;
  bytes(): Buffer;
  stderr(): string;
}

function io(env: NodeJS.ProcessEnv = {}, isTTY = false): Captured {
  const out: Buffer[] = [];
  const err: string[] = [];
  return {
    out: (s) => void out.push(Buffer.from(s)),
    err: (s) => void err.push(s),
    env,
    isTTY,
    stdout: () => Buffer.concat(out).toString('utf8'),
    bytes: () => Buffer.concat(out),
    stderr: () => err.join(''),
  };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('client commands', () => {
  let agent: TestAgent;
  let app: FastifyInstance;
  let url: string;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  const events: AutotracingEvent[] = [];
  const T0 = Date.now() - 3_600_000;

  before(async () => {
    agent = makeTestAgent({ api: { maxPageSize: 4, defaultPageSize: 4 } });
    for (let i = 0; i < 10; i++) {
      events.push(
        addEvent(agent.store, {
          time: T0 + i * 60_000,
          type: i % 2 ? 'cpuidle' : 'cpusys',
          container: i % 2 ? testContainer(7) : null,
          profiles: i === 9 ? { cpu: smallProfile(), offcpu: smallProfile(5, { unit: 'nanoseconds' }) } : undefined,
        })
      );
    }
    app = await buildServer(agent, { https: null, heartbeatMs: 100 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    env = { AUTOTRACING_URL: url, AUTOTRACING_TOKEN: READ_TOKEN };
    dir = mkdtempSync(join(tmpdir(), 'cli-client-'));
  });
  after(async () => {
    await app.close();
    agent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('events list: a table newest first, paging past the server page size, filters, --json', async () => {
    const c = io(env);
    assert.equal(await runEvents(['list'], c), 0);
    const lines = c.stdout().trimEnd().split('\n');
    assert.match(lines[0]!, /^TIME\s+TYPE\s+CONTAINER\s+STATUS\s+SUMMARY\s+ID$/);
    assert.equal(lines.length, 11, 'all 10 events although the server pages by 4');
    assert.ok(lines[1]!.endsWith(events[9]!.id));
    assert.match(lines[1]!, /cpuidle\s+app-7\s+complete/);
    assert.match(lines[2]!, /cpusys\s+-\s+complete/);

    const j = io(env);
    await runEvents(['list', '--type', 'cpusys', '--limit', '3', '--json'], j);
    const list = JSON.parse(j.stdout()) as AutotracingEvent[];
    assert.deepEqual(
      list.map((e) => e.id),
      [events[8]!.id, events[6]!.id, events[4]!.id]
    );
    const byContainer = io(env);
    await runEvents(['list', '--container', 'app-7', '--json'], byContainer);
    assert.equal((JSON.parse(byContainer.stdout()) as unknown[]).length, 5);
    const since = io(env);
    await runEvents(['list', '--since', '5m', '--json'], since);
    assert.equal((JSON.parse(since.stdout()) as unknown[]).length, 0);
    const empty = io(env);
    await runEvents(['list', '--since', '5m'], empty);
    assert.equal(empty.stdout(), 'no events\n');
    await assert.rejects(runEvents(['list', '--since', '5'], io(env)), UsageError);
    await assert.rejects(runEvents(['list', '--type', 'nope'], io(env)), UsageError);
    await assert.rejects(runEvents(['list', '--bogus'], io(env)), UsageError);
  });

  test('events show: the trigger, context and evidence, or JSON', async () => {
    const e = events[9]!;
    const c = io(env);
    assert.equal(await runEvents(['show', e.id], c), 0);
    const text = c.stdout();
    assert.match(text, new RegExp(`^cpuidle capture ${e.id}: complete`));
    assert.match(text, /trigger\s+host sys 62% > 45% \(baseline 10%\)/);
    assert.match(text, /sys_percent = 62 \(threshold 45, baseline 10, delta \+52\)/);
    assert.match(text, /container\s+app-7, docker/);
    assert.match(text, /flame graph "cpu": cpu flame graph, 10 samples, 4 distinct stacks/);
    assert.match(text, /flame graph "offcpu"/);
    assert.match(text, new RegExp(`flamegraph ${e.id} --profile cpu`));
    assert.match(text, /context:\n\s+loadavg: 1, 2, 3/);
    const j = io(env);
    await runEvents(['show', e.id, '--json'], j);
    assert.deepEqual(JSON.parse(j.stdout()), e);
    await assert.rejects(
      runEvents(['show', '01HZZZZZZZZZZZZZZZZZZZZZZZ'], io(env)),
      (err: Error) => err instanceof ClientError && /no event/.test(err.message)
    );
    await assert.rejects(runEvents(['show', 'short'], io(env)), UsageError);
  });

  test('flamegraph: folded, json, svg to a file, pprof; --profile', async () => {
    const id = events[9]!.id;
    const f = io(env);
    await runFlamegraph([id], f);
    assert.equal(fromFolded(f.stdout()).total, 10);
    const j = io(env);
    await runFlamegraph([id, '--format', 'json', '--profile', 'offcpu'], j);
    const g = JSON.parse(j.stdout()) as NestedFlamegraph;
    assert.equal(g.name, 'offcpu');
    assert.equal(g.total, 50);
    const out = join(dir, 'fg.svg');
    const s = io(env);
    await runFlamegraph([id, '--format', 'svg', '--output', out], s);
    assert.match(s.stderr(), /wrote .*fg\.svg \(svg, profile "cpu"/);
    const problems: string[] = [];
    new DOMParser({ onError: (level: string, msg: string) => void problems.push(`${level}: ${msg}`) }).parseFromString(
      readFileSync(out, 'utf8'),
      'image/svg+xml'
    );
    assert.deepEqual(problems, []);
    const p = io(env);
    await runFlamegraph([id, '--format', 'pprof'], p);
    assert.equal(fromPprof(p.bytes()).total, 10);
    await assert.rejects(runFlamegraph([id, '--format', 'pprof'], io(env, true)), /binary/);
    await assert.rejects(runFlamegraph([id, '--format', 'png'], io(env)), UsageError);
    await assert.rejects(
      runFlamegraph([id, '--profile', 'alloc'], io(env)),
      (err: Error) => err instanceof ClientError && /no profile "alloc"/.test(err.message)
    );
  });

  test('trigger: starts a capture; --wait follows the stream to the end and prints it', async () => {
    const adminEnv = { ...env, AUTOTRACING_TOKEN: ADMIN_TOKEN };
    const c = io(adminEnv);
    assert.equal(await runTrigger(['cpusys', '--json'], c), 0);
    const acc = JSON.parse(c.stdout()) as { id: string; status: string };
    assert.equal(acc.status, 'capturing');
    await new Promise((r) => setTimeout(r, agent.captureMs + 50));
    const w = io(adminEnv);
    assert.equal(await runTrigger(['cpuidle', '--duration', '2', '--wait'], w), 0);
    assert.match(w.stderr(), /waiting/);
    assert.match(w.stdout(), /^cpuidle capture \w{26}: complete/);
    assert.match(w.stdout(), /capture window 2 s/);
    // refusals carry the agent's message
    await assert.rejects(
      runTrigger(['dload'], io(adminEnv)),
      (err: Error) => err instanceof ClientError && err.status === 501 && /cannot capture yet/.test(err.message)
    );
    await assert.rejects(runTrigger(['nosuch'], io(adminEnv)), UsageError);
    await assert.rejects(runTrigger(['cpusys', '--duration', '10m'], io(adminEnv)), UsageError);
  });

  test('trigger --wait when the capture ends before the stream opens, and by polling', async () => {
    const client = new ApiClient(resolveTarget({ url, token: ADMIN_TOKEN }, {}, 'admin'));
    const done = events[3]!;
    assert.equal((await waitForEvent(client, done.id, 5000)).id, done.id);
    // an agent without the stream route: polling
    const noStream = new ApiClient({ ...client.target, url: `${url}/nothing-here` });
    await assert.rejects(waitForEvent(noStream, done.id, 2000, 50), ClientError);
  });

  test('errors: connection refused, 401 without or with a bad token, 403 for a read token, bad URL', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(
      runEvents(['list'], io({ AUTOTRACING_URL: dead })),
      (err: Error) => err instanceof ClientError && /connection refused/.test(err.message) && err.message.includes(dead)
    );
    await assert.rejects(
      runEvents(['list'], io({ AUTOTRACING_URL: url })),
      (err: Error) => err instanceof ClientError && err.status === 401 && /needs a token/.test(err.message)
    );
    await assert.rejects(
      runEvents(['list', '--token', 'wrong-token-0123456789abcdef'], io({ AUTOTRACING_URL: url })),
      (err: Error) => /rejected the token from --token/.test(err.message)
    );
    await assert.rejects(
      runTrigger(['cpusys'], io(env)),
      (err: Error) => err instanceof ClientError && err.status === 403 && /admin token/.test(err.message)
    );
    await assert.rejects(runEvents(['list', '--url', 'ftp://x'], io(env)), UsageError);
    await assert.rejects(runEvents(['list', '--url', 'http://user:pw@host'], io(env)), UsageError);
    // the command table entries exist and return through main's error handling
    assert.deepEqual(Object.keys(clientCommands).sort(), ['events', 'flamegraph', 'trigger']);
  });

  test('URL and token: flags over env over --config; the config picks the token by scope', async () => {
    const port = Number(new URL(url).port);
    const cfg = join(dir, 'agent.yaml');
    writeFileSync(
      cfg,
      `api:\n  listen: 0.0.0.0:${port}\n  tokens:\n    read: [${READ_TOKEN}]\n    admin: [${ADMIN_TOKEN}]\n`
    );
    const t = resolveTarget({ config: cfg }, {}, 'read');
    assert.equal(t.url, `http://127.0.0.1:${port}`);
    assert.equal(t.token, READ_TOKEN);
    assert.equal(resolveTarget({ config: cfg }, {}, 'admin').token, ADMIN_TOKEN);
    assert.equal(
      resolveTarget({ config: cfg }, { AUTOTRACING_URL: 'http://h:1', AUTOTRACING_TOKEN: 'envtoken' }, 'read').url,
      'http://h:1'
    );
    assert.equal(
      resolveTarget({ config: cfg, token: 'flagtoken' }, { AUTOTRACING_TOKEN: 'envtoken' }, 'read').token,
      'flagtoken'
    );
    assert.equal(resolveTarget({}, {}, 'read').url, 'http://127.0.0.1:19704');
    assert.equal(resolveTarget({}, {}, 'read').token, null);
    assert.equal(listenToUrl('[::]:19704', true), 'https://[::1]:19704');
    assert.equal(listenToUrl('10.1.2.3:80', false), 'http://10.1.2.3:80');
    assert.throws(() => listenToUrl('127.0.0.1:0', false), UsageError);
    // the whole path: only --config
    const c = io({});
    await runEvents(['list', '--config', cfg, '--limit', '2', '--json'], c);
    assert.equal((JSON.parse(c.stdout()) as unknown[]).length, 2);
    writeFileSync(join(dir, 'bad.yaml'), 'api:\n  lisen: x\n');
    await assert.rejects(
      runEvents(['list', '--config', join(dir, 'bad.yaml')], io({})),
      (err: Error) => err instanceof UsageError && /api\.lisen/.test(err.message)
    );
  });
});
