import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { DOMParser } from '@xmldom/xmldom';
import { Profile, type Frame } from './model';
import { toNestedRows } from './nested';
import { fitLabel, frameColor, formatValue, toSvg } from './svg';
import { syntheticProfile } from './synthetic';

// Minimal structural view of the DOM nodes xmldom returns (its own types model the DOM loosely).
interface El {
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  getElementsByTagName(name: string): ArrayLike<El>;
  textContent: string | null;
  parentNode: El | null;
  [key: string]: unknown;
}
interface Doc {
  documentElement: El;
  getElementById(id: string): El | null;
  getElementsByTagName(name: string): ArrayLike<El>;
}

function parse(svg: string): Doc {
  const problems: string[] = [];
  const doc = new DOMParser({
    onError: (level: string, msg: string) => {
      problems.push(`${level}: ${msg}`);
    },
  }).parseFromString(svg, 'image/svg+xml') as unknown as Doc;
  assert.deepEqual(problems, [], 'well-formed XML without warnings');
  return doc;
}

const EVIL = `<script>alert("x")</script> & 'q' ]]>`;
const proc = (name: string): Frame => ({ name, kind: 'process' });

function sample(): Profile {
  const p = new Profile({ unit: 'samples', period: 10_101_010, startTime: 1_764_000_000_000, durationMs: 10_000 });
  const main: Frame = { name: 'main', kind: 'user', module: '/usr/sbin/nginx' };
  p.add(
    [proc('nginx'), main, { name: 'ngx_process_events', kind: 'user' }, { name: 'do_epoll_wait', kind: 'kernel' }],
    40
  );
  p.add([proc('nginx'), main, { name: 'accept', kind: 'user' }], 20);
  p.add([proc('nginx'), main], 5);
  p.add([proc('node'), { name: EVIL, kind: 'jit' }], 30);
  p.add([proc('node'), { name: 'ctrl\u0001char\uD800lone', kind: 'unknown' }], 4);
  p.add([proc('tiny'), { name: 'a_very_long_function_name_that_cannot_fit_in_a_narrow_frame', kind: 'user' }], 1);
  return p;
}

const framesOf = (doc: Doc): El[] => Array.from(doc.getElementById('fg-frames')!.getElementsByTagName('g'));
const nameOf = (g: El): string =>
  g.getElementsByTagName('title')[0]!.textContent!.slice(0, Number(g.getAttribute('data-l')));
const rectOf = (g: El): El => g.getElementsByTagName('rect')[0]!;

test('the SVG parses as XML, has one rect per drawn frame, title, subtitle and escaped names', () => {
  const p = sample();
  const svg = toSvg(p, { title: 'CPU <profile> & "more"', subtitle: 'host a & b' });
  const doc = parse(svg);
  assert.equal(doc.documentElement.getAttribute('xmlns'), 'http://www.w3.org/2000/svg');
  assert.equal(doc.getElementById('fg-title')!.textContent, 'CPU <profile> & "more"');
  assert.equal(doc.getElementById('fg-subtitle')!.textContent, 'host a & b');
  const frames = framesOf(doc);
  for (const g of frames) {
    assert.equal(g.getAttribute('class'), 'f');
    assert.equal(g.getElementsByTagName('rect').length, 1, 'one rect per frame');
    assert.equal(g.getElementsByTagName('text').length, 1);
  }
  // Every node of this small profile is wide enough to draw.
  const rows = toNestedRows(p);
  assert.equal(frames.length, rows.label.length);
  assert.equal(doc.getElementById('fg-frames')!.getElementsByTagName('rect').length, rows.label.length);
  const names = frames.map(nameOf);
  assert.deepEqual(new Set(names), new Set(rows.label.map((l) => l.replace(/[\u0001\uD800]/g, '\uFFFD'))));
  assert.ok(names.includes(EVIL), 'hostile name survives as text');
  assert.ok(!svg.includes('<script>alert'), 'never as markup');
  assert.equal((svg.match(/<script/g) ?? []).length, 1, 'only our own script');
  assert.equal((svg.match(/\]\]>/g) ?? []).length, 1, 'only our own CDATA end');
  const evil = frames.find((g) => nameOf(g) === EVIL)!;
  assert.match(evil.getElementsByTagName('title')[0]!.textContent!, /30 samples, 30(\.0+)?%/);
  assert.equal(Number(evil.getAttribute('data-v')), 30);
});

