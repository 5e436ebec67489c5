// The API over real sockets: server-sent events as captures complete (and clean-up when the client
// goes away or the server closes), and HTTPS with a self-signed certificate made by openssl.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer, httpsOptions, reloadTls } from './server';
import { ADMIN_TOKEN, READ_TOKEN, makeTestAgent } from './testAgent';
import type { AutotracingEvent } from './schemas';

function listeners(agent: ReturnType<typeof makeTestAgent>): number {
  return (agent.store as unknown as { listeners: Set<unknown> }).listeners.size;
}

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Opens an SSE stream and collects messages and comments. */
function openStream(
  port: number,
  path: string,
  headers: Record<string, string>
): Promise<{
  res: http.IncomingMessage;
  req: http.ClientRequest;
  messages: SseMessage[];
  comments: string[];
  next: (pred: (m: SseMessage) => boolean, ms?: number) => Promise<SseMessage>;
}> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      const messages: SseMessage[] = [];
      const comments: string[] = [];
      const waiters: { pred: (m: SseMessage) => boolean; done: (m: SseMessage) => void }[] = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const m: SseMessage = { event: 'message', data: '' };
          let isMessage = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) {
              m.event = line.slice(7);
              isMessage = true;
            } else if (line.startsWith('data: ')) {
              m.data += line.slice(6);
              isMessage = true;
            } else if (line.startsWith('id: ')) m.id = line.slice(4);
          }
          if (isMessage) {
            messages.push(m);
            for (const w of [...waiters]) {
              if (w.pred(m)) {
                waiters.splice(waiters.indexOf(w), 1);
                w.done(m);
              }
            }
          }
        }
      });
      const next = (pred: (m: SseMessage) => boolean, ms = 5000): Promise<SseMessage> => {
        const found = messages.find(pred);
        if (found) return Promise.resolve(found);
        return new Promise((res2, rej2) => {
          const t = setTimeout(() => rej2(new Error('no matching SSE message in time')), ms);
          waiters.push({ pred, done: (m) => (clearTimeout(t), res2(m)) });
        });
      };
      resolve({ res, req, messages, comments, next });
    });
    req.on('error', reject);
  });
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('API over sockets', () => {
  test('SSE: an event message when a capture completes, heartbeats, unsubscribed on disconnect', async () => {
    const agent = makeTestAgent();
    const app = await buildServer(agent, { https: null, heartbeatMs: 50 });
    try {
      const port = await listen(app);
      const before = listeners(agent);
      // without a token: 401 with the error shape, no stream
      const denied = await fetch(`http://127.0.0.1:${port}/api/v1/events/stream`);
      assert.equal(denied.status, 401);
      assert.equal(((await denied.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');

      const s = await openStream(port, '/api/v1/events/stream', { authorization: `Bearer ${READ_TOKEN}` });
      assert.equal(s.res.statusCode, 200);
      assert.match(String(s.res.headers['content-type']), /^text\/event-stream/);
      await until(() => listeners(agent) === before + 1);
      // a typed stream only sees its types
      const typed = await openStream(port, '/api/v1/events/stream?type=dload', {
        authorization: `Bearer ${READ_TOKEN}`,
      });

      const r = await fetch(`http://127.0.0.1:${port}/api/v1/captures`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'cpusys' }),
      });
      assert.equal(r.status, 202);
      const { id } = (await r.json()) as { id: string };
      const m = await s.next((x) => x.event === 'event' && x.id === id);
      const e = JSON.parse(m.data) as AutotracingEvent;
      assert.equal(e.id, id);
      assert.equal(e.status, 'complete');
      assert.equal(e.type, 'cpusys');
      // only completions: the insert of the capturing row was not sent
      assert.equal(s.messages.filter((x) => x.event === 'event').length, 1);
      await until(() => s.comments.some((c) => c.startsWith('heartbeat')));
      assert.equal(typed.messages.filter((x) => x.event === 'event').length, 0);

      typed.req.destroy();
      s.req.destroy();
      await until(() => listeners(agent) === before);
    } finally {
      await app.close();
      agent.close();
    }
  });

  test('SSE: closing the server ends open streams promptly', async () => {
    const agent = makeTestAgent();
    const app = await buildServer(agent, { https: null });
    const port = await listen(app);
    const s = await openStream(port, '/api/v1/events/stream', { authorization: `Bearer ${READ_TOKEN}` });
    const ended = new Promise<void>((r) => s.res.on('end', () => r()));
    const t0 = Date.now();
    await app.close();
    await ended;
    assert.ok(Date.now() - t0 < 2000, 'close was not held up by the stream');
    assert.ok(s.messages.some((m) => m.event === 'close'));
    assert.equal(listeners(agent), 0);
    agent.close();
  });

  test('requests the HTTP parser rejects get the error shape too (400, 431), never a 5xx', async () => {
    const agent = makeTestAgent();
    const app = await buildServer(agent, { https: null });
    try {
      const port = await listen(app);
      const raw = (payload: string): Promise<string> =>
        new Promise((resolve, reject) => {
          const sock = connect(port, '127.0.0.1', () => sock.end(payload));
          let got = '';
          sock.on('data', (c: Buffer) => (got += c.toString()));
          sock.on('close', () => resolve(got));
          sock.on('error', reject);
        });
      for (const [payload, status] of [
        ['GARBAGE / HTTP/1.1\r\n\r\n', 400],
        ['GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400],
        [`GET /api/v1/events HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      ] as const) {
        const res = await raw(payload);
        assert.match(res, new RegExp(`^HTTP/1.1 ${status} `), res.slice(0, 80));
        const body = JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
        assert.equal(body.error.code, 'BAD_REQUEST');
      }
    } finally {
      await app.close();
      agent.close();
    }
  });

  let hasOpenssl = true;
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    hasOpenssl = false;
  }

  test('TLS: api.tls cert and key serve HTTPS', { skip: hasOpenssl ? false : 'openssl not found' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' }
    );
    const agent = makeTestAgent({ api: { tls: { cert, key } } });
    const app = await buildServer(agent); // https options read from the config
    try {
      const port = await listen(app);
      const ca = httpsOptions(agent.config())!.cert;
      const get = (path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> =>
        new Promise((resolve, reject) => {
          https
            .get({ host: '127.0.0.1', port, path, ca, headers, servername: 'localhost' }, (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            })
            .on('error', reject);
        });
      assert.equal((await get('/healthz')).status, 200);
      assert.equal((await get('/api/v1/events')).status, 401);
      const ok = await get('/api/v1/events', { authorization: `Bearer ${READ_TOKEN}` });
      assert.equal(ok.status, 200);
      assert.deepEqual(JSON.parse(ok.body), { events: [], nextCursor: null });
      // plain HTTP to the TLS port does not get an answer from the API
      const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status,
        () => 'failed'
      );
      assert.notEqual(plain, 200);
      // an untrusted certificate is refused by the client
      await assert.rejects(fetch(`https://127.0.0.1:${port}/healthz`));
      assert.equal(reloadTls(app, agent.config()), true);
      assert.equal((await get('/healthz')).status, 200);
    } finally {
      await app.close();
      agent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
