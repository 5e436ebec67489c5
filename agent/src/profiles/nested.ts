// Nested-set rows, the data frame Grafana's flame graph (@grafana/flamegraph) renders: one row per call
// tree node in depth-first pre-order, `level` = depth (root "all" at 0), `value` = the node's total,
// `self` = the value of stacks ending there. Siblings are sorted with compareFrames (by name, then kind,
// then module) so equal profiles give equal rows. Two extra columns carry what the panel colours by:
// `kind` and `module` ('' when unknown).
//
// Diff rows (baseline vs comparison) follow @grafana/flamegraph's diff contract, checked against its
// FlameGraphDataContainer / nestedSetToLevels (packages/grafana-flamegraph, 10.x–12.x): the frame has
// `value`/`self` of the LEFT (baseline) profile only and `valueRight`/`selfRight` of the RIGHT profile;
// the renderer itself lays bars out with width value + valueRight and colours by the change of each
// side's share of its own total (root value vs root valueRight). So rows cover the union tree, raw (not
// normalised) values are given on both sides, and a node present on one side only carries zeros on the
// other. Both columns must be present together or Grafana treats the frame as a plain flame graph.
import {
  FrameTable,
  Profile,
  compareFrames,
  type Frame,
  type FrameKind,
  type ProfileNode,
  type ProfileOptions,
  type ProfileUnit,
  isFrameKind,
} from './model';

export const ROOT_LABEL = 'all';
/** Label of the meta row that collects pruned children (see NestedOptions.minValue). */
export const OTHER_LABEL = '[other]';

export interface NestedRows {
  label: string[];
  level: number[];
  value: number[];
  self: number[];
  kind: FrameKind[];
  module: string[];
}

export interface DiffRows extends NestedRows {
  valueRight: number[];
  selfRight: number[];
}

/** What /api/v1/events/:id/flamegraph?format=nested returns (NestedFlamegraphSchema in api/schemas). */
export interface NestedFlamegraph {
  name: string;
  unit: ProfileUnit;
  total: number;
  rows: NestedRows;
}

export interface DiffFlamegraph {
  name: string;
  unit: ProfileUnit;
  total: number;
  totalRight: number;
  rows: DiffRows;
}

export interface NestedOptions {
  /**
   * Children whose value is below this are not emitted one by one; per parent their values are summed
   * into one meta row "[other]" (no children), placed after its sorted siblings. The row sums stay exact.
   * Default 0: every node is emitted.
   */
  minValue?: number;
}

/** The `value.config.unit` Grafana's flame graph understands for a profile unit. */
export function grafanaUnit(unit: ProfileUnit): 'ns' | 'bytes' | 'short' {
  return unit === 'nanoseconds' ? 'ns' : unit === 'bytes' ? 'bytes' : 'short';
}

export function toNestedRows(profile: Profile, opts: NestedOptions = {}): NestedRows {
  const minValue = opts.minValue ?? 0;
  const rows: NestedRows = { label: [], level: [], value: [], self: [], kind: [], module: [] };
  const push = (label: string, level: number, value: number, self: number, kind: FrameKind, module: string): void => {
    rows.label.push(label);
    rows.level.push(level);
    rows.value.push(value);
    rows.self.push(self);
    rows.kind.push(kind);
    rows.module.push(module);
  };
  const walk = (node: ProfileNode, level: number): void => {
    let other = 0;
    for (const child of profile.sortedChildren(node)) {
      if (child.total < minValue) {
        other += child.total;
        continue;
      }
      const f = profile.frame(child.frameId);
      push(f.name, level, child.total, child.self, f.kind, f.module ?? '');
      walk(child, level + 1);
    }
    if (other > 0) push(OTHER_LABEL, level, other, other, 'meta', '');
  };
  push(ROOT_LABEL, 0, profile.total, profile.root.self, 'meta', '');
  walk(profile.root, 1);
  return rows;
}

export function toNestedFlamegraph(profile: Profile, name: string, opts: NestedOptions = {}): NestedFlamegraph {
  return { name, unit: profile.unit, total: profile.total, rows: toNestedRows(profile, opts) };
}

