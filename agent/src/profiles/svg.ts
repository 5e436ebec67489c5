// A self-contained interactive SVG flame graph: no external resources, one inline script.
//   - hover: the frame's name, module, value and share of the total in the bottom line (and a native
//     tooltip through <title>);
//   - click: zoom into the frame (its ancestors stay, greyed, at full width); "Reset Zoom" or a click on
//     the root undoes it;
//   - "Search" (or Ctrl+F, or "/"): a regular expression (or, if it does not compile, a plain substring)
//     highlights matching frames and shows the share of the total they cover (nested matches counted
//     once); Esc clears;
//   - colour by kind: user frames warm (red–yellow), kernel frames blue, JIT green, process purple,
//     unknown and meta grey; the hue varies with the name so the same function keeps its colour;
//   - frames narrower than `minWidth` pixels are not drawn (with their descendants).
// Every frame is `<g class="f" data-v=VALUE data-l=NAMELEN><title>NAME…</title><rect/><text/></g>`
// inside `<g id="fg-frames">`; the script reads names back from the title (first data-l characters).
import type { FrameKind, Profile, ProfileNode, ProfileUnit } from './model';

export interface SvgOptions {
  title?: string;
  /** Default: total, distinct stacks, period and time window. */
  subtitle?: string;
  /** Image width in pixels (default 1200). */
  width?: number;
  /** Height of one frame row (default 16). */
  frameHeight?: number;
  fontSize?: number;
  /** Frames narrower than this many pixels are not drawn (default 0.1). */
  minWidth?: number;
  /** Draw root at the top (icicle graph) instead of the bottom. */
  inverted?: boolean;
}

const INVALID_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replace characters XML 1.0 cannot carry (control characters, lone surrogates) with U+FFFD. */
export function xmlSafe(s: string): string {
  return s.replace(INVALID_XML, '\uFFFD');
}

/** Escape for XML text and attribute values (input must already be xmlSafe). */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"'\r\n\t\uFFFD]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&#39;';
      default:
        // Character references survive XML's line-end and attribute-value normalisation; U+FFFD as
        // a reference does not look like a decoding accident to XML tools.
        return `&#${c.charCodeAt(0)};`;
    }
  });
}

function groupDigits(n: number): string {
  const [int, frac] = String(n).split('.');
  const g = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac !== undefined ? `${g}.${frac}` : g;
}

function round(v: number, digits: number): number {
  const m = 10 ** digits;
  return Math.round(v * m) / m;
}

