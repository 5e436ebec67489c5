// Typed surface of the native addon (agent/native). Everything kernel-facing goes through here.
import path from 'node:path';
import fs from 'node:fs';

/** Error thrown by the addon: errno and its name, plus libbpf's log (verifier output on load failures). */
export interface BpfError extends Error {
  errno: number;
  code: string;
  libbpfLog?: string;
}

export interface ProgramInfo {
  name: string;
  section: string;
  autoload: boolean;
  fd: number;
}

export interface MapInfo {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  /** bytes of one key's value as user space reads it: for per-CPU maps, all CPUs' 8-byte-aligned slots together */
  valueStride: number;
  maxEntries: number;
  percpu: boolean;
  fd: number;
}

export interface MapDump {
  /** keys back to back, keySize bytes each */
  keys: Buffer;
  /** values back to back, valueStride bytes each */
  values: Buffer;
  count: number;
  /** true when the kernel's batch operations were used (atomic lookup-and-delete per bucket) */
  batched: boolean;
}

export interface BpfMap {
  readonly info: MapInfo;
  lookup(key: Buffer): Buffer | null;
  update(key: Buffer, value: Buffer, flags?: number): void;
  delete(key: Buffer): boolean;
  keys(): Buffer;
  dump(opts?: { delete?: boolean }): MapDump;
  /** delete every key (arrays: zero every slot); returns how many */
  clear(): number;
}

export interface BpfLink {
  /** number of kernel links (a perf event link has one per CPU) */
  readonly count: number;
  readonly destroyed: boolean;
  destroy(): void;
}

export interface RingBuffer {
  readonly delivered: number;
  readonly closed: boolean;
  /** drain now, synchronously; returns records delivered */
  consume(): number;
  close(): void;
}

export interface PerfEventOptions {
  /** samples per second per CPU */
  frequency?: number;
  /** or: one sample every `period` events */
  period?: number;
  /** software cpu-clock (works everywhere) or hardware cycles (needs a PMU) */
  event?: 'cpu-clock' | 'cycles';
  /** default: every online CPU */
  cpus?: number[];
  /** default -1: every process */
  pid?: number;
}

export interface IterOptions {
  /** task iterators (kernel ≥ 6.1): only this process / thread */
  pid?: number;
  tid?: number;
  /** cgroup iterators: an open fd of the cgroup directory, and the walk order (kernel enum value) */
  cgroupFd?: number;
  order?: number;
}

export interface BpfObject {
  readonly state: 'opened' | 'loaded' | 'closed';
  /** write a global (const volatile before load; .bss/.data also after load, into the live map) */
  setGlobal(name: string, value: Buffer): void;
  getGlobal(name: string): Buffer;
  setMapMaxEntries(name: string, entries: number): void;
  /** map_flags before load (e.g. drop BPF_F_NO_PREALLOC where a program type needs preallocated maps) */
  setMapFlags(name: string, flags: number): void;
  /** map type before load (e.g. a hash where the kernel has no task storage) */
  setMapType(name: string, type: number): void;
  setAutoload(program: string, autoload: boolean): void;
  load(): void;
  programs(): ProgramInfo[];
  maps(): string[];
  map(name: string): BpfMap;
  attachPerfEvent(program: string, opts: PerfEventOptions): BpfLink;
  attachTracepoint(program: string, category: string, name: string): BpfLink;
  attachRawTracepoint(program: string, name: string): BpfLink;
  attachKprobe(program: string, func: string, retprobe?: boolean): BpfLink;
  /** attach as the program's section says (fentry/, tp_btf/, …) */
  attach(program: string): BpfLink;
  /** run an iterator program to completion and return everything it wrote */
  readIter(program: string, opts?: IterOptions): Buffer;
  openRingBuffer(map: string, onRecords: (records: Buffer[]) => void): RingBuffer;
  /** detach every link and ring buffer made from this object, then free it */
  close(): void;
}

export interface ElfLoad {
  vaddr: number;
  offset: number;
  filesz: number;
  memsz: number;
  executable: boolean;
}

export interface ElfSymbols {
  buildId: string | null;
  debuglink: string | null;
  type: 'exec' | 'dyn' | 'rel' | 'other';
  loads: ElfLoad[];
  /** function symbols sorted by start address; names as in the file (mangled: see demangle) */
  symbols: { start: Float64Array; size: Float64Array; names: string[] };
}