/** Diff rows over the union of both call trees: left = baseline, right = comparison. Units must match. */
export function toDiffRows(left: Profile, right: Profile): DiffRows {
  if (left.unit !== right.unit) throw new Error(`cannot diff a ${left.unit} profile against a ${right.unit} profile`);
  const table = new FrameTable();
  const mapL = new Int32Array(left.frameCount);
  for (let i = 0; i < mapL.length; i++) mapL[i] = table.intern(left.frame(i));
  const mapR = new Int32Array(right.frameCount);
  for (let i = 0; i < mapR.length; i++) mapR[i] = table.intern(right.frame(i));
  const order = Array.from({ length: table.size }, (_, i) => i).sort((a, b) =>
    compareFrames(table.get(a), table.get(b))
  );
  const rank = new Int32Array(table.size);
  for (let i = 0; i < order.length; i++) rank[order[i]!] = i;

  const rows: DiffRows = {
    label: [],
    level: [],
    value: [],
    self: [],
    valueRight: [],
    selfRight: [],
    kind: [],
    module: [],
  };
  const walk = (a: ProfileNode | undefined, b: ProfileNode | undefined, frame: Frame, level: number): void => {
    rows.label.push(frame.name);
    rows.level.push(level);
    rows.value.push(a?.total ?? 0);
    rows.self.push(a?.self ?? 0);
    rows.valueRight.push(b?.total ?? 0);
    rows.selfRight.push(b?.self ?? 0);
    rows.kind.push(frame.kind);
    rows.module.push(frame.module ?? '');
    const union = new Map<number, [ProfileNode | undefined, ProfileNode | undefined]>();
    if (a?.children !== undefined) for (const c of a.children.values()) union.set(mapL[c.frameId]!, [c, undefined]);
    if (b?.children !== undefined) {
      for (const c of b.children.values()) {
        const id = mapR[c.frameId]!;
        const pair = union.get(id);
        if (pair === undefined) union.set(id, [undefined, c]);
        else pair[1] = c;
      }
    }
    const ids = Array.from(union.keys()).sort((x, y) => rank[x]! - rank[y]!);
    for (const id of ids) {
      const [ca, cb] = union.get(id)!;
      walk(ca, cb, table.get(id), level + 1);
    }
  };
  walk(left.root, right.root, { name: ROOT_LABEL, kind: 'meta' }, 0);
  return rows;
}

export function toDiffFlamegraph(left: Profile, right: Profile, name: string): DiffFlamegraph {
  return { name, unit: left.unit, total: left.total, totalRight: right.total, rows: toDiffRows(left, right) };
}

/** Rows as stored or received: `kind` and `module` are optional, `value` is checked when present. */
export interface NestedRowsInput {
  label: readonly string[];
  level: readonly number[];
  self: readonly number[];
  value?: readonly number[];
  kind?: readonly string[];
  module?: readonly string[];
}

/**
 * Read nested-set rows back into a profile. The first row is the root (any label: "all", or Huatuo's
 * "total"); levels must start at 0 and grow by at most one per row; when `value` is given every row must
 * satisfy value = self + sum(children values). Throws on malformed rows.
 */
export function fromNestedRows(rows: NestedRowsInput, opts: ProfileOptions = {}): Profile {
  const n = rows.label.length;
  for (const [k, col] of [
    ['level', rows.level],
    ['self', rows.self],
    ['value', rows.value],
    ['kind', rows.kind],
    ['module', rows.module],
  ] as const) {
    if (col !== undefined && col.length !== n)
      throw new Error(`nested rows: column ${k} has ${col.length} rows, label has ${n}`);
  }
  const profile = new Profile(opts);
  if (n === 0) return profile;
  const path: number[] = [];
  const open: number[] = []; // row index per open level
  const childSum: number[] = [];
  const close = (): void => {
    const j = open.pop()!;
    const sum = childSum.pop()!;
    if (rows.value !== undefined) {
      const v = rows.value[j]!;
      const expect = rows.self[j]! + sum;
      if (!(Math.abs(v - expect) <= 1e-9 * Math.max(1, Math.abs(v)))) {
        throw new Error(`nested rows: row ${j} (${rows.label[j]}) has value ${v} but self + children = ${expect}`);
      }
    }
    if (childSum.length > 0) childSum[childSum.length - 1] += rows.value?.[j] ?? rows.self[j]! + sum;
  };
  for (let i = 0; i < n; i++) {
    const level = rows.level[i]!;
    const self = rows.self[i]!;
    if (!Number.isInteger(level) || (i === 0 ? level !== 0 : level < 1 || level > open.length)) {
      throw new Error(`nested rows: row ${i} has level ${level} after level ${i === 0 ? '(none)' : rows.level[i - 1]}`);
    }
    if (typeof self !== 'number' || !Number.isFinite(self) || self < 0)
      throw new Error(`nested rows: row ${i} has bad self ${self}`);
    while (open.length > level) close();
    open.push(i);
    childSum.push(0);
    if (i === 0) {
      if (self > 0) profile.add([], self);
      continue;
    }
    const k = rows.kind?.[i];
    const kind: FrameKind = k === undefined ? 'user' : isFrameKind(k) ? k : 'unknown';
    const mod = rows.module?.[i];
    const frame: Frame = mod ? { name: rows.label[i]!, kind, module: mod } : { name: rows.label[i]!, kind };
    path[level - 1] = profile.internFrame(frame);
    if (self > 0) profile.addIds(path, self, level);
  }
  while (open.length > 0) close();
  return profile;
}
