/**
 * Nested-set flame-graph rows (depth-first pre-order: label, level, value, self, kind) as the agent API and
 * the datasource's `flamegraph` query return them, and their conversion to the DataFrame that
 * @grafana/flamegraph's FlameGraph renders: diff against another profile, and the labels that make its
 * package colouring tell kernel frames from user frames.
 */
import { type DataFrame, FieldType, type GrafanaTheme2, createDataFrame } from '@grafana/data';
// not exported by the package's main entry; the version is pinned and frame.test.ts checks the behaviour
import { getBarColorByPackage } from '@grafana/flamegraph/dist/esm/FlameGraph/colors.js';

import type { NestedFlamegraph } from '../../datasource/resources';

export const FRAME_KINDS = ['kernel', 'user', 'jit', 'process', 'unknown'] as const;
export type FrameKind = (typeof FRAME_KINDS)[number];

export interface NestedRows {
  label: string[];
  level: number[];
  value: number[];
  self: number[];
  /** per row: kernel | user | jit | process | unknown */
  kind?: string[];
  valueRight?: number[];
  selfRight?: number[];
}

/** Profile unit of the agent (FlamegraphRef.unit / NestedFlamegraph.unit) → Grafana field unit. */
export function grafanaUnit(unit: string | undefined): string {
  switch (unit) {
    case 'nanoseconds':
    case 'ns':
      return 'ns';
    case 'bytes':
      return 'bytes';
    default:
      return 'short';
  }
}

/** The rows the flame graph uses (the agent API may add more per row, e.g. `module`). */
export function rowsFromNested(nested: NestedFlamegraph): NestedRows {
  const { label, level, value, self, kind } = nested.rows;
  return kind ? { label, level, value, self, kind } : { label, level, value, self };
}

function numbers(frame: DataFrame, name: string): number[] | undefined {
  const f = frame.fields.find((x) => x.name === name);
  return f ? Array.from(f.values as ArrayLike<number>, (v) => Number(v)) : undefined;
}

/** Is this a nested-set flame-graph frame (label, level, value, self)? */
export function isNestedSetFrame(frame: DataFrame | undefined): frame is DataFrame {
  return Boolean(frame && ['label', 'level', 'value', 'self'].every((n) => frame.fields.some((f) => f.name === n)));
}

export function rowsFromFrame(frame: DataFrame): NestedRows {
  const labelField = frame.fields.find((f) => f.name === 'label');
  const enumText = labelField?.config.type?.enum?.text;
  const label = Array.from(labelField?.values ?? [], (v: unknown) =>
    enumText && typeof v === 'number' ? (enumText[v] ?? String(v)) : String(v)
  );
  const kindField = frame.fields.find((f) => f.name === 'kind');
  const rows: NestedRows = {
    label,
    level: numbers(frame, 'level') ?? [],
    value: numbers(frame, 'value') ?? [],
    self: numbers(frame, 'self') ?? [],
  };
  if (kindField) {
    rows.kind = Array.from(kindField.values, (v: unknown) => String(v ?? 'unknown'));
  }
  const valueRight = numbers(frame, 'valueRight');
  const selfRight = numbers(frame, 'selfRight');
  if (valueRight && selfRight) {
    rows.valueRight = valueRight;
    rows.selfRight = selfRight;
  }
  return rows;
}

interface Node {
  label: string;
  kind: string;
  value: number;
  self: number;
  valueRight: number;
  selfRight: number;
  children: Map<string, Node>;
}

function newNode(label: string, kind: string): Node {
  return { label, kind, value: 0, self: 0, valueRight: 0, selfRight: 0, children: new Map() };
}

/** Adds nested-set rows into a tree (merging identical paths), on the left or right side. */
function addRows(root: Node, rows: NestedRows, side: 'left' | 'right'): void {
  const stack: Node[] = [];
  for (let i = 0; i < rows.label.length; i++) {
    const level = rows.level[i];
    stack.length = level;
    let node: Node;
    if (level === 0) {
      node = root;
    } else {
      const parent = stack[level - 1] ?? root;
      const label = rows.label[i];
      node = parent.children.get(label) ?? newNode(label, rows.kind?.[i] ?? 'unknown');
      parent.children.set(label, node);
    }
    if (side === 'left') {
      node.value += rows.value[i];
      node.self += rows.self[i];
    } else {
      node.valueRight += rows.value[i];
      node.selfRight += rows.self[i];
    }
    stack[level] = node;
  }
}

/**
 * Diff of two profiles as @grafana/flamegraph takes it: `value`/`self` from the baseline (left),
 * `valueRight`/`selfRight` from the capture being examined (right). Red in the diff view = more in the capture.
 * Children are ordered by combined value, biggest first.
 */