/** A binary's function symbols held in native memory; names are produced (demangled) on lookup. */
export interface ElfTable {
  /** the same metadata as ElfSymbols, without the symbols */
  readonly info: Omit<ElfSymbols, 'symbols'>;
  readonly symbolCount: number;
  /** name of the function containing this ELF virtual address, or null */
  lookup(vaddr: number): string | null;
}

/** A BTF file (the running kernel's by default), read through libbpf. Type names are C spellings:
 *  "struct request *", "unsigned int", "blk_status_t". */
export interface KernelBtf {
  hasType(name: string, kind: 'struct' | 'union' | 'enum' | 'typedef' | 'func' | 'var'): boolean;
  /** arguments of a BTF-typed tracepoint (btf_trace_<name>), or null when the kernel has none by that name */
  tracepointArgs(tracepoint: string): string[] | null;
  /** arguments of a kernel function that has BTF (an fentry/kprobe target), or null */
  funcArgs(func: string): string[] | null;
  /** type of a struct/union member (anonymous members looked into, as CO-RE does), or null */
  memberType(struct: string, member: string): string | null;
  close(): void;
}

interface NativeModule {
  BpfObject: new (path: string, opts?: { btfPath?: string }) => BpfObject;
  KernelBtf: new (path?: string) => KernelBtf;
  readElfSymbols(path: string): ElfSymbols;
  readElfSymbolsAsync(path: string): Promise<ElfSymbols>;
  readElfTableAsync(path: string): Promise<ElfTable>;
  /** C++ / legacy Rust symbol → readable name; other names unchanged */
  demangle(name: string): string;
  probeProgType(type: 'kprobe' | 'tracepoint' | 'perf_event' | 'raw_tracepoint' | 'tracing' | 'cgroup_skb'): number;
  probeMapType(type: 'hash' | 'percpu_array' | 'stack_trace' | 'ringbuf' | 'task_storage' | 'lru_hash'): number;
  probeHelper(
    progType: 'kprobe' | 'tracepoint' | 'perf_event' | 'raw_tracepoint' | 'tracing',
    helper:
      | 'get_stackid'
      | 'get_task_stack'
      | 'ringbuf_output'
      | 'get_current_cgroup_id'
      | 'current_task_under_cgroup'
      | 'ktime_get_ns'
      | 'seq_write'
      | 'd_path'
  ): number;
  numPossibleCpus(): number;
  libbpfVersion(): string;
}

/** Repository root, found from this file whether it runs from agent/src (tsx) or build/agent/src (tsc). */
export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'agent'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the repository root above ${__dirname}`);
}

let cached: NativeModule | null = null;

/** Load the addon (built by `npm run build:native`); AUTOTRACING_NATIVE overrides the path. */
export function native(): NativeModule {
  if (cached) return cached;
  const file = process.env.AUTOTRACING_NATIVE ?? path.join(repoRoot(), 'agent/native/build/Release/autotracing.node');
  if (!fs.existsSync(file)) {
    throw new Error(`native addon not built: ${file} is missing (run \`npm run build:native\`)`);
  }
  cached = require(file) as NativeModule;
  return cached;
}

/** Directory of the compiled BPF objects (`npm run build:bpf`); AUTOTRACING_BPF_DIR overrides. */
export function bpfObjectPath(name: string): string {
  const dir = process.env.AUTOTRACING_BPF_DIR ?? path.join(repoRoot(), 'build/bpf');
  const file = path.join(dir, `${name}.bpf.o`);
  if (!fs.existsSync(file)) throw new Error(`BPF object not built: ${file} is missing (run \`npm run build:bpf\`)`);
  return file;
}

/** Open a compiled BPF object of this repository by name (e.g. "profile"). */
export function openObject(name: string): BpfObject {
  return new (native().BpfObject)(bpfObjectPath(name));
}

export function isBpfError(e: unknown): e is BpfError {
  return e instanceof Error && typeof (e as Partial<BpfError>).errno === 'number';
}

/** Little-endian encoders for setGlobal. */
export const le = {
  u32(v: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return b;
  },
  u64(v: number | bigint): Buffer {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  },
  bool(v: boolean): Buffer {
    return Buffer.from([v ? 1 : 0]);
  },
};
