// The byte layouts of bpf/blockio.h as user space reads them (the kernel test checks the map sizes of
// the built object; this one checks the decoders and that the constants follow the header).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  decodeHistogram,
  decodeIoKey,
  decodeIoVal,
  decodeName,
  decodeStall,
  encodeIoKey,
  IO_HIST_BUCKETS,
  IO_HIST_POWERS,
  IO_HIST_SUB,
  IOF,
  kdev,
  kdevString,
  LAYOUT,
  percpuSlot,
  STAT_NAMES,
} from './blockio';
import { repoRoot } from './native';

const header = fs.readFileSync(path.join(repoRoot(), 'bpf/blockio.h'), 'utf8');
const define = (name: string): number => {
  const m = new RegExp(`#define ${name} \\(?(\\d+)u? ?(?:<< (\\d+))?`).exec(header);
  assert.ok(m, `${name} in blockio.h`);
  return m[2] ? Number(m[1]) << Number(m[2]) : Number(m[1]);
};

test('constants follow bpf/blockio.h', () => {
  assert.equal(IO_HIST_POWERS, define('IO_HIST_POWERS'));
  assert.equal(IO_HIST_SUB, define('IO_HIST_SUB'));
  assert.equal(LAYOUT.nameBuf, define('NAME_BUF'));
  assert.equal(LAYOUT.nameHeader, define('NAME_REC_HEADER'));
  assert.equal(LAYOUT.stallDepth, define('STALL_DEPTH'));
  for (const [k, v] of Object.entries({
    WRITE: 'IOF_WRITE',
    DIRECT: 'IOF_DIRECT',
    WRITEBACK: 'IOF_WRITEBACK',
    META: 'IOF_META',
    SWAP: 'IOF_SWAP',
    DIRTIER: 'IOF_DIRTIER',
    BLKCG: 'IOF_BLKCG',
    KTHREAD: 'IOF_KTHREAD',
    FS: 'IOF_FS',
    NOFILE: 'IOF_NOFILE',
    READAHEAD: 'IOF_READAHEAD',
    SYNC: 'IOF_SYNC',
  })) {
    assert.equal(IOF[k as keyof typeof IOF], define(v), k);
  }
  const enumBody = /enum blockio_stat \{([^}]*)\}/.exec(header)![1]!;
  const names = [...enumBody.matchAll(/\b(ST_[A-Z_]+)\b/g)].map((m) => m[1]).filter((n) => n !== 'ST_MAX');
  assert.equal(names.length, STAT_NAMES.length, 'one name per kernel counter');
});

test('io_key round trip, io_val, per-CPU histogram sums', () => {
  const k = {
    ino: 123456789012n,
    cgroup: 42n,
    cgroupV1: 7n,
    blkcg: 9n,
    tgid: 4321,
    submitter: 77,
    dev: kdev(259, 1),
    sbDev: kdev(0, 51),
    flags: IOF.WRITE | IOF.DIRTIER,
    comm: 'postgres',
  };
  const b = encodeIoKey(k);
  assert.equal(b.length, LAYOUT.ioKey);
  assert.deepEqual(decodeIoKey(b), k);
  assert.equal(kdevString(k.dev), '259:1');
  const v = Buffer.alloc(LAYOUT.ioVal);
  [3, 4096, 30, 20, 2, 15, 9].forEach((x, i) => v.writeBigUInt64LE(BigInt(x), i * 8));
  assert.deepEqual(decodeIoVal(v), { ios: 3, bytes: 4096, q2cNs: 30, d2cNs: 20, d2cIos: 2, q2cMaxNs: 15, d2cMaxNs: 9 });

  const slot = percpuSlot(LAYOUT.histVal);
  const vals = Buffer.alloc(slot * 2);
  for (let cpu = 0; cpu < 2; cpu++) {
    const o = cpu * slot;
    vals.writeBigUInt64LE(BigInt(10 + cpu), o); // ios
    vals.writeBigUInt64LE(BigInt(100 * (cpu + 1)), o + 40); // q2c max
    vals.writeBigUInt64LE(1n, o + 64 + 5 * 8); // q2c bucket 5
    vals.writeBigUInt64LE(2n, o + 64 + (IO_HIST_BUCKETS + 7) * 8); // d2c bucket 7
  }
  const key = Buffer.alloc(8);
  key.writeUInt32LE(kdev(7, 0), 0);
  key.writeUInt32LE(1, 4);
  const h = decodeHistogram(key, vals, slot);
  assert.equal(h.op, 'write');
  assert.equal(h.disk, kdev(7, 0));
  assert.equal(h.ios, 21);
  assert.equal(h.q2cMaxNs, 200);
  assert.equal(h.q2c[5], 2);
  assert.equal(h.d2c[7], 4);
});

test('name and stall records', () => {
  const parts = ['data.db', 'pg', 'var'];
  const body = Buffer.from(parts.map((p) => p + '\0').join(''));
  const b = Buffer.alloc(LAYOUT.nameHeader + body.length);
  b.writeUInt32LE(1, 0);
  b.writeUInt32LE(kdev(8, 1), 4);
  b.writeBigUInt64LE(99n, 8);
  b.writeUInt16LE(3, 16);
  b.writeUInt16LE(2, 18); // deleted
  b.writeUInt32LE(body.length, 20);
  body.copy(b, LAYOUT.nameHeader);
  assert.deepEqual(decodeName(b), {
    sbDev: kdev(8, 1),
    ino: 99n,
    components: ['var', 'pg', 'data.db'],
    truncated: false,
    deleted: true,
    noDentry: false,
  });
  assert.equal(decodeName(Buffer.alloc(8)), null);

  const s = Buffer.alloc(LAYOUT.stallRec);
  s.writeUInt32LE(2, 0);
  s.writeUInt32LE(11, 4);
  s.writeUInt32LE(10, 8);
  s.writeUInt32LE(3, 12);
  s.writeBigUInt64LE(250_000_000n, 16);
  s.writeBigUInt64LE(5n, 24);
  s.write('dd', 32);
  s.writeBigUInt64LE(0xffffffff81000001n, 48);
  s.writeBigUInt64LE(0xffffffff81000002n, 56);
  assert.deepEqual(decodeStall(s, true), {
    tid: 11,
    tgid: 10,
    comm: 'dd',
    waitNs: 250_000_000,
    cgroup: 5n,
    stack: [0xffffffff81000001n, 0xffffffff81000002n],
    stillWaiting: true,
  });
});
