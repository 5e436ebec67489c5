import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NestedFlamegraph } from '../../../agent/src/api/schemas';
import { FlamegraphShapeError, mergeGraphs, pruneTree, rowsToTree, treeToRows } from './nested';

/** Reference: folded stacks → rows (independent of the code under test). */
function nested(
  folded: Record<string, number>,
  unit: NestedFlamegraph['unit'] = 'samples',
  root = 'all'
): NestedFlamegraph {
  type N = { c: Map<string, N>; v: number; s: number };
  const r: N = { c: new Map(), v: 0, s: 0 };
  for (const [stack, n] of Object.entries(folded)) {
    let x = r;
    x.v += n;
    for (const f of stack.split(';')) {
      if (!x.c.has(f)) x.c.set(f, { c: new Map(), v: 0, s: 0 });
      x = x.c.get(f)!;
      x.v += n;
    }
    x.s += n;
  }
  const rows: NestedFlamegraph['rows'] = { label: [], level: [], value: [], self: [], kind: [] };
  const walk = (l: string, x: N, d: number): void => {
    rows.label.push(l);
    rows.level.push(d);
    rows.value.push(x.v);
    rows.self.push(x.s);
    rows.kind.push(d === 0 ? 'root' : 'user');
    // deliberately reverse order: the merge must not depend on the input's sibling order
    for (const k of [...x.c.keys()].sort().reverse()) walk(k, x.c.get(k)!, d + 1);
  };
  walk(root, r, 0);
  return { name: 'cpu', unit, total: r.v, rows };
}

function sorted(g: NestedFlamegraph): NestedFlamegraph['rows'] {
  // canonical form via the reference: rebuild folded from rows and re-nest sorted ascending
  return treeToRows(mergeGraphs([g]).root);
}

describe('nested-set flame graph merge', () => {
  it('merging graphs equals the graph of all their stacks', () => {
    const a = { 'main;a;x': 3, 'main;a': 2, 'main;b': 5, other: 1 };
    const b = { 'main;a;x': 4, 'main;c': 1, 'k;deep;er;still': 9 };
    const c = { 'main;b': 10 };
    const merged = treeToRows(mergeGraphs([nested(a), nested(b), nested(c)]).root);
    const all: Record<string, number> = {};
    for (const f of [a, b, c]) for (const [k, v] of Object.entries(f)) all[k] = (all[k] ?? 0) + v;
    const expected = sorted(nested(all));
    assert.deepEqual(merged, expected);
    assert.equal(merged.value[0], 35);
    assert.equal(merged.label[0], 'all');
    const i = merged.label.indexOf('x');
    assert.deepEqual([merged.level[i], merged.value[i], merged.self[i]], [3, 7, 7]);
  });

  it('keeps value = self + children for every node', () => {
    const rows = treeToRows(
      mergeGraphs([nested({ 'a;b;c': 1, 'a;b': 2, 'a;d': 3 }), nested({ 'a;b;c': 5, e: 1 })]).root
    );
    for (let i = 0; i < rows.label.length; i++) {
      let children = 0;
      for (let j = i + 1; j < rows.label.length && rows.level[j]! > rows.level[i]!; j++)
        if (rows.level[j] === rows.level[i]! + 1) children += rows.value[j]!;
      assert.equal(rows.value[i], rows.self[i]! + children, `node ${rows.label[i]}`);
    }
  });

  it('same label at different depths or under different parents stays apart', () => {
    const rows = treeToRows(mergeGraphs([nested({ 'a;x': 1, 'b;x': 2, 'x;x': 4 })]).root);
    assert.deepEqual(
      rows.label.map((l, i) => `${rows.level[i]}:${l}:${rows.value[i]}`),
      ['0:all:7', '1:a:1', '2:x:1', '1:b:2', '2:x:2', '1:x:4', '2:x:4']
    );
  });

  it('roots with other labels (Huatuo "total") merge into "all"', () => {
    const rows = treeToRows(mergeGraphs([nested({ a: 1 }, 'samples', 'total'), nested({ a: 2 })]).root);
    assert.deepEqual(rows.label, ['all', 'a']);
    assert.deepEqual(rows.value, [3, 3]);
  });

  it('refuses mixed units and malformed rows', () => {
    assert.throws(() => mergeGraphs([nested({ a: 1 }), nested({ a: 1 }, 'bytes')]), FlamegraphShapeError);
    const bad = nested({ 'a;b': 1 });
    bad.rows.level[2] = 5;
    assert.throws(() => mergeGraphs([bad]), /jumps to level 5/);
    const short = nested({ a: 1 });
    short.rows.value.pop();
    assert.throws(() => mergeGraphs([short]), /different lengths/);
  });

  it('merges a deep graph without recursion limits', () => {
    const deep = Array.from({ length: 5000 }, (_, i) => `f${i}`).join(';');
    const rows = treeToRows(mergeGraphs([nested({ [deep]: 1 }), nested({ [deep]: 2 })]).root);
    assert.equal(rows.label.length, 5001);
    assert.equal(rows.value[5000], 3);
  });

  it('prunes to the largest nodes, folding the rest into their parents', () => {
    const folded: Record<string, number> = {};
    for (let i = 0; i < 300; i++) folded[`main;worker;task${String(i).padStart(3, '0')};leaf`] = i + 1;
    folded['main;big'] = 100_000;
    const g = nested(folded);
    const root = rowsToTree(g.rows);
    const total = root.value;
    const { removed, removedValue } = pruneTree(root, 50);
    const rows = treeToRows(root);
    assert.equal(rows.label.length, 50);
    assert.equal(removed, g.rows.label.length - 50);
    assert.equal(rows.value[0], total, 'root total unchanged');
    for (let i = 0; i < rows.label.length; i++) {
      let children = 0;
      for (let j = i + 1; j < rows.label.length && rows.level[j]! > rows.level[i]!; j++)
        if (rows.level[j] === rows.level[i]! + 1) children += rows.value[j]!;
      assert.equal(rows.value[i], rows.self[i]! + children, `node ${rows.label[i]}`);
    }
    assert.ok(rows.label.includes('big'));
    assert.ok(rows.label.includes('task299') && !rows.label.includes('task000'), 'the biggest tasks stay');
    assert.ok(removedValue > 0);
    const small = rowsToTree(nested({ a: 1 }).rows);
    assert.deepEqual(pruneTree(small, 50), { removed: 0, removedValue: 0 });
  });
});
