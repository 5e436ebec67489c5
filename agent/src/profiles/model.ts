// The in-memory profile model: a prefix tree (call tree) of interned frames with a value per node.
// Every converter (folded, nested-set rows, pprof, SVG, storage codec) reads and builds this one model.
//
// Invariants kept by every mutating method:
//   - node.total = node.self + sum(child.total); root.total = profile.total;
//   - every node except the root has total > 0 (zero-valued adds are ignored);
//   - the root never has self > 0: an empty stack is recorded under the meta frame NO_STACK_FRAME;
//   - stackCount = number of nodes with self > 0 (each such node is one distinct stack).

export type FrameKind = 'kernel' | 'user' | 'jit' | 'unknown' | 'process' | 'meta';
export const FRAME_KINDS: readonly FrameKind[] = ['kernel', 'user', 'jit', 'unknown', 'process', 'meta'];

/** One stack frame. `module` is the binary / shared object / kernel module the frame came from. */
export interface Frame {
  readonly name: string;
  readonly kind: FrameKind;
  readonly module?: string;
}

export type ProfileUnit = 'samples' | 'nanoseconds' | 'bytes' | 'count';
export const PROFILE_UNITS: readonly ProfileUnit[] = ['samples', 'nanoseconds', 'bytes', 'count'];

/** Metadata carried by a profile and by every lossless form of it. */
export interface ProfileMeta {
  unit: ProfileUnit;
  /** Sampling period, e.g. 10101010 ns for a 99 Hz CPU profile (in nanoseconds for 'samples'). */
  period?: number;
  /** Start of the profiled window, ms since epoch. */
  startTime?: number;
  /** Length of the profiled window in ms. */
  durationMs?: number;
}

export type ProfileOptions = Partial<ProfileMeta>;

/** A node of the call tree, read-only outside this module. The root has frameId -1. */
export interface ProfileNode {
  readonly frameId: number;
  readonly total: number;
  readonly self: number;
  readonly children: ReadonlyMap<number, ProfileNode> | undefined;
}

export interface FunctionStat {
  frame: Frame;
  /** Value of stacks ending in this frame. */
  self: number;
  /** Value of stacks containing this frame (recursion counted once). */
  total: number;
}

/** The meta frame that stands in for a sample without any frame. */
export const NO_STACK_FRAME: Frame = Object.freeze({ name: '[no stack]', kind: 'meta' as const });

class Node implements ProfileNode {
  total = 0;
  self = 0;
  children: Map<number, Node> | undefined = undefined;
  constructor(readonly frameId: number) {}
}

const KIND_RANK: Record<FrameKind, number> = { kernel: 0, user: 1, jit: 2, unknown: 3, process: 4, meta: 5 };

/** Deterministic frame order: by name (UTF-16 code units, locale-independent), then kind, then module. */
export function compareFrames(a: Frame, b: Frame): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.kind !== b.kind) return KIND_RANK[a.kind] - KIND_RANK[b.kind];
  const am = a.module ?? '';
  const bm = b.module ?? '';
  return am === bm ? 0 : am < bm ? -1 : 1;
}

export function isFrameKind(v: unknown): v is FrameKind {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(KIND_RANK, v);
}

export function isProfileUnit(v: unknown): v is ProfileUnit {
  return typeof v === 'string' && (PROFILE_UNITS as readonly string[]).includes(v);
}

/**
 * Interns frame identities (name, kind, module) to dense integer ids. Looked up by name first, then a
 * linear scan over the (almost always single) frames sharing that name: no key strings are built per add.
 */
export class FrameTable {
  private readonly byName = new Map<string, number | number[]>();
  private readonly list: Frame[] = [];

  get size(): number {
    return this.list.length;
  }

  get(id: number): Frame {
    const f = this.list[id];
    if (f === undefined) throw new RangeError(`unknown frame id ${id}`);
    return f;
  }

