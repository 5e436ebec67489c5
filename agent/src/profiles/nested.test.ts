import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { NestedFlamegraphSchema } from '../api/schemas';
import { Profile, compareFrames, type Frame, type FrameKind } from './model';
import {
  OTHER_LABEL,
  fromNestedRows,
  grafanaUnit,
  toDiffFlamegraph,
  toDiffRows,
  toNestedFlamegraph,
  toNestedRows,
  type DiffRows,
  type NestedRows,
} from './nested';
import { syntheticProfile } from './synthetic';

const u = (name: string, module?: string): Frame =>
  module === undefined ? { name, kind: 'user' } : { name, kind: 'user', module };
const k = (name: string): Frame => ({ name, kind: 'kernel' });
const proc = (name: string): Frame => ({ name, kind: 'process' });

function sample(): Profile {
  const p = new Profile({ unit: 'samples', period: 10_101_010 });
  p.add([proc('nginx'), u('main', '/usr/sbin/nginx'), u('ngx_process_events'), k('do_epoll_wait')], 7);
  p.add([proc('nginx'), u('main', '/usr/sbin/nginx'), u('ngx_process_events')], 2);
  p.add([proc('nginx'), u('main', '/usr/sbin/nginx'), u('accept')], 4);
  p.add([proc('bash'), u('readline', '/usr/lib/libreadline.so.8')], 1);
  p.add([proc('bash'), k('readline')], 3);
  return p;
}

/**
 * Structural checks on nested-set rows: root "all" first and only at level 0; levels step down by at
 * most one (pre-order); value = self + sum(children values) for `valueKey`/`selfKey`; siblings sorted.
 * Returns the parent index of each row.
 */
function checkRows(
  rows: NestedRows | DiffRows,
  valueKey: 'value' | 'valueRight' = 'value',
  selfKey: 'self' | 'selfRight' = 'self'
): number[] {
  const value = valueKey === 'value' ? rows.value : (rows as DiffRows).valueRight;
  const self = selfKey === 'self' ? rows.self : (rows as DiffRows).selfRight;
  const n = rows.label.length;
  assert.equal(rows.label[0], 'all');
  assert.equal(rows.level[0], 0);
  const parent: number[] = [-1];
  const open: number[] = [0];
  const childSum = new Array<number>(n).fill(0);
  const lastChild = new Array<number>(n).fill(-1);
  for (let i = 1; i < n; i++) {
    const level = rows.level[i]!;
    assert.ok(level >= 1 && level <= open.length, `row ${i}: level ${level} after ${rows.level[i - 1]}`);
    open.length = level;
    const par = open[level - 1]!;
    parent.push(par);
    childSum[par] += value[i]!;
    const prev = lastChild[par]!;
    if (prev >= 0) {
      const a: Frame = { name: rows.label[prev]!, kind: rows.kind[prev]!, module: rows.module[prev] || undefined };
      const b: Frame = { name: rows.label[i]!, kind: rows.kind[i]!, module: rows.module[i] || undefined };
      assert.ok(rows.label[i] === OTHER_LABEL || compareFrames(a, b) < 0, `siblings ${prev} and ${i} out of order`);
    }
    lastChild[par] = i;
    open.push(i);
  }
  for (let i = 0; i < n; i++)
    assert.equal(value[i], self[i]! + childSum[i]!, `row ${i} (${rows.label[i]}): value = self + children`);
  return parent;
}

test('nested rows: depth-first pre-order, root "all", value = self + children, sums = total', () => {
  const p = sample();
  const rows = toNestedRows(p);
  checkRows(rows);
  assert.equal(rows.value[0], p.total);
  assert.equal(
    rows.self.reduce((a, b) => a + b, 0),
    p.total
  );
  assert.deepEqual(
    rows.label.map((l, i) => `${'  '.repeat(rows.level[i]!)}${l}`),
    [
      'all',
      '  bash',
      '    readline',
      '    readline',
      '  nginx',
      '    main',
      '      accept',
      '      ngx_process_events',
      '        do_epoll_wait',
    ]
  );
  assert.deepEqual(rows.kind, [
    'meta',
    'process',
    'kernel',
    'user',
    'process',
    'user',
    'user',
    'user',
    'kernel',
  ] as FrameKind[]);
  assert.deepEqual(rows.module, ['', '', '', '/usr/lib/libreadline.so.8', '', '/usr/sbin/nginx', '', '', '']);
  assert.deepEqual(rows.value, [17, 4, 3, 1, 13, 13, 4, 9, 7]);
  assert.deepEqual(rows.self, [0, 0, 3, 1, 0, 0, 4, 2, 7]);
});

