import { createTheme } from '@grafana/data';
// the pinned library's own colour function (ESM build), so the test fails if a version bump changes it
import { getBarColorByPackage } from '@grafana/flamegraph/dist/esm/FlameGraph/colors.js';
import { checkFields } from '@grafana/flamegraph';

import { fixtures } from '../../__fixtures__/backend';
import {
  FRAME_KINDS,
  KIND_TAGS,
  diffRows,
  kindColor,
  isNestedSetFrame,
  kindLabel,
  rowsFromFrame,
  rowsFromNested,
  selfByKind,
  toFlameGraphFrame,
} from './frame';

const theme = createTheme({ colors: { mode: 'dark' } });
const colorOf = (label: string) => getBarColorByPackage(label, theme).toHslString();

describe('nested-set rows → FlameGraph frame', () => {
  const rows = rowsFromNested(fixtures.flamegraph.cpu);

  it('keeps the rows and passes @grafana/flamegraph field checks', () => {
    const frame = toFlameGraphFrame(rows, { unit: 'samples', colorMode: 'package' });
    expect(checkFields(frame)).toBeUndefined();
    expect(isNestedSetFrame(frame)).toBe(true);
    expect(frame.length).toBe(fixtures.flamegraph.cpu.rows.label.length);
    expect(frame.fields.find((f) => f.name === 'label')?.values).toEqual(fixtures.flamegraph.cpu.rows.label);
    expect(frame.fields.find((f) => f.name === 'value')?.config.unit).toBe('short');
    expect(rowsFromFrame(frame)).toEqual(rows);
  });

  it('maps agent units to Grafana units', () => {
    expect(toFlameGraphFrame(rows, { unit: 'nanoseconds' }).fields[2].config.unit).toBe('ns');
    expect(toFlameGraphFrame(rows, { unit: 'bytes' }).fields[2].config.unit).toBe('bytes');
  });

  it('tags labels by kind in kind mode, leaving the root alone', () => {
    const frame = toFlameGraphFrame(rows, { colorMode: 'kind' });
    const labels = frame.fields[0].values as string[];
    expect(labels[0]).toBe('all');
    // the recorded capture has process, kernel and user frames: each shown with its tag
    const firstOf = (kind: string) => rows.kind!.findIndex((k, i) => i > 0 && k === kind);
    expect(labels[firstOf('process')]).toBe(kindLabel(rows.label[firstOf('process')], 'process'));
    expect(labels[firstOf('process')]).toMatch(/^proc\. /);
    expect(labels).toContain('k. do_syscall_64');
    expect(labels[firstOf('user')]).toMatch(/^u\. /);
    // characters that would let another package pattern win become look-alikes
    const dotted = rows.label.findIndex((l, i) => i > 0 && l.includes('.'));
    expect(labels[dotted].replace(/^\S+ /, '')).not.toContain('.');
  });

  it('sums self by kind', () => {
    const byKind = selfByKind(rows);
    const total = fixtures.flamegraph.cpu.total;
    expect(Object.values(byKind).reduce((a, b) => a + b, 0)).toBe(total);
    expect(byKind.kernel).toBeGreaterThan(0);
    expect(byKind.user).toBeGreaterThan(0);
  });
});

describe('kind colours with the library palette', () => {
  const awkward = [
    'rb_erase', // matches Huatuo's ".rb" pattern without the space after the tag
    'python3.11',
    'php_module_startup',
    'std::vector<int>::push_back',
    'v8::internal::Runtime_StringAdd',
    '/usr/lib/x86_64-linux-gnu/libc.so.6`__GI___poll',
    'foo.isra.0',
    'app.py:12',
    'github.com/org/pkg.(*T).Method',
    'schedule',
  ];

  it.each(FRAME_KINDS)('gives every %s frame the same colour, the one in the legend', (kind) => {
    const colors = new Set(awkward.map((l) => colorOf(kindLabel(l, kind))));
    expect(colors.size).toBe(1);
    const legend = getBarColorByPackage(`${KIND_TAGS[kind].tag}. x`, theme);
    expect([...colors][0]).toBe(legend.toHslString());
  });

  it('gives each kind its own colour', () => {
    const colors = FRAME_KINDS.map((k) => colorOf(kindLabel('schedule', k)));
    expect(new Set(colors).size).toBe(FRAME_KINDS.length);
  });

  it('gives the legend the colour the bars are drawn in, in light and dark themes', () => {
    for (const mode of ['light', 'dark'] as const) {
      const t = createTheme({ colors: { mode } });
      for (const k of FRAME_KINDS) {
        expect(kindColor(k, t)).toBe(getBarColorByPackage(kindLabel('do_syscall_64', k), t).toHslString());
      }
    }
  });
});

describe('diff', () => {
  const capture = rowsFromNested(fixtures.flamegraph.cpu);
  const before = rowsFromNested(fixtures.flamegraph.before);
  const diff = diffRows(before, capture);

  /** Sum of `value` of the level-1 (process) rows with this label. */
  const processTotal = (r: typeof capture, label: string) =>
    r.label.reduce((a, l, i) => (r.level[i] === 1 && l === label ? a + r.value[i] : a), 0);

  it('carries the baseline in value/self and the capture in valueRight/selfRight', () => {
    expect(diff.level[0]).toBe(0);
    expect(diff.value[0]).toBe(fixtures.flamegraph.before.total);
    expect(diff.valueRight?.[0]).toBe(fixtures.flamegraph.cpu.total);
    // a process on both sides: its totals from each
    const both = capture.label.find((l, i) => capture.level[i] === 1 && processTotal(before, l) > 0)!;
    const i = diff.label.findIndex((l, j) => diff.level[j] === 1 && l === both);
    expect(diff.value[i]).toBe(processTotal(before, both));
    expect(diff.valueRight?.[i]).toBe(processTotal(capture, both));
  });

  it('keeps frames that exist on one side only, and the sums', () => {
    const onlyInCapture = capture.label.find((l, i) => capture.level[i] === 1 && processTotal(before, l) === 0);
    if (onlyInCapture) {
      const i = diff.label.findIndex((l, j) => diff.level[j] === 1 && l === onlyInCapture);
      expect(diff.value[i]).toBe(0);
      expect(diff.valueRight?.[i]).toBe(processTotal(capture, onlyInCapture));
    }
    const selfLeft = diff.self.reduce((a, b) => a + b, 0);
    const selfRight = (diff.selfRight ?? []).reduce((a, b) => a + b, 0);
    expect(selfLeft).toBe(fixtures.flamegraph.before.total);
    expect(selfRight).toBe(fixtures.flamegraph.cpu.total);
  });

  it('is a valid pre-order: a child is one level below its parent, totals ≥ children', () => {
    for (let i = 1; i < diff.level.length; i++) {
      expect(diff.level[i]).toBeLessThanOrEqual(diff.level[i - 1] + 1);
    }
    const frame = toFlameGraphFrame(diff, { colorMode: 'package' });
    expect(checkFields(frame)).toBeUndefined();
    expect(frame.fields.map((f) => f.name)).toEqual([
      'label',
      'level',
      'value',
      'self',
      'valueRight',
      'selfRight',
      'kind',
    ]);
  });
});