  intern(frame: Frame): number {
    const name = frame.name;
    const kind = frame.kind;
    const module = frame.module === '' ? undefined : frame.module;
    const hit = this.byName.get(name);
    if (hit !== undefined) {
      if (typeof hit === 'number') {
        const f = this.list[hit]!;
        if (f.kind === kind && f.module === module) return hit;
      } else {
        for (const id of hit) {
          const f = this.list[id]!;
          if (f.kind === kind && f.module === module) return id;
        }
      }
    }
    if (typeof name !== 'string') throw new TypeError('frame name must be a string');
    if (!isFrameKind(kind)) throw new TypeError(`bad frame kind ${String(kind)}`);
    if (module !== undefined && typeof module !== 'string') throw new TypeError('frame module must be a string');
    const id = this.list.length;
    const stored: Frame = Object.freeze(module === undefined ? { name, kind } : { name, kind, module });
    this.list.push(stored);
    if (hit === undefined) this.byName.set(name, id);
    else if (typeof hit === 'number') this.byName.set(name, [hit, id]);
    else hit.push(id);
    return id;
  }
}

function checkValue(value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`profile values must be finite and >= 0, got ${String(value)}`);
  }
}

export class Profile implements ProfileMeta {
  readonly unit: ProfileUnit;
  period: number | undefined;
  startTime: number | undefined;
  durationMs: number | undefined;

  private readonly frames = new FrameTable();
  private readonly rootNode = new Node(-1);
  private distinctStacks = 0;
  private nodes = 1;
  private ranks: Int32Array | undefined;
  private readonly idScratch: number[] = [];