test('nested flame graph matches the API schema and names the Grafana unit', () => {
  const fg = toNestedFlamegraph(sample(), 'cpu');
  assert.ok(
    Value.Check(NestedFlamegraphSchema, fg),
    [...Value.Errors(NestedFlamegraphSchema, fg)].map((e) => e.message).join('; ')
  );
  assert.equal(fg.unit, 'samples');
  assert.equal(fg.total, 17);
  assert.equal(grafanaUnit('nanoseconds'), 'ns');
  assert.equal(grafanaUnit('bytes'), 'bytes');
  assert.equal(grafanaUnit('samples'), 'short');
});

test('minValue folds small children into one "[other]" row per parent, keeping the sums', () => {
  const p = sample();
  const rows = toNestedRows(p, { minValue: 4 });
  checkRows(rows);
  assert.equal(rows.value[0], p.total);
  const others = rows.label.flatMap((l, i) =>
    l === OTHER_LABEL ? [[rows.level[i], rows.value[i], rows.kind[i]]] : []
  );
  assert.deepEqual(others, [
    [2, 4, 'meta'], // bash: readline (kernel, 3) + readline (user, 1)
  ]);
  assert.ok(!rows.label.includes('readline'));
});

test('rows read back into the same profile (kinds and modules included)', () => {
  const p = sample();
  const back = fromNestedRows(toNestedRows(p), p.meta);
  assert.deepEqual(back.stacks(), p.stacks());
  assert.deepEqual(back.meta, p.meta);
  assert.deepEqual(toNestedRows(back), toNestedRows(p));
});

test('rows without kind/module and with another root label (Huatuo\'s "total") are accepted', () => {
  const rows = { label: ['total', 'a', 'b', 'c'], level: [0, 1, 2, 1], value: [10, 6, 4, 4], self: [0, 2, 4, 4] };
  const p = fromNestedRows(rows, { unit: 'count' });
  assert.equal(p.total, 10);
  assert.deepEqual(
    p.stacks().map((s) => [s.frames.map((f) => f.name).join(';'), s.value]),
    [
      ['a', 2],
      ['a;b', 4],
      ['c', 4],
    ]
  );
});

test('malformed rows are rejected', () => {
  const ok = { label: ['all', 'a', 'b'], level: [0, 1, 2], value: [3, 3, 1], self: [0, 2, 1] };
  assert.doesNotThrow(() => fromNestedRows(ok));
  assert.throws(() => fromNestedRows({ ...ok, level: [0, 2, 1] }), /level/);
  assert.throws(() => fromNestedRows({ ...ok, level: [1, 1, 2] }), /level/);
  assert.throws(() => fromNestedRows({ ...ok, level: [0, 1, 0] }), /level/);
  assert.throws(() => fromNestedRows({ ...ok, value: [3, 4, 1] }), /self \+ children/);
  assert.throws(() => fromNestedRows({ ...ok, self: [0, 2] }), /column self/);
  assert.throws(() => fromNestedRows({ ...ok, self: [0, -2, 1] }), /bad self/);
});

/**
 * Lay rows out the way @grafana/flamegraph's nestedSetToLevels does (bar width = value + valueRight,
 * a sibling starts where the previous one ends, a first child where its parent starts) and check that
 * every bar lies inside its parent's bar.
 */