test('no external references of any kind', () => {
  const svg = toSvg(sample());
  assert.ok(!/href|url\(|@import|<image|<use|<foreignObject|<iframe|src=/i.test(svg));
  const urls = svg.match(/[a-z]+:\/\/[^\s"'<>]*/gi) ?? [];
  assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg'], 'the namespace name is the only URL');
});

test('kernel frames are coloured apart from user and JIT frames; text is cut to fit', () => {
  const rgb = (s: string): number[] => s.match(/\d+/g)!.map(Number);
  for (const name of ['do_epoll_wait', 'schedule', 'x']) {
    const [r, , b] = rgb(frameColor('kernel', name));
    assert.ok(b! > r!, `kernel ${name} is blue`);
  }
  for (const name of ['main', 'malloc', 'y']) {
    const [r, , b] = rgb(frameColor('user', name));
    assert.ok(r! > b!, `user ${name} is warm`);
  }
  const [jr, jg, jb] = rgb(frameColor('jit', 'LazyCompile'));
  assert.ok(jg! > jr! && jg! > jb!, 'JIT is green');

  const doc = parse(toSvg(sample()));
  const byName = new Map(framesOf(doc).map((g) => [nameOf(g), g]));
  const fill = (name: string): string => rectOf(byName.get(name)!).getAttribute('fill')!;
  assert.equal(fill('do_epoll_wait'), frameColor('kernel', 'do_epoll_wait'));
  assert.equal(fill('main'), frameColor('user', 'main'));

  const longName = 'a_very_long_function_name_that_cannot_fit_in_a_narrow_frame';
  const label = byName.get(longName)!.getElementsByTagName('text')[0]!.textContent!;
  assert.ok(label === '' || (label.endsWith('..') && label.length < longName.length), `cut label ${label}`);
  assert.equal(byName.get('nginx')!.getElementsByTagName('text')[0]!.textContent, 'nginx');
  assert.equal(fitLabel('abcdefghij', 6 + 10 * 7, 7), 'abcdefghij');
  assert.equal(fitLabel('abcdefghij', 6 + 9 * 7, 7), 'abcdefg..');
  assert.equal(fitLabel('abcdefghij', 6 + 2 * 7, 7), '');
  assert.equal(fitLabel('ab\uD83D\uDD25cdefgh', 6 + 5 * 7, 7), 'ab..', 'never splits a surrogate pair');
  assert.equal(formatValue(1_500_000, 'nanoseconds'), '1.5 ms');
  assert.equal(formatValue(3 * 1024 * 1024, 'bytes'), '3 MiB');
  assert.equal(formatValue(12345, 'samples'), '12,345 samples');
});

/** Run the embedded script against the parsed DOM with recorded event listeners. */
function runScript(doc: Doc, promptAnswer: () => string | null) {
  const listeners = new Map<string, (ev: { target: El; key?: string; preventDefault?: () => void }) => void>();
  const on = (owner: string) =>
    function (type: string, fn: (ev: { target: El }) => void) {
      listeners.set(`${owner}:${type}`, fn);
    };
  for (const id of ['fg-frames', 'fg-reset', 'fg-search']) doc.getElementById(id)!.addEventListener = on(id);
  const window = { addEventListener: on('window'), prompt: promptAnswer };
  const script = doc.getElementsByTagName('script')[0]!.textContent!;
  vm.runInNewContext(script, { document: doc, window, Math, String, RegExp });
  return (key: string, target?: El) => {
    const fn = listeners.get(key);
    assert.ok(fn, `listener ${key}`);
    fn({ target: target ?? doc.documentElement, key: 'Escape', preventDefault: () => undefined });
  };
}

test('the script zooms into a clicked frame and resets', () => {
  const doc = parse(toSvg(sample(), { width: 1000 }));
  const fire = runScript(doc, () => null);
  const frames = framesOf(doc);
  const byName = new Map(frames.map((g) => [nameOf(g), g]));
  const orig = new Map(frames.map((g) => [g, [rectOf(g).getAttribute('x'), rectOf(g).getAttribute('width')]]));
  const main = byName.get('main')!;
  fire('fg-frames:click', rectOf(main));
  const xw = (name: string): number[] => ['x', 'width'].map((a) => Number(rectOf(byName.get(name)!).getAttribute(a)));
  assert.deepEqual(xw('main'), [10, 980], 'zoomed frame spans the chart');
  assert.deepEqual(xw('nginx'), [10, 980], 'ancestors span the chart');
  assert.equal(byName.get('nginx')!.getAttribute('class'), 'f parent');
  assert.equal(byName.get('node')!.getAttribute('display'), 'none', 'unrelated frames hidden');
  assert.equal(byName.get(EVIL)!.getAttribute('display'), 'none');
  const [ex, ew] = xw('ngx_process_events');
  assert.ok(Math.abs(ew! - (980 * 40) / 65) < 0.01, 'children scaled by the zoom');
  assert.ok(ex! >= 10 && ex! + ew! <= 990.01);
  assert.equal(byName.get('ngx_process_events')!.getElementsByTagName('text')[0]!.textContent, 'ngx_process_events');
  assert.equal(doc.getElementById('fg-reset')!.getAttribute('class'), 'fg-ctl', 'reset button shown');

  fire('fg-frames:mouseover', rectOf(byName.get('accept')!));
  assert.match(doc.getElementById('fg-details')!.textContent!, /^accept — 20 samples, 20%$/);

  fire('fg-reset:click');
  for (const g of frames) {
    assert.deepEqual(
      [rectOf(g).getAttribute('x'), rectOf(g).getAttribute('width')].map(Number),
      orig.get(g)!.map(Number)
    );
    assert.equal(g.getAttribute('display'), null);
    assert.equal(g.getAttribute('class'), 'f');
  }
});

test('the script searches by regex or substring, highlights and counts nested matches once', () => {
  const doc = parse(toSvg(sample()));
  let answer: string | null = 'epoll|^accept$';
  const fire = runScript(doc, () => answer);
  const frames = framesOf(doc);
  const byName = new Map(frames.map((g) => [nameOf(g), g]));
  const matched = doc.getElementById('fg-matched')!;
  const searchBtn = doc.getElementById('fg-search')!;

  fire('fg-search:click');
  assert.equal(matched.textContent, 'Matched: 60% (2 frames)');
  assert.equal(rectOf(byName.get('do_epoll_wait')!).getAttribute('fill'), 'rgb(230,0,230)');
  assert.equal(rectOf(byName.get('main')!).getAttribute('fill'), frameColor('user', 'main'));
  assert.equal(searchBtn.textContent, 'Reset Search');

  fire('fg-search:click'); // second click clears
  assert.equal(matched.textContent, ' ');
  assert.equal(rectOf(byName.get('do_epoll_wait')!).getAttribute('fill'), frameColor('kernel', 'do_epoll_wait'));

  answer = 'nginx|main|accept'; // main and accept lie inside nginx: 65 samples, not 65 + 65 + 20
  fire('fg-search:click');
  assert.equal(matched.textContent, 'Matched: 65% (3 frames)');
  fire('window:keydown'); // Escape
  assert.equal(matched.textContent, ' ');

  answer = '<script>alert('; // not a valid regex: searched as text
  fire('fg-search:click');
  assert.equal(matched.textContent, 'Matched: 30% (1 frames)');
});

test('frames below minWidth are not drawn; a 20,000-stack profile renders', () => {
  const p = syntheticProfile({ stacks: 20_000, depth: 60, period: 10_101_010 });
  const svg = toSvg(p, { title: 'synthetic' });
  const rows = toNestedRows(p);
  const scale = 1180 / p.total;
  const drawn = rows.value.filter((v) => v * scale >= 0.1).length;
  assert.ok(drawn < rows.label.length, 'some frames are too narrow to draw');
  assert.equal((svg.match(/<g class="f"/g) ?? []).length, drawn);
  assert.equal(
    (svg.match(/<rect /g) ?? []).length - 1 - (svg.match(/<rect [^>]*width="10" height="10"/g) ?? []).length,
    drawn,
    'one rect per drawn frame'
  );
  const doc = parse(svg);
  assert.equal(framesOf(doc).length, drawn);
  assert.equal(
    toSvg(new Profile()).includes('<g id="fg-frames">\n</g>'),
    true,
    'an empty profile renders an empty chart'
  );
  parse(toSvg(new Profile()));
});
