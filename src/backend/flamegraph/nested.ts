// Nested-set flame graphs (rows in depth-first pre-order with a level; value includes children,
// self does not): parse into a tree, merge trees from many captures and agents by call path, and
// write back as rows. The merge is exact: a node's value and self in the result are the sums over
// every input that has the same path (labels from the root down, with the frame kind).
import type { NestedFlamegraph } from '../../../agent/src/api/schemas';

export interface FlameNode {
  label: string;
  kind: string;
  value: number;
  self: number;
  children: Map<string, FlameNode>;
}

export interface FlameRows {
  label: string[];
  level: number[];
  value: number[];
  self: number[];
  kind: string[];
}

export const ROOT_LABEL = 'all';

function newNode(label: string, kind: string): FlameNode {
  return { label, kind, value: 0, self: 0, children: new Map() };
}

function keyOf(label: string, kind: string): string {
  return `${kind}\u0000${label}`;
}

export class FlamegraphShapeError extends Error {}

/** Adds one nested-set graph into `root` (whose own label is kept). */
export function addRows(root: FlameNode, rows: FlameRows): void {
  const n = rows.label.length;
  if (rows.level.length !== n || rows.value.length !== n || rows.self.length !== n) {
    throw new FlamegraphShapeError('flame graph columns have different lengths');
  }
  if (n === 0) return;
  if (rows.level[0] !== 0) throw new FlamegraphShapeError('flame graph does not start at level 0');
  // path[d] = merged node at depth d of the current row's ancestry
  const path: FlameNode[] = [];
  for (let i = 0; i < n; i++) {
    const level = rows.level[i]!;
    if (!Number.isInteger(level) || level < 0 || level > path.length) {
      throw new FlamegraphShapeError(`flame graph row ${i} jumps to level ${level} from ${path.length - 1}`);
    }
    const value = Number(rows.value[i]) || 0;
    const self = Number(rows.self[i]) || 0;
    let node: FlameNode;
    if (level === 0) {
      node = root; // every level-0 row is "the root": several roots are merged into one
    } else {
      const parent = path[level - 1]!;
      const label = String(rows.label[i]);
      const kind = rows.kind[i] ?? '';
      const key = keyOf(label, kind);
      let child = parent.children.get(key);
      if (!child) {
        child = newNode(label, kind);
        parent.children.set(key, child);
      }
      node = child;
    }
    node.value += value;
    node.self += self;
    path.length = level;
    path.push(node);
  }
}

export function nestedToRows(g: NestedFlamegraph): FlameRows {
  const n = g.rows.label.length;
  return {
    label: g.rows.label,
    level: g.rows.level,
    value: g.rows.value,
    self: g.rows.self,
    kind: g.rows.kind && g.rows.kind.length === n ? g.rows.kind : new Array<string>(n).fill(''),
  };
}

/** Merges graphs of one unit into one tree rooted at "all". */
export function mergeGraphs(graphs: readonly NestedFlamegraph[]): { root: FlameNode; unit: string } {
  const root = newNode(ROOT_LABEL, 'root');
  let unit = graphs[0]?.unit ?? 'samples';
  for (const g of graphs) {
    if (g.unit !== unit) throw new FlamegraphShapeError(`cannot merge flame graphs in ${unit} with ones in ${g.unit}`);
    unit = g.unit;
    addRows(root, nestedToRows(g));
  }
  return { root, unit };
}

/** Tree → rows, depth-first pre-order, siblings by label (then kind) for a stable, comparable layout. */
export function treeToRows(root: FlameNode): FlameRows {
  const out: FlameRows = { label: [], level: [], value: [], self: [], kind: [] };
  const stack: Array<{ node: FlameNode; level: number }> = [{ node: root, level: 0 }];
  while (stack.length > 0) {
    const { node, level } = stack.pop()!;
    out.label.push(node.label);
    out.level.push(level);
    out.value.push(node.value);
    out.self.push(node.self);
    out.kind.push(node.kind);
    const children = [...node.children.values()].sort((a, b) =>
      a.label < b.label ? -1 : a.label > b.label ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0
    );
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i]!, level: level + 1 });
  }
  return out;
}

/** Grafana field unit for a profile unit. */
export function grafanaUnit(unit: string): string {
  switch (unit) {
    case 'nanoseconds':
      return 'ns';
    case 'bytes':
      return 'bytes';
    default:
      return 'short';
  }
}

/** Most nodes a flame-graph frame carries (as Pyroscope's default); smaller nodes fold into parents. */
export const MAX_FRAME_NODES = 16_384;

/**
 * Keeps at most `maxNodes` nodes, the ones with the largest values (a kept node's ancestors are
 * always kept, since a parent's value is at least its child's). A removed subtree's value moves into
 * its parent's self, so value = self + children still holds and the root total is unchanged.
 * Returns how many nodes were removed and how much value they held.
 */
export function pruneTree(
  root: FlameNode,
  maxNodes: number = MAX_FRAME_NODES
): { removed: number; removedValue: number } {
  const values: number[] = [];
  const stack: FlameNode[] = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    values.push(n.value);
    for (const c of n.children.values()) stack.push(c);
  }
  if (values.length <= maxNodes) return { removed: 0, removedValue: 0 };
  values.sort((a, b) => b - a);
  const threshold = values[maxNodes - 1]!;
  let aboveThreshold = 0;
  for (const v of values) if (v > threshold) aboveThreshold++;
  let tiesLeft = maxNodes - aboveThreshold; // nodes exactly at the threshold we may still keep
  let kept = 1;
  tiesLeft -= root.value === threshold ? 1 : 0;
  let removed = 0;
  let removedValue = 0;
  const count = (n: FlameNode): number => {
    let c = 1;
    const s: FlameNode[] = [n];
    while (s.length > 0) {
      for (const x of s.pop()!.children.values()) {
        c++;
        s.push(x);
      }
    }
    return c;
  };
  // pre-order, siblings in a stable order, so ties are resolved deterministically
  const walk: FlameNode[] = [root];
  while (walk.length > 0) {
    const n = walk.pop()!;
    const children = [...n.children.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const keep: FlameNode[] = [];
    for (const [key, c] of children) {
      let ok = c.value > threshold;
      if (!ok && c.value === threshold && tiesLeft > 0) {
        tiesLeft--;
        ok = true;
      }
      if (ok && kept < maxNodes) {
        kept++;
        keep.push(c);
      } else {
        n.children.delete(key);
        n.self += c.value;
        removed += count(c);
        removedValue += c.value;
      }
    }
    for (let i = keep.length - 1; i >= 0; i--) walk.push(keep[i]!);
  }
  return { removed, removedValue };
}

/** Rows → tree (the root keeps the rows' own root label). */
export function rowsToTree(rows: FlameRows): FlameNode {
  const root = newNode(rows.label[0] ?? ROOT_LABEL, rows.kind[0] ?? 'root');
  addRows(root, rows);
  return root;
}
