import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Profile, type Frame } from './model';
import { CODEC_VERSION, decode, encode } from './codec';
import { toFolded } from './folded';
import { syntheticProfile } from './synthetic';

function sample(): Profile {
  const p = new Profile({ unit: 'samples', period: 10_101_010, startTime: 1_764_000_000_123, durationMs: 10_000.5 });
  const nginx: Frame = { name: 'nginx', kind: 'process' };
  p.add(
    [
      nginx,
      { name: 'main', kind: 'user', module: '/usr/sbin/nginx' },
      { name: 'do_epoll_wait', kind: 'kernel', module: 'kernel' },
    ],
    7
  );
  p.add([nginx, { name: 'main', kind: 'user', module: '/usr/sbin/nginx' }], 2);
  p.add([nginx, { name: 'main', kind: 'user' }], 1); // same name, no module: a different frame
  p.add([nginx, { name: '[unknown] libfoo.so+0x1234', kind: 'unknown', module: '/usr/lib/libfoo.so' }], 3);
  p.add(
    [
      { name: 'node', kind: 'process' },
      { name: 'LazyCompile:~h 🔥 "<&>"', kind: 'jit', module: '/tmp/perf-42.map' },
    ],
    2 ** 40
  );
  p.add([], 5);
  p.add(
    [
      { name: '', kind: 'meta' },
      { name: 'a;b\nc', kind: 'user' },
    ],
    1
  );
  return p;
}

function same(a: Profile, b: Profile): void {
  assert.deepEqual(b.stacks(), a.stacks());
  assert.deepEqual(b.meta, a.meta);
  assert.equal(b.total, a.total);
  assert.equal(b.stackCount, a.stackCount);
  assert.equal(b.nodeCount, a.nodeCount);
}

test('codec round trip is exact: frames, kinds, modules, values, metadata', () => {
  const p = sample();
  const blob = encode(p);
  assert.equal(blob.subarray(0, 3).toString('latin1'), 'PRF');
  assert.equal(blob[3], CODEC_VERSION);
  const back = decode(blob);
  same(p, back);
  assert.deepEqual(encode(back), blob, 're-encoding gives the same bytes');
  same(p, decode(new Uint8Array(blob)));
});

test('non-integer values use the float form and still round-trip exactly', () => {
  const p = new Profile({ unit: 'nanoseconds' });
  p.add([{ name: 'f', kind: 'user' }], 0.1);
  p.add(
    [
      { name: 'f', kind: 'user' },
      { name: 'g', kind: 'kernel' },
    ],
    1e300
  );
  p.add([{ name: 'h', kind: 'user' }], 2 ** 60);
  same(p, decode(encode(p)));
});

test('the encoding does not depend on insertion order', () => {
  const stacks = sample().stacks();
  const a = new Profile(sample().meta);
  const b = new Profile(sample().meta);
  for (const s of stacks) a.add(s.frames, s.value);
  for (const s of [...stacks].reverse()) b.add(s.frames, s.value);
  assert.deepEqual(encode(a), encode(b));
});

test('an empty profile round-trips', () => {
  const p = new Profile({ unit: 'bytes' });
  const back = decode(encode(p));
  same(p, back);
  assert.equal(back.unit, 'bytes');
});

test('corrupt blobs are rejected, never misread', () => {
  const blob = encode(sample());
  assert.throws(() => decode(Buffer.from('not a profile')), /not a profile blob/);
  const v2 = Buffer.from(blob);
  v2[3] = 99;
  assert.throws(() => decode(v2), /unsupported version 99/);
  for (let n = 0; n < blob.length; n++) assert.throws(() => decode(blob.subarray(0, n)), Error, `truncated at ${n}`);
  assert.throws(() => decode(Buffer.concat([blob, Buffer.from([0])])), /trailing bytes/);
});

test('a 20,000-stack profile round-trips, far smaller than its folded text', () => {
  const p = syntheticProfile({ stacks: 20_000, depth: 60, period: 10_101_010 });
  const blob = encode(p);
  same(p, decode(blob));
  assert.ok(
    blob.length * 20 < Buffer.byteLength(toFolded(p)),
    `codec ${blob.length} bytes should be under 1/20 of folded text`
  );
});
