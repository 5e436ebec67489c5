// Compact, versioned binary form of a Profile for the store (which compresses blobs itself).
//
// Version 1 layout (varint = unsigned LEB128, up to 2^53):
//   "PRF" 0x01                       magic + version
//   u8 unit                          index in PROFILE_UNITS
//   u8 flags                         1 period, 2 startTime, 4 durationMs, 8 values are float64
//   [f64 period] [f64 startTime] [f64 durationMs]   little-endian, present per flags
//   varint nStrings, then per string: varint byteLength, UTF-8 bytes
//   varint nFrames, then per frame: varint name string, u8 kind (FRAME_KINDS index),
//                                   varint module string + 1 (0 = no module)
//   call tree in depth-first pre-order, siblings in compareFrames order:
//     root:  value self, varint childCount
//     node:  varint frame, value self, varint childCount
//   where value = varint, or f64 when flag 8 is set (any value not a safe integer)
// The prefix tree shares every common stack prefix, so it is smaller than per-stack frame arrays.
// Strings and frames are numbered in first-use order of the walk. Decoding checks every bound and
// rejects trailing bytes; it rebuilds exactly the same stacks, values and metadata.
import { FRAME_KINDS, PROFILE_UNITS, Profile, type ProfileNode } from './model';

const MAGIC = [0x50, 0x52, 0x46]; // "PRF"
export const CODEC_VERSION = 1;

const F_PERIOD = 1;
const F_START = 2;
const F_DURATION = 4;
const F_FLOAT = 8;

class Writer {
  buf = Buffer.allocUnsafe(1 << 16);
  pos = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  varint(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }
  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('profile codec: truncated data');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  varint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 0x80;
      if (mul > 2 ** 56) throw new Error('profile codec: varint too long');
    }
    if (v > Number.MAX_SAFE_INTEGER) throw new Error('profile codec: varint out of range');
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  utf8(n: number): string {
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

export function encode(profile: Profile): Buffer {
  // Number frames and strings in first-use order of a sorted walk.
  const frameIndex = new Int32Array(profile.frameCount).fill(-1);
  const usedFrames: number[] = [];
  let float = false;
  const order: ProfileNode[] = [];
  const visit = (node: ProfileNode): void => {
    order.push(node);
    if (!Number.isSafeInteger(node.self)) float = true;
    if (node.frameId >= 0 && frameIndex[node.frameId] === -1) {
      frameIndex[node.frameId] = usedFrames.length;
      usedFrames.push(node.frameId);
    }
    for (const c of profile.sortedChildren(node)) visit(c);
  };
  visit(profile.root);

  const strings = new Map<string, number>();
  const stringList: string[] = [];
  const str = (s: string): number => {
    let i = strings.get(s);
    if (i === undefined) {
      i = stringList.length;
      strings.set(s, i);
      stringList.push(s);
    }
    return i;
  };
  const frameRecs: [number, number, number][] = usedFrames.map((id) => {
    const f = profile.frame(id);
    return [str(f.name), FRAME_KINDS.indexOf(f.kind), f.module === undefined ? 0 : str(f.module) + 1];
  });

  const w = new Writer();
  for (const b of MAGIC) w.u8(b);
  w.u8(CODEC_VERSION);
  w.u8(PROFILE_UNITS.indexOf(profile.unit));
  const flags =
    (profile.period !== undefined ? F_PERIOD : 0) |
    (profile.startTime !== undefined ? F_START : 0) |
    (profile.durationMs !== undefined ? F_DURATION : 0) |
    (float ? F_FLOAT : 0);
  w.u8(flags);
  if (profile.period !== undefined) w.f64(profile.period);
  if (profile.startTime !== undefined) w.f64(profile.startTime);
  if (profile.durationMs !== undefined) w.f64(profile.durationMs);
  w.varint(stringList.length);
  for (const s of stringList) {
    const b = Buffer.from(s, 'utf8');
    w.varint(b.length);
    w.bytes(b);
  }
  w.varint(frameRecs.length);
  for (const [name, kind, module] of frameRecs) {
    w.varint(name);
    w.u8(kind);
    w.varint(module);
  }
  for (const node of order) {
    if (node.frameId >= 0) w.varint(frameIndex[node.frameId]!);
    if (float) w.f64(node.self);
    else w.varint(node.self);
    w.varint(node.children?.size ?? 0);
  }
  return w.result();
}

export function decode(buf: Buffer | Uint8Array): Profile {
  const r = new Reader(Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  for (const b of MAGIC) if (r.u8() !== b) throw new Error('profile codec: not a profile blob');
  const version = r.u8();
  if (version !== CODEC_VERSION) throw new Error(`profile codec: unsupported version ${version}`);
  const unit = PROFILE_UNITS[r.u8()];
  if (unit === undefined) throw new Error('profile codec: bad unit');
  const flags = r.u8();
  if (flags & ~(F_PERIOD | F_START | F_DURATION | F_FLOAT)) throw new Error('profile codec: unknown flags');
  const profile = new Profile({ unit });
  if (flags & F_PERIOD) profile.period = r.f64();
  if (flags & F_START) profile.startTime = r.f64();
  if (flags & F_DURATION) profile.durationMs = r.f64();
  const float = (flags & F_FLOAT) !== 0;

  const nStrings = r.varint();
  const strings: string[] = [];
  for (let i = 0; i < nStrings; i++) strings.push(r.utf8(r.varint()));
  const nFrames = r.varint();
  const frameIds: number[] = [];
  for (let i = 0; i < nFrames; i++) {
    const name = strings[r.varint()];
    const kind = FRAME_KINDS[r.u8()];
    const m = r.varint();
    const module = m === 0 ? undefined : strings[m - 1];
    if (name === undefined || kind === undefined || (m !== 0 && module === undefined))
      throw new Error('profile codec: bad frame record');
    frameIds.push(profile.internFrame(module === undefined ? { name, kind } : { name, kind, module }));
  }

  const readSelf = (): number => {
    const v = float ? r.f64() : r.varint();
    if (!Number.isFinite(v) || v < 0) throw new Error('profile codec: bad value');
    return v;
  };
  const rootSelf = readSelf();
  if (rootSelf > 0) profile.add([], rootSelf);
  // Iterative pre-order rebuild: remaining[d] = children still to read at depth d.
  const path: number[] = [];
  const remaining: number[] = [r.varint()];
  while (remaining.length > 0) {
    const top = remaining.length - 1;
    if (remaining[top] === 0) {
      remaining.pop();
      path.pop();
      continue;
    }
    remaining[top]!--;
    const f = frameIds[r.varint()];
    if (f === undefined) throw new Error('profile codec: bad frame index');
    path.length = top;
    path.push(f);
    const self = readSelf();
    if (self > 0) profile.addIds(path, self);
    remaining.push(r.varint());
  }
  if (!r.done) throw new Error('profile codec: trailing bytes');
  return profile;
}
