import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_STACK_FRAME, Profile, stackFromSample, type Frame, type ProfileNode } from './model';
import { syntheticProfile } from './synthetic';

const u = (name: string, module?: string): Frame =>
  module === undefined ? { name, kind: 'user' } : { name, kind: 'user', module };
const k = (name: string): Frame => ({ name, kind: 'kernel' });
const proc = (name: string): Frame => ({ name, kind: 'process' });

/** Check total = self + sum(children) everywhere; return the number of nodes with self > 0. */
function checkTree(node: ProfileNode): number {
  let sum = node.self;
  let stacks = node.self > 0 ? 1 : 0;
  for (const c of node.children?.values() ?? []) {
    assert.ok(c.total > 0, 'no empty nodes');
    sum += c.total;
    stacks += checkTree(c);
  }
  assert.equal(node.total, sum);
  return stacks;
}

test('add builds a prefix tree with totals, distinct stacks and node counts', () => {
  const p = new Profile({ unit: 'samples', period: 10_101_010 });
  p.add([proc('nginx'), u('main'), u('work'), k('sys_read')], 3);
  p.add([proc('nginx'), u('main'), u('work'), k('sys_read')], 2);
  p.add([proc('nginx'), u('main'), u('idle')], 5);
  p.add([proc('nginx'), u('main')], 1);
  assert.equal(p.total, 11);
  assert.equal(p.stackCount, 3);
  assert.equal(p.nodeCount, 1 + 5);
  assert.equal(checkTree(p.root), 3);
  assert.equal(p.root.self, 0);
  assert.deepEqual(p.meta, { unit: 'samples', period: 10_101_010 });
});

test('frames are identified by name, kind and module together', () => {
  const p = new Profile();
  p.add([u('f', 'liba.so')], 1);
  p.add([u('f', 'libb.so')], 1);
  p.add([k('f')], 1);
  p.add([u('f', 'liba.so')], 1);
  p.add([{ name: 'f', kind: 'user', module: '' }], 1); // '' module is "no module"
  p.add([u('f')], 1);
  assert.equal(p.stackCount, 4);
  assert.equal(p.root.children?.size, 4);
  assert.equal(p.frameCount, 4);
});

test('zero values are ignored, bad values and frames rejected, empty stacks kept as a meta frame', () => {
  const p = new Profile();
  p.add([u('a')], 0);
  assert.equal(p.nodeCount, 1);
  assert.throws(() => p.add([u('a')], -1), RangeError);
  assert.throws(() => p.add([u('a')], Number.NaN), RangeError);
  assert.throws(() => p.add([u('a')], Infinity), RangeError);
  assert.throws(() => p.add([{ name: 'x', kind: 'bogus' as 'user' }], 1), TypeError);
  assert.throws(() => new Profile({ unit: 'parsecs' as 'count' }), TypeError);
  p.add([], 4);
  assert.equal(p.total, 4);
  assert.equal(p.root.self, 0);
  const stacks = p.stacks();
  assert.deepEqual(stacks, [{ frames: [NO_STACK_FRAME], value: 4 }]);
  assert.throws(() => p.addIds([99], 1), RangeError);
});

test('merge adds stacks, unions the time window and refuses mismatched units or periods', () => {
  const a = new Profile({ period: 100, startTime: 1000, durationMs: 500 });
  a.add([proc('x'), u('main')], 2);
  const b = new Profile({ period: 100, startTime: 1200, durationMs: 1000 });
  b.add([proc('x'), u('main')], 3);
  b.add([proc('y'), u('main'), k('schedule')], 4);
  a.merge(b);
  assert.equal(a.total, 9);
  assert.equal(a.stackCount, 2);
  assert.equal(checkTree(a.root), 2);
  assert.equal(a.startTime, 1000);
  assert.equal(a.durationMs, 1200);
  assert.equal(b.total, 7, 'other is untouched');
  assert.throws(() => a.merge(new Profile({ unit: 'bytes' })), /cannot merge/);
  assert.throws(() => a.merge(new Profile({ period: 200 })), /different periods/);
  const twice = a.clone().merge(a.clone());
  const self = a.clone();
  self.merge(self);
  assert.deepEqual(self.stacks(), twice.stacks(), 'merging a profile into itself doubles it');
  assert.equal(self.total, 18);
  assert.equal(self.stackCount, 2);
  const c = a.clone();
  c.add([proc('z')], 1);
  assert.equal(a.total, 9);
  assert.equal(c.total, 10);
});

