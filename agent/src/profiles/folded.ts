// Folded ("collapsed") stacks: one line per distinct stack, `root;...;leaf VALUE`, the input format of
// flamegraph.pl, speedscope, inferno and Pyroscope's ingest.
//
// Dialect written here:
//   - lines in deterministic depth-first order (siblings by compareFrames), LF line ends, final LF;
//   - kernel frames end in `_[k]` and JIT frames in `_[j]` (flamegraph.pl's annotations) unless
//     `annotate: false`;
//   - the characters that would break a line are escaped as `\xHH`: `;` → `\x3b`, LF → `\x0a`,
//     CR → `\x0d`, and `\` itself → `\x5c`, so any name round-trips exactly and other tools still see
//     one frame per `;`-separated field. A name that itself ends in an annotation-like `_[k]` gets its
//     `_` escaped (`\x5f`) so it is not read back as an annotation.
// Folded text keeps names, the process root and kernel/JIT kinds; it drops modules (use the codec or
// pprof for those). Reading accepts any folded text: `#` comment lines and blank lines are skipped,
// CRLF is accepted, a repeated stack is summed, `_[i]`/`_[w]` annotations are stripped.
import { Profile, type Frame, type FrameKind, type ProfileNode, type ProfileOptions } from './model';

export interface FoldedWriteOptions {
  /** Append `_[k]` to kernel and `_[j]` to JIT frames (default true). */
  annotate?: boolean;
}

export interface FoldedReadOptions extends ProfileOptions {
  /** The first frame of every line is a process frame (what stackFromSample produces). Default false. */
  processRoot?: boolean;
}

const ANNOTATION_RE = /_\[[a-z]\]$/;

export function escapeFoldedName(name: string): string {
  let out = /[\\;\r\n]/.test(name)
    ? name.replace(/[\\;\r\n]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'))
    : name;
  if (ANNOTATION_RE.test(out)) out = out.slice(0, -4) + '\\x5f' + out.slice(-3);
  return out;
}

export function unescapeFoldedName(text: string): string {
  if (!text.includes('\\x')) return text;
  return text.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function formatValue(v: number): string {
  // Integers print without exponent up to 2^53; fractions keep full precision.
  return Number.isInteger(v) && Math.abs(v) < 1e21 ? v.toFixed(0) : String(v);
}

export function toFolded(profile: Profile, opts: FoldedWriteOptions = {}): string {
  const annotate = opts.annotate ?? true;
  const n = profile.frameCount;
  const text: string[] = new Array<string>(n);
  for (let id = 0; id < n; id++) {
    const f = profile.frame(id);
    let s = escapeFoldedName(f.name);
    if (annotate) {
      if (f.kind === 'kernel') s += '_[k]';
      else if (f.kind === 'jit') s += '_[j]';
    }
    text[id] = s;
  }
  // Walk the tree carrying each node's line prefix, so a shared prefix is built once.
  const lines: string[] = [];
  const walk = (node: ProfileNode, prefix: string | undefined): void => {
    for (const child of profile.sortedChildren(node)) {
      const line = prefix === undefined ? text[child.frameId]! : prefix + ';' + text[child.frameId]!;
      if (child.self > 0) lines.push(line + ' ' + formatValue(child.self));
      if (child.children !== undefined) walk(child, line);
    }
  };
  walk(profile.root, undefined);
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

function parseFrame(field: string, isRoot: boolean, processRoot: boolean): Frame {
  let kind: FrameKind = 'user';
  let raw = field;
  const m = ANNOTATION_RE.exec(raw);
  if (m !== null) {
    const a = raw.charAt(raw.length - 2);
    if (a === 'k' || a === 'j' || a === 'i' || a === 'w') {
      raw = raw.slice(0, -4);
      if (a === 'k') kind = 'kernel';
      else if (a === 'j') kind = 'jit';
    }
  }
  const name = unescapeFoldedName(raw);
  if (isRoot && processRoot) return { name, kind: 'process' };
  if (kind === 'user' && name.startsWith('[unknown]')) kind = 'unknown';
  return { name, kind };
}

/** Parse folded text into a new profile; throws with the line number on a malformed line. */
export function fromFolded(text: string, opts: FoldedReadOptions = {}): Profile {
  const { processRoot = false, ...meta } = opts;
  const profile = new Profile(meta);
  const cache = new Map<string, number>();
  const rootCache = new Map<string, number>();
  const ids: number[] = [];
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let line = text.slice(start, end);
    start = end + 1;
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    if (sp < 0) throw new Error(`folded line ${lineNo}: expected "frame;frame;... VALUE"`);
    const valueText = line.slice(sp + 1);
    const value = Number(valueText);
    if (valueText === '' || !Number.isFinite(value) || value < 0) {
      throw new Error(`folded line ${lineNo}: bad value ${JSON.stringify(valueText.slice(0, 40))}`);
    }
    const fields = line.slice(0, sp).split(';');
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      const isRoot = i === 0;
      const c = isRoot && processRoot ? rootCache : cache;
      let id = c.get(field);
      if (id === undefined) {
        id = profile.internFrame(parseFrame(field, isRoot, processRoot));
        c.set(field, id);
      }
      ids[i] = id;
    }
    profile.addIds(ids, value, fields.length);
  }
  return profile;
}