  constructor(opts: ProfileOptions = {}) {
    const unit = opts.unit ?? 'samples';
    if (!isProfileUnit(unit)) throw new TypeError(`bad profile unit ${String(unit)}`);
    this.unit = unit;
    for (const k of ['period', 'startTime', 'durationMs'] as const) {
      const v = opts[k];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v)))
        throw new RangeError(`bad ${k} ${String(v)}`);
    }
    this.period = opts.period;
    this.startTime = opts.startTime;
    this.durationMs = opts.durationMs;
  }

  /** A fresh, empty profile with the same metadata. */
  static like(p: ProfileMeta): Profile {
    return new Profile({ unit: p.unit, period: p.period, startTime: p.startTime, durationMs: p.durationMs });
  }

  get meta(): ProfileMeta {
    const m: ProfileMeta = { unit: this.unit };
    if (this.period !== undefined) m.period = this.period;
    if (this.startTime !== undefined) m.startTime = this.startTime;
    if (this.durationMs !== undefined) m.durationMs = this.durationMs;
    return m;
  }

  get root(): ProfileNode {
    return this.rootNode;
  }
  /** Sum of all values. */
  get total(): number {
    return this.rootNode.total;
  }
  /** Number of distinct stacks (root → leaf paths that carry a value of their own). */
  get stackCount(): number {
    return this.distinctStacks;
  }
  /** Number of tree nodes, root included. */
  get nodeCount(): number {
    return this.nodes;
  }
  /** Number of interned frames (may include frames no longer reachable). */
  get frameCount(): number {
    return this.frames.size;
  }
  frame(id: number): Frame {
    return this.frames.get(id);
  }
  internFrame(frame: Frame): number {
    return this.frames.intern(frame);
  }

  /** Add `value` for one stack, frames ordered root → leaf. */
  add(stack: readonly Frame[], value = 1): void {
    checkValue(value);
    if (value === 0) return;
    const ids = this.idScratch;
    const n = stack.length;
    if (n === 0) {
      ids[0] = this.frames.intern(NO_STACK_FRAME);
      this.addIdsUnchecked(ids, 1, value);
      return;
    }
    for (let i = 0; i < n; i++) ids[i] = this.frames.intern(stack[i]!);
    this.addIdsUnchecked(ids, n, value);
  }

  /** Add `value` for a stack given as interned frame ids (root → leaf); `length` defaults to ids.length. */
  addIds(ids: ArrayLike<number>, value: number, length = ids.length): void {
    checkValue(value);
    if (value === 0) return;
    const size = this.frames.size;
    for (let i = 0; i < length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= size) throw new RangeError(`unknown frame id ${id}`);
    }
    if (length === 0) {
      this.addIdsUnchecked([this.frames.intern(NO_STACK_FRAME)], 1, value);
      return;
    }
    this.addIdsUnchecked(ids, length, value);
  }

  private addIdsUnchecked(ids: ArrayLike<number>, length: number, value: number): void {
    let node = this.rootNode;
    node.total += value;
    for (let i = 0; i < length; i++) {
      const id = ids[i]!;
      let children = node.children;
      if (children === undefined) children = node.children = new Map();
      let child = children.get(id);
      if (child === undefined) {
        child = new Node(id);
        children.set(id, child);
        this.nodes++;
      }
      child.total += value;
      node = child;
    }
    if (node.self === 0) this.distinctStacks++;
    node.self += value;
  }

  /**
   * Add every stack of `other` into this profile. Units must match; for 'samples' profiles the periods
   * must match too (counts taken at different rates are not comparable). The time window becomes the
   * union of both windows.
   */
  merge(other: Profile): this {
    if (other === this) return this.merge(this.clone()); // never walk a tree while growing it
    if (other.unit !== this.unit) throw new Error(`cannot merge a ${other.unit} profile into a ${this.unit} profile`);
    if (
      this.unit === 'samples' &&
      this.period !== undefined &&
      other.period !== undefined &&
      this.period !== other.period
    ) {
      throw new Error(`cannot merge sample profiles with different periods (${this.period} vs ${other.period})`);
    }
    if (this.period === undefined) this.period = other.period;
    if (other.startTime !== undefined) {
      if (this.startTime === undefined) {
        this.startTime = other.startTime;
        this.durationMs = other.durationMs;
      } else {
        const end = Math.max(this.startTime + (this.durationMs ?? 0), other.startTime + (other.durationMs ?? 0));
        this.startTime = Math.min(this.startTime, other.startTime);
        this.durationMs = end - this.startTime;
      }
    }
    const map = new Int32Array(other.frames.size).fill(-1);
    const mapId = (id: number): number => {
      let m = map[id]!;
      if (m < 0) m = map[id] = this.frames.intern(other.frames.get(id));
      return m;
    };
    const walk = (dst: Node, src: Node): void => {
      dst.total += src.total;
      if (src.self > 0) {
        if (dst.self === 0) this.distinctStacks++;
        dst.self += src.self;
      }
      if (src.children === undefined) return;
      for (const sc of src.children.values()) {
        const id = mapId(sc.frameId);
        let children = dst.children;
        if (children === undefined) children = dst.children = new Map();
        let dc = children.get(id);
        if (dc === undefined) {
          dc = new Node(id);
          children.set(id, dc);
          this.nodes++;
        }
        walk(dc, sc);
      }
    };
    walk(this.rootNode, other.rootNode);
    return this;
  }

  /** A deep copy. */
  clone(): Profile {
    return Profile.like(this).merge(this);
  }

  /** Rank of every frame id in compareFrames order (cached until new frames are interned). */
  frameRanks(): Int32Array {
    if (this.ranks !== undefined && this.ranks.length === this.frames.size) return this.ranks;
    const n = this.frames.size;
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => compareFrames(this.frames.get(a), this.frames.get(b)));
    const ranks = new Int32Array(n);
    for (let i = 0; i < n; i++) ranks[order[i]!] = i;
    this.ranks = ranks;
    return ranks;
  }

  /** Children of a node in deterministic order (compareFrames). */
  sortedChildren(node: ProfileNode): ProfileNode[] {
    const children = node.children;
    if (children === undefined) return [];
    const out = Array.from(children.values());
    if (out.length > 1) {
      const ranks = this.frameRanks();
      out.sort((a, b) => ranks[a.frameId]! - ranks[b.frameId]!);
    }
    return out;
  }

  /**
   * Visit every distinct stack in deterministic depth-first order. `ids` holds the frame ids root → leaf
   * and is reused between calls: copy it to keep it.
   */
  forEachStack(visit: (ids: readonly number[], value: number) => void): void {
    const path: number[] = [];
    const walk = (node: ProfileNode): void => {
      for (const child of this.sortedChildren(node)) {
        path.push(child.frameId);
        if (child.self > 0) visit(path, child.self);
        walk(child);
        path.pop();
      }
    };
    walk(this.rootNode);
  }

  /** Every distinct stack with its value, in deterministic order. */
  stacks(): { frames: Frame[]; value: number }[] {
    const out: { frames: Frame[]; value: number }[] = [];
    this.forEachStack((ids, value) => out.push({ frames: ids.map((id) => this.frames.get(id)), value }));
    return out;
  }

  /**
   * Functions ranked by self or total value. Frames are identified by (name, kind, module); a
   * recursive frame counts once per stack towards its total.
   */
  topFunctions(opts: { by?: 'self' | 'total'; limit?: number } = {}): FunctionStat[] {
    const by = opts.by ?? 'self';
    const n = this.frames.size;
    const self = new Float64Array(n);
    const total = new Float64Array(n);
    const seen = new Uint8Array(n);
    const onPath = new Int32Array(n);
    const walk = (node: Node): void => {
      if (node.children === undefined) return;
      for (const c of node.children.values()) {
        const f = c.frameId;
        seen[f] = 1;
        self[f] += c.self;
        if (onPath[f] === 0) total[f] += c.total;
        onPath[f]++;
        walk(c);
        onPath[f]--;
      }
    };
    walk(this.rootNode);
    const ranks = this.frameRanks();
    const ids: number[] = [];
    for (let i = 0; i < n; i++) if (seen[i] === 1) ids.push(i);
    const key = by === 'self' ? self : total;
    const other = by === 'self' ? total : self;
    ids.sort((a, b) => key[b]! - key[a]! || other[b]! - other[a]! || ranks[a]! - ranks[b]!);
    const limit = opts.limit ?? ids.length;
    return ids
      .slice(0, Math.max(0, limit))
      .map((id) => ({ frame: this.frames.get(id), self: self[id]!, total: total[id]! }));
  }

  /**
   * A new profile with the stacks for which `keep(frames, value)` is true (frames root → leaf; the array
   * is reused between calls). Same metadata.
   */
  filter(keep: (frames: readonly Frame[], value: number) => boolean): Profile {
    const out = Profile.like(this);
    const frames: Frame[] = [];
    this.forEachStack((ids, value) => {
      frames.length = ids.length;
      for (let i = 0; i < ids.length; i++) frames[i] = this.frames.get(ids[i]!);
      if (keep(frames, value)) out.add(frames, value);
    });
    return out;
  }
}

export interface Sample {
  comm: string;
  pid?: number;
  /** User frames, outermost (e.g. _start) first. */
  user: readonly Frame[];
  /** Kernel frames, outermost (e.g. entry_SYSCALL_64) first. */
  kernel: readonly Frame[];
}

/**
 * Root → leaf stack for one profiler sample: the process frame ("comm", or "comm-pid" with perPid),
 * then the user frames, then the kernel frames.
 */
export function stackFromSample(sample: Sample, opts: { perPid?: boolean } = {}): Frame[] {
  const name = opts.perPid && sample.pid !== undefined ? `${sample.comm}-${sample.pid}` : sample.comm;
  const out: Frame[] = [{ name, kind: 'process' }];
  for (const f of sample.user) out.push(f);
  for (const f of sample.kernel) out.push(f);
  return out;
}