test('topFunctions ranks by self and by total, counting recursion once', () => {
  const p = new Profile();
  p.add([proc('app'), u('main'), u('rec'), u('rec'), u('leaf', 'libx.so')], 5);
  p.add([proc('app'), u('main'), u('rec')], 2);
  p.add([proc('app'), u('main'), k('do_syscall_64')], 3);
  const bySelf = p.topFunctions({ by: 'self', limit: 3 });
  assert.deepEqual(
    bySelf.map((s) => [s.frame.name, s.frame.kind, s.frame.module, s.self]),
    [
      ['leaf', 'user', 'libx.so', 5],
      ['do_syscall_64', 'kernel', undefined, 3],
      ['rec', 'user', undefined, 2],
    ]
  );
  const byTotal = p.topFunctions({ by: 'total' });
  const rec = byTotal.find((s) => s.frame.name === 'rec')!;
  assert.equal(rec.total, 7, 'recursive frame counted once per stack');
  assert.equal(byTotal[0]!.total, 10);
  assert.deepEqual(
    byTotal.slice(0, 2).map((s) => s.frame.name),
    ['app', 'main'],
    'equal totals and selfs: ties broken by frame order'
  );
});

test('filter keeps the stacks passing the predicate, with the same metadata', () => {
  const p = new Profile({ unit: 'nanoseconds', period: 7 });
  p.add([proc('a'), u('main'), k('vfs_read')], 10);
  p.add([proc('a'), u('main')], 5);
  p.add([proc('b'), u('main'), k('vfs_write')], 20);
  const kernelOnly = p.filter((frames) => frames.some((f) => f.kind === 'kernel'));
  assert.equal(kernelOnly.total, 30);
  assert.equal(kernelOnly.stackCount, 2);
  assert.equal(kernelOnly.unit, 'nanoseconds');
  assert.equal(kernelOnly.period, 7);
  const big = p.filter((_, v) => v >= 10);
  assert.equal(big.total, 30);
  assert.equal(p.total, 35);
});

test('stacks() and forEachStack are deterministic whatever the insertion order', () => {
  const stacks: [Frame[], number][] = [
    [[proc('b'), u('z')], 1],
    [[proc('a'), u('y'), u('x')], 2],
    [[proc('a'), u('y')], 3],
    [[proc('a'), k('y')], 4],
  ];
  const p1 = new Profile();
  for (const [s, v] of stacks) p1.add(s, v);
  const p2 = new Profile();
  for (const [s, v] of [...stacks].reverse()) p2.add(s, v);
  assert.deepEqual(p1.stacks(), p2.stacks());
  assert.deepEqual(
    p1.stacks().map((s) => s.frames.map((f) => f.name).join(';')),
    ['a;y', 'a;y', 'a;y;x', 'b;z']
  );
  assert.deepEqual(p1.stacks()[0]!.frames[1], k('y'), 'kernel sorts before user for equal names');
});

test('stackFromSample puts the process frame first, then user, then kernel frames', () => {
  const user = [u('_start', '/usr/bin/nginx'), u('main', '/usr/bin/nginx')];
  const kernel = [k('entry_SYSCALL_64'), k('do_syscall_64')];
  const s = stackFromSample({ comm: 'nginx', pid: 42, user, kernel });
  assert.deepEqual(s, [proc('nginx'), ...user, ...kernel]);
  assert.equal(stackFromSample({ comm: 'nginx', pid: 42, user, kernel }, { perPid: true })[0]!.name, 'nginx-42');
  assert.equal(stackFromSample({ comm: 'kworker/0:1', user: [], kernel }, { perPid: true })[0]!.name, 'kworker/0:1');
});

test('a 20,000 x 60 synthetic profile has the expected shape', () => {
  const p = syntheticProfile({ stacks: 20_000, depth: 60 });
  assert.equal(p.stackCount, 20_000);
  assert.equal(checkTree(p.root), 20_000);
  let depthOk = true;
  p.forEachStack((ids) => {
    if (ids.length !== 60) depthOk = false;
  });
  assert.ok(depthOk);
});