function checkGrafanaLayout(rows: { level: number[]; value: number[]; valueRight?: number[] }): void {
  const width = (i: number): number => rows.value[i]! + (rows.valueRight?.[i] ?? 0);
  const start: number[] = [];
  const lastAtLevel: number[] = [];
  const stack: number[] = [];
  for (let i = 0; i < rows.level.length; i++) {
    const level = rows.level[i]!;
    stack.length = level;
    const parent = stack[level - 1];
    const prev = lastAtLevel[level];
    const sameParentSibling = prev !== undefined && parent !== undefined && prev > parent;
    start[i] = sameParentSibling ? start[prev]! + width(prev) : parent !== undefined ? start[parent]! : 0;
    if (parent !== undefined)
      assert.ok(start[i]! + width(i) <= start[parent]! + width(parent) + 1e-9, `row ${i} overflows its parent`);
    lastAtLevel[level] = i;
    stack.push(i);
  }
}

test('diff rows cover the union tree; each side sums correctly; one-sided frames get zeros', () => {
  const left = sample();
  const right = new Profile({ unit: 'samples', period: 10_101_010 });
  right.add([proc('nginx'), u('main', '/usr/sbin/nginx'), u('ngx_process_events'), k('do_epoll_wait')], 20);
  right.add([proc('nginx'), u('main', '/usr/sbin/nginx'), u('gzip')], 5);
  right.add([proc('curl'), u('main')], 1);
  const rows = toDiffRows(left, right);
  checkRows(rows, 'value', 'self');
  checkRows(rows, 'valueRight', 'selfRight');
  assert.equal(rows.value[0], left.total);
  assert.equal(rows.valueRight[0], right.total);
  const n = rows.label.length;
  for (const col of ['self', 'value', 'valueRight', 'selfRight', 'kind', 'module'] as const)
    assert.equal(rows[col].length, n);
  const row = (path: string): number => {
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      names.length = rows.level[i]!;
      names.push(rows.label[i]!);
      if (names.join(';') === path) return i;
    }
    return -1;
  };
  const gzip = row('all;nginx;main;gzip');
  assert.deepEqual([rows.value[gzip], rows.self[gzip], rows.valueRight[gzip], rows.selfRight[gzip]], [0, 0, 5, 5]);
  const accept = row('all;nginx;main;accept');
  assert.deepEqual(
    [rows.value[accept], rows.self[accept], rows.valueRight[accept], rows.selfRight[accept]],
    [4, 4, 0, 0]
  );
  const epoll = row('all;nginx;main;ngx_process_events;do_epoll_wait');
  assert.deepEqual([rows.value[epoll], rows.valueRight[epoll]], [7, 20]);
  assert.deepEqual([rows.value[row('all;curl')], rows.valueRight[row('all;curl')]], [0, 1]);
  assert.deepEqual([rows.value[row('all;bash')], rows.valueRight[row('all;bash')]], [4, 0]);
  // Every stack of either side appears exactly once.
  assert.equal(rows.self.filter((v, i) => v > 0 || rows.selfRight[i]! > 0).length, 7);
  checkGrafanaLayout(rows);

  const fg = toDiffFlamegraph(left, right, 'cpu');
  assert.equal(fg.total, 17);
  assert.equal(fg.totalRight, 26);
  assert.throws(() => toDiffRows(left, new Profile({ unit: 'bytes' })), /cannot diff/);
});

test('diff of a profile against itself and against an empty one', () => {
  const p = sample();
  const same = toDiffRows(p, p);
  assert.deepEqual(same.value, same.valueRight);
  assert.deepEqual(same.self, same.selfRight);
  assert.deepEqual(same.label, toNestedRows(p).label);
  const vsEmpty = toDiffRows(p, new Profile());
  assert.ok(vsEmpty.valueRight.every((v) => v === 0));
  assert.deepEqual(vsEmpty.value, toNestedRows(p).value);
});

test('a 20,000-stack profile converts to rows, diff rows and back', () => {
  const p = syntheticProfile({ stacks: 20_000, depth: 60 });
  const rows = toNestedRows(p);
  assert.equal(rows.label.length, p.nodeCount);
  checkRows(rows);
  checkGrafanaLayout(rows);
  const back = fromNestedRows(rows, p.meta);
  assert.equal(back.stackCount, 20_000);
  assert.equal(back.total, p.total);
  const other = syntheticProfile({ stacks: 20_000, depth: 60, seed: 2 });
  const diff = toDiffRows(p, other);
  assert.equal(diff.value[0], p.total);
  assert.equal(diff.valueRight[0], other.total);
  checkGrafanaLayout(diff);
});