export function diffRows(baseline: NestedRows, capture: NestedRows): NestedRows {
  const root = newNode(capture.label[0] ?? baseline.label[0] ?? 'all', capture.kind?.[0] ?? 'process');
  addRows(root, baseline, 'left');
  addRows(root, capture, 'right');
  const out: Required<NestedRows> = {
    label: [],
    level: [],
    value: [],
    self: [],
    kind: [],
    valueRight: [],
    selfRight: [],
  };
  const walk = (node: Node, level: number) => {
    out.label.push(node.label);
    out.level.push(level);
    out.value.push(node.value);
    out.self.push(node.self);
    out.kind.push(node.kind);
    out.valueRight.push(node.valueRight);
    out.selfRight.push(node.selfRight);
    const children = [...node.children.values()].sort((a, b) => b.value + b.valueRight - (a.value + a.valueRight));
    for (const c of children) {
      walk(c, level + 1);
    }
  };
  walk(root, 0);
  return out;
}

/**
 * Kind colouring. @grafana/flamegraph 11.3.1 colours a bar by a hash of the "package name" it reads from the
 * label (its getPackageName: php/py/rb/node patterns, then Go's `pkg.func`). It has no colour hook, so in
 * "kind" mode each label is shown as `<tag>. <name>`: the tag becomes the package name, every frame of a kind
 * hashes to the same palette entry, and the tags below were chosen to land on distinct, fixed colours
 * (checked in frame.test.ts against the library's hash and palette). The space after the tag's dot keeps the
 * php/py/rb patterns (`.php`, `.py`, `.rb` — think `rb_erase`) from matching, and characters that would let
 * another pattern win ('.', '/', ':') are replaced in the name by look-alikes (․ ∕ ∶), so the tag always decides.
 * Search in kind mode therefore matches on the look-alikes; switch to "package" colours to search for `::`.
 */
export const KIND_TAGS: Record<FrameKind, { tag: string; title: string }> = {
  kernel: { tag: 'k', title: 'kernel' }, // light blue
  user: { tag: 'u', title: 'user' }, // yellow
  jit: { tag: 'j', title: 'JIT' }, // violet
  process: { tag: 'proc', title: 'process' }, // light green
  unknown: { tag: '?', title: 'unknown' }, // peach
};

/** The colour the flame graph draws a frame of this kind in (for the legend), from the library itself. */
export function kindColor(kind: FrameKind, theme: GrafanaTheme2): string {
  return getBarColorByPackage(kindLabel('x', kind), theme).toHslString();
}

export function kindOf(kind: string | undefined): FrameKind {
  return (FRAME_KINDS as readonly string[]).includes(kind ?? '') ? (kind as FrameKind) : 'unknown';
}

export function kindLabel(label: string, kind: string | undefined): string {
  const name = label.replace(/\./g, '\u2024').replace(/\//g, '\u2215').replace(/:/g, '\u2236');
  return `${KIND_TAGS[kindOf(kind)].tag}. ${name}`;
}

export type ColorMode = 'kind' | 'package';

/** Builds the DataFrame for FlameGraph. The root row keeps its label. */
export function toFlameGraphFrame(
  rows: NestedRows,
  opts: { unit?: string; colorMode?: ColorMode; name?: string } = {}
): DataFrame {
  const unit = grafanaUnit(opts.unit);
  const byKind = opts.colorMode !== 'package' && Boolean(rows.kind);
  const labels = byKind
    ? rows.label.map((l, i) => (rows.level[i] === 0 ? l : kindLabel(l, rows.kind?.[i])))
    : rows.label;
  const fields = [
    { name: 'label', type: FieldType.string, values: labels, config: {} },
    { name: 'level', type: FieldType.number, values: rows.level, config: {} },
    { name: 'value', type: FieldType.number, values: rows.value, config: { unit } },
    { name: 'self', type: FieldType.number, values: rows.self, config: { unit } },
  ];
  if (rows.valueRight && rows.selfRight) {
    fields.push(
      { name: 'valueRight', type: FieldType.number, values: rows.valueRight, config: { unit } },
      { name: 'selfRight', type: FieldType.number, values: rows.selfRight, config: { unit } }
    );
  }
  if (rows.kind) {
    fields.push({ name: 'kind', type: FieldType.string, values: rows.kind, config: {} });
  }
  return createDataFrame({
    name: opts.name ?? 'flamegraph',
    fields,
    meta: { preferredVisualisationType: 'flamegraph' },
  });
}

/** Total value per kind, for the legend: self time attributed to each frame kind. */
export function selfByKind(rows: NestedRows): Record<FrameKind, number> {
  const out: Record<FrameKind, number> = { kernel: 0, user: 0, jit: 0, process: 0, unknown: 0 };
  if (!rows.kind) {
    return out;
  }
  for (let i = 0; i < rows.self.length; i++) {
    out[kindOf(rows.kind[i])] += rows.self[i] + (rows.selfRight?.[i] ?? 0);
  }
  return out;
}
