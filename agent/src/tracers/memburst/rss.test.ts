import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProcRssRecord } from '../../bpf/memalloc';
import { parseRssRecords } from '../../bpf/memalloc';
import { RssHistory, growthBetween, parseStatm, procKey, toSnapshot } from './rss';

const MiB = 1 << 20;

function rec(pid: number, rssMiB: number, startTime = 100n, comm = `p${pid}`): ProcRssRecord {
  return {
    pid,
    startTime,
    comm,
    cgV1: 0n,
    cgDfl: 0n,
    rssBytes: rssMiB * MiB,
    anonBytes: rssMiB * MiB,
    fileBytes: 0,
    shmemBytes: 0,
    swapBytes: 0,
  };
}

test('growth: who grew, not who is big; new processes grow from 0; a reused pid is a new process; exited ones kept', () => {
  const start = toSnapshot([rec(1, 3000), rec(2, 10), rec(3, 500), rec(4, 50)]);
  const lastSeen = toSnapshot([rec(1, 3000), rec(2, 1500), rec(3, 500), rec(4, 800), rec(5, 200)]);
  // pid 3 was replaced by another process with the same pid; pid 4 exited after growing to 800
  const end = toSnapshot([rec(1, 3001), rec(2, 2010), rec(3, 40, 999n), rec(5, 300)]);
  const g = growthBetween(start, end, lastSeen);
  assert.deepEqual(
    g.map((x) => [x.rec.pid, x.deltaBytes / MiB, x.exited]),
    [
      [2, 2000, false],
      [4, 750, true],
      [5, 300, false],
      [3, 40, false],
      [1, 1, false],
      [3, 0, true], // the first pid 3, gone
    ]
  );
  assert.equal(g.find((x) => x.rec.pid === 3)!.startBytes, 0);
  assert.equal(g.find((x) => x.rec.pid === 3)!.key, procKey({ pid: 3, startTime: 999n }));
});

test('history: the window is samples + 1 snapshots; lastSeen remembers every process of the window', () => {
  const h = new RssHistory(3);
  for (let i = 0; i < 6; i++) h.push(i * 1000, toSnapshot([rec(1, i), ...(i === 2 ? [rec(9, 70)] : [])]));
  assert.equal(h.oldest!.at, 2000);
  assert.equal(h.latest!.at, 5000);
  assert.equal(h.lastSeen().get(procKey(rec(9, 0)))!.rssBytes, 70 * MiB);
  assert.equal(h.lastSeen().get(procKey(rec(1, 0)))!.rssBytes, 5 * MiB);
  h.resize(1);
  assert.equal(h.oldest!.at, 4000);
});

test('statm and the BPF record layout', () => {
  assert.deepEqual(parseStatm('1000 300 100 10 0 200 0\n', 4096), { rssBytes: 300 * 4096, sharedBytes: 100 * 4096 });
  assert.equal(parseStatm('garbage', 4096), null);
  const b = Buffer.alloc(80);
  b.writeUInt32LE(77, 0);
  b.writeBigUInt64LE(5n, 8);
  b.writeBigUInt64LE(6n, 16);
  b.writeBigUInt64LE(7n, 24);
  b.writeBigInt64LE(10n, 32); // file
  b.writeBigInt64LE(20n, 40); // anon
  b.writeBigInt64LE(3n, 48); // shmem
  b.writeBigInt64LE(1n, 56); // swap
  b.write('memgrow', 64);
  const [r] = parseRssRecords(b, 4096);
  assert.deepEqual(r, {
    pid: 77,
    startTime: 5n,
    cgV1: 6n,
    cgDfl: 7n,
    fileBytes: 40960,
    anonBytes: 81920,
    shmemBytes: 12288,
    swapBytes: 4096,
    rssBytes: 33 * 4096,
    comm: 'memgrow',
  });
});
