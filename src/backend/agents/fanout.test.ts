import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentError } from './client';
import { Semaphore, failureSummary, fanOut } from './fanout';

const targets = Array.from({ length: 10 }, (_, i) => ({ name: `a${i}`, url: `http://10.0.0.${i}:1` }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fan-out', () => {
  it('runs every target, at most `limit` at a time, results in target order', async () => {
    let active = 0;
    let peak = 0;
    const res = await fanOut(
      targets,
      async (t) => {
        active++;
        peak = Math.max(peak, active);
        await sleep(5 + Math.random() * 10);
        active--;
        return t.name;
      },
      { semaphore: new Semaphore(3), timeoutMs: 1000 }
    );
    assert.equal(peak, 3);
    assert.deepEqual(
      res.ok.map((r) => r.value),
      targets.map((t) => t.name)
    );
    assert.deepEqual(res.failed, []);
  });

  it('times each target out on its own deadline, which starts when its turn comes', async () => {
    const t0 = Date.now();
    const res = await fanOut(
      targets.slice(0, 4),
      async (t, signal) => {
        if (t.name === 'a1') await new Promise((_, rej) => signal.addEventListener('abort', () => rej(signal.reason)));
        await sleep(40);
        return 1;
      },
      { semaphore: new Semaphore(1), timeoutMs: 100 }
    );
    assert.deepEqual(
      res.ok.map((r) => r.agent),
      ['a0', 'a2', 'a3'],
      'queued targets did not time out while waiting'
    );
    assert.deepEqual(
      res.failed.map((f) => [f.agent, f.kind, f.reason]),
      [['a1', 'timeout', 'timed out after 100 ms']]
    );
    assert.ok(Date.now() - t0 < 1000);
  });

  it('reports failures with their reasons and never rejects', async () => {
    const res = await fanOut(
      targets.slice(0, 3),
      async (t) => {
        if (t.name === 'a0') throw new AgentError('a0', 'unreachable', 'connection refused');
        if (t.name === 'a1') throw new Error('boom');
        return 'ok';
      },
      { semaphore: new Semaphore(2), timeoutMs: 1000 }
    );
    assert.equal(res.ok.length, 1);
    assert.deepEqual(
      res.failed.map((f) => f.reason),
      ['connection refused', 'boom']
    );
    assert.match(
      failureSummary(res.failed, 3),
      /^2 of 3 agents failed, results are partial — a0 \(http:\/\/10\.0\.0\.0:1\): connection refused; a1/
    );
  });

  it('stops waiting when the caller cancels', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled')), 30);
    const res = await fanOut(
      targets.slice(0, 2),
      (_t, signal) => new Promise((_, rej) => signal.addEventListener('abort', () => rej(signal.reason))),
      {
        semaphore: new Semaphore(1),
        timeoutMs: 5000,
        signal: ac.signal,
      }
    );
    assert.equal(res.failed.length, 2);
    assert.equal(res.failed[0]!.kind, 'cancelled');
  });
});