export function formatValue(value: number, unit: ProfileUnit): string {
  switch (unit) {
    case 'samples':
      return `${groupDigits(round(value, 2))} sample${value === 1 ? '' : 's'}`;
    case 'count':
      return groupDigits(round(value, 2));
    case 'nanoseconds': {
      const a = Math.abs(value);
      if (a >= 1e9) return `${round(value / 1e9, 3)} s`;
      if (a >= 1e6) return `${round(value / 1e6, 3)} ms`;
      if (a >= 1e3) return `${round(value / 1e3, 3)} µs`;
      return `${round(value, 2)} ns`;
    }
    case 'bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let v = value;
      let i = 0;
      while (Math.abs(v) >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
      }
      return i === 0 ? `${groupDigits(round(v, 2))} B` : `${round(v, 2)} ${units[i]}`;
    }
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

function hsl(h: number, s: number, l: number): string {
  // HSL → rgb() (rgb() is understood by every SVG renderer, hsl() not by all).
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    const a = s * Math.min(l, 1 - l);
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return `rgb(${f(0)},${f(8)},${f(4)})`;
}

/** Fill colour of a frame: the hue family tells the kind, the name picks a shade within it. */
export function frameColor(kind: FrameKind, name: string): string {
  const v = (hash(name) % 1000) / 1000;
  switch (kind) {
    case 'user':
      return hsl(0 + 55 * v, 0.85, 0.55);
    case 'kernel':
      return hsl(195 + 25 * v, 0.7, 0.58);
    case 'jit':
      return hsl(95 + 40 * v, 0.55, 0.5);
    case 'process':
      return hsl(265 + 25 * v, 0.45, 0.62);
    case 'unknown':
      return hsl(0, 0, 0.6 + 0.1 * v);
    case 'meta':
      return hsl(0, 0, 0.8);
  }
}

/** Label that fits `width` px: the full name, or a prefix with "..", or nothing. Mirrors the script. */
export function fitLabel(name: string, width: number, charWidth: number): string {
  const n = Math.floor((width - 6) / charWidth);
  if (n >= name.length) return name;
  if (n < 3) return '';
  let cut = n - 2;
  const c = name.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--; // do not split a surrogate pair
  return name.slice(0, cut) + '..';
}

function fmt(v: number): string {
  return String(Math.round(v * 1000) / 1000);
}

function defaultSubtitle(p: Profile): string {
  const parts = [`${formatValue(p.total, p.unit)} total`, `${groupDigits(p.stackCount)} distinct stacks`];
  if (p.period !== undefined && p.period > 0) {
    parts.push(
      p.unit === 'samples'
        ? `1 sample = ${formatValue(p.period, 'nanoseconds')} (${round(1e9 / p.period, 1)} Hz)`
        : `period ${p.period}`
    );
  }
  if (p.startTime !== undefined) {
    let t = new Date(p.startTime).toISOString();
    if (p.durationMs !== undefined) t += ` + ${formatValue(p.durationMs * 1e6, 'nanoseconds')}`;
    parts.push(t);
  }
  return parts.join(' · ');
}

export function toSvg(profile: Profile, opts: SvgOptions = {}): string {
  const width = opts.width ?? 1200;
  const fh = opts.frameHeight ?? 16;
  const fontSize = opts.fontSize ?? 12;
  const minWidth = opts.minWidth ?? 0.1;
  const inverted = opts.inverted ?? false;
  const charWidth = fontSize * 0.59;
  const xpad = 10;
  const chartW = width - 2 * xpad;
  const total = profile.total;
  const scale = total > 0 ? chartW / total : 0;
  const unit = profile.unit;

  // Pass 1: depth of the deepest drawn frame.
  let maxDepth = 0;
  const depthOf = (node: ProfileNode, d: number): void => {
    if (d > maxDepth) maxDepth = d;
    if (node.children === undefined) return;
    for (const c of node.children.values()) if (c.total * scale >= minWidth) depthOf(c, d + 1);
  };
  if (total > 0) depthOf(profile.root, 0);

  const top = fontSize * 2 + 44; // title, subtitle, legend
  const chartH = (maxDepth + 1) * fh;
  const height = top + chartH + fontSize * 2 + 14;
  const yOf = (d: number): number => (inverted ? top + d * fh : top + (maxDepth - d) * fh);

  const out: string[] = [];
  const title = xmlEscape(xmlSafe(opts.title ?? 'Flame Graph'));
  const subtitle = xmlEscape(xmlSafe(opts.subtitle ?? defaultSubtitle(profile)));
  out.push(
    `<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n`,
    `<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${fmt(height)}" viewBox="0 0 ${width} ${fmt(height)}" font-family="Verdana, Arial, sans-serif" font-size="${fontSize}">\n`,
    `<style>` +
      `#fg-frames g.f{cursor:pointer}` +
      `#fg-frames g.f:hover rect{stroke:#000;stroke-width:0.5}` +
      `#fg-frames text{pointer-events:none;fill:#000}` +
      `#fg-frames g.parent{opacity:0.5}` +
      `.fg-ctl{cursor:pointer;fill:#333;text-decoration:underline}` +
      `.fg-hide{display:none}` +
      `</style>\n`,
    `<rect id="fg-bg" x="0" y="0" width="${width}" height="${fmt(height)}" fill="#f8f8f4"/>\n`,
    `<text id="fg-title" x="${width / 2}" y="${fontSize + 12}" text-anchor="middle" font-size="${fontSize + 5}">${title}</text>\n`,
    `<text id="fg-subtitle" x="${width / 2}" y="${fontSize * 2 + 18}" text-anchor="middle" fill="#555">${subtitle}</text>\n`,
    `<text id="fg-reset" class="fg-ctl fg-hide" x="${xpad}" y="${fontSize + 12}">Reset Zoom</text>\n`,
    `<text id="fg-search" class="fg-ctl" x="${width - xpad}" y="${fontSize + 12}" text-anchor="end">Search</text>\n`
  );
  // Legend: one swatch per kind present.
  const kinds = new Set<FrameKind>();
  const n = profile.frameCount;
  for (let i = 0; i < n; i++) kinds.add(profile.frame(i).kind);
  const legendOrder: [FrameKind, string][] = [
    ['user', 'user'],
    ['kernel', 'kernel'],
    ['jit', 'JIT'],
    ['process', 'process'],
    ['unknown', 'unknown'],
  ];
  let lx = xpad;
  const ly = fontSize * 2 + 26;
  out.push(`<g id="fg-legend" font-size="${fontSize - 1}">`);
  for (const [k, label] of legendOrder) {
    if (!kinds.has(k)) continue;
    out.push(
      `<rect x="${lx}" y="${ly}" width="10" height="10" fill="${frameColor(k, '')}"/><text x="${lx + 14}" y="${ly + 9}">${label}</text>`
    );
    lx += 24 + label.length * charWidth;
  }
  out.push(`</g>\n`);

  out.push(`<g id="fg-frames">\n`);
  const emit = (
    label: string,
    kind: FrameKind,
    module: string | undefined,
    value: number,
    x: number,
    depth: number
  ): void => {
    const w = value * scale;
    const name = xmlSafe(label);
    const pct = total > 0 ? round((100 * value) / total, 2) : 0;
    const info = `${module !== undefined ? ` [${xmlSafe(module)}]` : ''}${kind === 'kernel' ? ' (kernel)' : kind === 'jit' ? ' (JIT)' : ''}\n${formatValue(value, unit)}, ${pct}%`;
    const y = yOf(depth);
    out.push(
      `<g class="f" data-v="${value}" data-l="${name.length}"><title>${xmlEscape(name)}${xmlEscape(info)}</title>` +
        `<rect x="${fmt(xpad + x * scale)}" y="${y}" width="${fmt(w)}" height="${fh - 1}" rx="2" fill="${frameColor(kind, label)}"/>` +
        `<text x="${fmt(xpad + x * scale + 3)}" y="${fmt(y + fh / 2 + fontSize / 2 - 2)}">${xmlEscape(fitLabel(name, w, charWidth))}</text></g>\n`
    );
  };
  const walk = (node: ProfileNode, x: number, depth: number): void => {
    let cx = x;
    for (const c of profile.sortedChildren(node)) {
      if (c.total * scale >= minWidth) {
        const f = profile.frame(c.frameId);
        emit(f.name, f.kind, f.module, c.total, cx, depth + 1);
        walk(c, cx, depth + 1);
      }
      cx += c.total;
    }
  };
  if (total > 0) {
    emit('all', 'meta', undefined, total, 0, 0);
    walk(profile.root, 0, 0);
  }
  out.push(`</g>\n`);

  const by = height - fontSize / 2 - 4;
  out.push(
    `<text id="fg-details" x="${xpad}" y="${fmt(by)}"> </text>\n`,
    `<text id="fg-matched" x="${width - xpad}" y="${fmt(by)}" text-anchor="end"> </text>\n`,
    `<script type="text/ecmascript"><![CDATA[\n`,
    `var FG = ${JSON.stringify({ chartW, xpad, charWidth, total, inverted, top, base: top + maxDepth * fh, fh })};\n`,
    SCRIPT,
    `]]></script>\n`,
    `</svg>\n`
  );
  return out.join('');
}

// The embedded script. Plain ES5 so that old viewers run it; it must never contain "]]>".
const SCRIPT = String.raw`(function () {
  var doc = document;
  var frames = [];
  var nodes = doc.getElementById('fg-frames').getElementsByTagName('g');
  for (var i = 0; i < nodes.length; i++) {
    var g = nodes[i];
    var r = g.getElementsByTagName('rect')[0];
    var t = g.getElementsByTagName('text')[0];
    var title = g.getElementsByTagName('title')[0].textContent;
    var l = +g.getAttribute('data-l');
    var x = +r.getAttribute('x'), y = +r.getAttribute('y');
    frames.push({ g: g, r: r, t: t, x: x, w: +r.getAttribute('width'), fill: r.getAttribute('fill'),
      depth: Math.round((FG.inverted ? y - FG.top : FG.base - y) / FG.fh),
      name: title.slice(0, l), info: title.slice(l).replace(/\n/g, ' \u2014 '), v: +g.getAttribute('data-v') });
    g.setAttribute('data-i', String(i));
  }
  var details = doc.getElementById('fg-details');
  var matched = doc.getElementById('fg-matched');
  var resetBtn = doc.getElementById('fg-reset');
  var searchBtn = doc.getElementById('fg-search');
  var zoomed = null, term = null;

  function fit(name, w) {
    var n = Math.floor((w - 6) / FG.charWidth);
    if (n >= name.length) return name;
    if (n < 3) return '';
    var cut = n - 2, c = name.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) cut--;
    return name.slice(0, cut) + '..';
  }
  function place(f, x, w) {
    f.r.setAttribute('x', x.toFixed(3));
    f.r.setAttribute('width', w.toFixed(3));
    f.t.setAttribute('x', (x + 3).toFixed(3));
    f.t.textContent = fit(f.name, w);
  }
  function show(f, on) {
    if (on) f.g.removeAttribute('display'); else f.g.setAttribute('display', 'none');
  }
  function zoom(z) {
    var eps = 0.01, s = FG.chartW / z.w;
    for (var i = 0; i < frames.length; i++) {
      var f = frames[i];
      f.g.setAttribute('class', 'f');
      if (f.depth < z.depth) {
        var anc = f.x <= z.x + eps && f.x + f.w >= z.x + z.w - eps;
        show(f, anc);
        if (anc) { place(f, FG.xpad, FG.chartW); f.g.setAttribute('class', 'f parent'); }
      } else {
        var inside = f.x >= z.x - eps && f.x + f.w <= z.x + z.w + eps;
        show(f, inside);
        if (inside) place(f, FG.xpad + (f.x - z.x) * s, f.w * s);
      }
    }
    zoomed = z;
    resetBtn.setAttribute('class', 'fg-ctl');
  }
  function unzoom() {
    for (var i = 0; i < frames.length; i++) {
      var f = frames[i];
      show(f, true);
      f.g.setAttribute('class', 'f');
      place(f, f.x, f.w);
    }
    zoomed = null;
    resetBtn.setAttribute('class', 'fg-ctl fg-hide');
  }
  function pct(v) { return FG.total > 0 ? Math.round(10000 * v / FG.total) / 100 : 0; }
  function search(text) {
    clearSearch();
    if (!text) return;
    var re;
    try { re = new RegExp(text); } catch (e) { re = new RegExp(text.replace(/[.*+?^${'$'}{}()|[\]\\]/g, '\\$&')); }
    var hits = [];
    for (var i = 0; i < frames.length; i++) {
      var f = frames[i];
      if (re.test(f.name)) { f.r.setAttribute('fill', 'rgb(230,0,230)'); hits.push(f); }
    }
    // Count nested matches once: keep only hits not inside an earlier, wider hit.
    hits.sort(function (a, b) { return a.x - b.x || b.w - a.w; });
    var sum = 0, end = -1;
    for (var j = 0; j < hits.length; j++) {
      if (hits[j].x + hits[j].w <= end + 0.01) continue;
      sum += hits[j].v; end = hits[j].x + hits[j].w;
    }
    term = text;
    matched.textContent = 'Matched: ' + pct(sum) + '% (' + hits.length + ' frames)';
    searchBtn.textContent = 'Reset Search';
  }
  function clearSearch() {
    for (var i = 0; i < frames.length; i++) frames[i].r.setAttribute('fill', frames[i].fill);
    term = null;
    matched.textContent = ' ';
    searchBtn.textContent = 'Search';
  }
  function promptSearch() {
    var t = window.prompt('Search for (regular expression or text):', term || '');
    if (t !== null) search(t);
  }
  function frameOf(ev) {
    var n = ev.target;
    while (n && n !== doc && !(n.getAttribute && n.getAttribute('data-i') !== null)) n = n.parentNode;
    return n && n.getAttribute ? frames[+n.getAttribute('data-i')] : null;
  }
  var root = doc.getElementById('fg-frames');
  root.addEventListener('click', function (ev) {
    var f = frameOf(ev);
    if (!f) return;
    if (f.depth === 0) unzoom(); else zoom(f);
  });
  root.addEventListener('mouseover', function (ev) {
    var f = frameOf(ev);
    if (f) details.textContent = f.name + f.info;
  });
  root.addEventListener('mouseout', function () { details.textContent = ' '; });
  resetBtn.addEventListener('click', unzoom);
  searchBtn.addEventListener('click', function () { if (term !== null) clearSearch(); else promptSearch(); });
  window.addEventListener('keydown', function (ev) {
    if ((ev.ctrlKey || ev.metaKey) && (ev.key === 'f' || ev.key === 'F') || ev.key === '/') { ev.preventDefault(); promptSearch(); }
    else if (ev.key === 'Escape') { clearSearch(); if (zoomed) unzoom(); }
  });
})();
`;
