// Raw stacks (return addresses) → frames. Kernel addresses through kallsyms; user addresses through
// the process's memory map to an ELF symbol table (PIE/shared-library bias applied per mapping) or,
// for anonymous executable memory, the process's perf map (JIT). Frames that cannot be named still
// say which binary they were in.
import fs from 'node:fs';
import path from 'node:path';
import { kernelSymbols, type KernelSymbols } from './kallsyms';
import { parseMaps, findMapping, isFileBacked, type Mapping } from './procMaps';
import { parsePerfMap, lookupPerfMap, type PerfMap } from './perfMap';
import { ElfCache, fileOffsetToVaddr, lookupSymbol, type ElfEntry } from './elfCache';
import type { SymbolFrame } from './frame';

export interface StackSample {
  pid: number;
  comm: string;
  /** innermost first, as the kernel records them */
  kstack: bigint[];
  ustack: bigint[];
}

export interface SymbolizedStack {
  /** outermost first */
  kernel: SymbolFrame[];
  /** outermost first */
  user: SymbolFrame[];
}

interface ProcessView {
  maps: Mapping[] | null;
  perfMap: PerfMap | null | undefined; // undefined: not read yet
  elf: Map<string, ElfEntry | null>;
}

export interface SymbolizerOptions {
  procRoot?: string;
  elfCache?: ElfCache;
  kernel?: () => KernelSymbols;
}

/** Maps of processes seen during a capture, so a process that exits before the end still symbolizes. */
interface RememberedMaps {
  starttime: string;
  maps: Mapping[];
  at: number;
}

const REMEMBER_MS = 5 * 60_000;

export class Symbolizer {
  private readonly remembered = new Map<number, RememberedMaps>();
  private readonly procRoot: string;
  readonly elfCache: ElfCache;
  private readonly kernel: () => KernelSymbols;

  constructor(opts: SymbolizerOptions = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.elfCache = opts.elfCache ?? new ElfCache();
    this.kernel = opts.kernel ?? (() => kernelSymbols());
  }

  /**
   * Read and keep the memory maps of these processes now (and start loading their binaries' symbols),
   * so samples of a process that exits before the capture ends can still be symbolized — what perf
   * gets from its mmap records. Call it for the pids seen in each drained window.
   */
  observe(pids: Iterable<number>, opts: { loadSymbols?: boolean } = {}): void {
    const now = Date.now();
    for (const [pid, r] of this.remembered) if (now - r.at > REMEMBER_MS) this.remembered.delete(pid);
    for (const pid of pids) {
      const starttime = this.starttime(pid);
      if (starttime === null) continue;
      const have = this.remembered.get(pid);
      // live processes are symbolized from their current maps; these copies only serve ones that exit,
      // so a copy up to 30 s old is enough (the look-back observes every second)
      if (have && have.starttime === starttime && now - have.at < 30_000) continue;
      const maps = this.readMaps(pid);
      if (!maps) continue;
      this.remembered.set(pid, { starttime, maps, at: now });
      if (opts.loadSymbols !== false) {
        for (const m of maps) {
          if (!isFileBacked(m) || m.perms[2] !== 'x') continue;
          void this.elfCache.get(`${m.dev}:${m.inode}`, this.candidates(pid, m));
        }
      }
    }
  }

  private starttime(pid: number): string | null {
    try {
      const stat = fs.readFileSync(path.join(this.procRoot, String(pid), 'stat'), 'latin1');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
    } catch {
      return null;
    }
  }

  private candidates(pid: number, m: Mapping): string[] {
    return [
      path.join(this.procRoot, String(pid), 'map_files', m.range),
      path.join(this.procRoot, String(pid), 'root', m.path),
      m.path,
    ];
  }

  /** Current maps of a live process, else the ones remembered for it. */
  private mapsOf(pid: number): Mapping[] | null {
    const live = this.readMaps(pid);
    if (live) return live;
    return this.remembered.get(pid)?.maps ?? null;
  }

  /** Symbolize many samples at once; processes are read once each, binaries once overall. */
  async symbolize<T extends StackSample>(samples: T[]): Promise<(T & SymbolizedStack)[]> {
    const ks = this.kernel();
    const views = new Map<number, ProcessView>();
    // First pass: which processes and binaries are needed.
    for (const s of samples) {
      if (s.ustack.length === 0 || views.has(s.pid)) continue;
      views.set(s.pid, { maps: this.mapsOf(s.pid), perfMap: undefined, elf: new Map() });
    }
    await this.loadBinaries(samples, views);

    const kcache = new Map<bigint, SymbolFrame>();
    const ucache = new Map<string, SymbolFrame>(); // "pid/address": the same frames recur across stacks
    return samples.map((s) => {
      const kernel: SymbolFrame[] = [];
      for (let i = s.kstack.length - 1; i >= 0; i--) {
        const a = s.kstack[i]!;
        let f = kcache.get(a);
        if (!f) {
          f = ks.frame(a);
          kcache.set(a, f);
        }
        kernel.push(f);
      }
      const user: SymbolFrame[] = [];
      const view = views.get(s.pid);
      const depth = view?.maps ? plausibleDepth(view.maps, s.ustack) : s.ustack.length;
      for (let i = depth - 1; i >= 0; i--) {
        const addr = Number(s.ustack[i]!);
        const key = `${s.pid}/${addr}`;
        let f = ucache.get(key);
        if (!f) {
          f = this.userFrame(s.pid, view, addr);
          ucache.set(key, f);
        }
        user.push(f);
      }
      return { ...s, kernel, user };
    });
  }

  private readMaps(pid: number): Mapping[] | null {
    try {
      return parseMaps(fs.readFileSync(path.join(this.procRoot, String(pid), 'maps'), 'utf8'));
    } catch {
      return null; // exited, or not ours to read
    }
  }

  private async loadBinaries(samples: StackSample[], views: Map<number, ProcessView>): Promise<void> {
    const jobs: Promise<void>[] = [];
    const seen = new Set<string>();
    for (const s of samples) {
      const view = views.get(s.pid);
      if (!view?.maps) continue;
      for (const a of s.ustack) {
        const m = findMapping(view.maps, Number(a));
        if (!m || !isFileBacked(m)) continue;
        const key = `${m.dev}:${m.inode}`;
        const pk = `${s.pid}/${key}`;
        if (seen.has(pk)) continue;
        seen.add(pk);
        jobs.push(
          this.elfCache.get(key, this.candidates(s.pid, m)).then((e) => {
            view.elf.set(key, e);
          })
        );
      }
    }
    await Promise.all(jobs);
  }

  private userFrame(pid: number, view: ProcessView | undefined, addr: number): SymbolFrame {
    const m = view?.maps ? findMapping(view.maps, addr) : null;
    if (!m) {
      const jit = view ? this.jitName(pid, view, addr) : null;
      return jit ? { name: jit, kind: 'jit', module: '[jit]' } : { name: '[unknown]', kind: 'unknown' };
    }
    if (isFileBacked(m)) {
      const module = path.basename(m.path);
      const e = view!.elf.get(`${m.dev}:${m.inode}`);
      if (e) {
        const vaddr = fileOffsetToVaddr(e.loads, addr - m.start + m.offset);
        const name = vaddr === null ? null : lookupSymbol(e, vaddr);
        if (name) return { name, kind: 'user', module };
      }
      return { name: `[${module}]`, kind: 'unknown', module };
    }
    const jit = this.jitName(pid, view!, addr);
    if (jit) return { name: jit, kind: 'jit', module: '[jit]' };
    const label = m.path || '[anon]';
    return { name: label.startsWith('[') ? label : `[${label}]`, kind: 'unknown', module: label };
  }

  private jitName(pid: number, view: ProcessView, addr: number): string | null {
    if (view.perfMap === undefined) view.perfMap = this.readPerfMap(pid);
    return view.perfMap ? lookupPerfMap(view.perfMap, addr) : null;
  }

  /** /tmp/perf-<pid>.map inside the process's mount namespace, named by its pid in its own pid namespace. */
  private readPerfMap(pid: number): PerfMap | null {
    const base = path.join(this.procRoot, String(pid));
    let nspid = pid;
    try {
      const status = fs.readFileSync(path.join(base, 'status'), 'utf8');
      const m = /^NSpid:\s+(.+)$/m.exec(status);
      if (m) nspid = Number(m[1]!.trim().split(/\s+/).pop());
    } catch {
      /* exited: its perf map file usually outlives it in the host's /tmp */
    }
    for (const p of [path.join(base, 'root', 'tmp', `perf-${nspid}.map`), `/tmp/perf-${pid}.map`]) {
      try {
        return parsePerfMap(fs.readFileSync(p, 'utf8'));
      } catch {
        /* try the next */
      }
    }
    return null;
  }
}

/**
 * How many user frames (innermost first) are believable. Frame-pointer unwinding through code built
 * without frame pointers walks into data: the first "return address" outside executable memory ends
 * the real chain, and everything from there on is noise ([heap];[heap];…), so it is cut.
 */
export function plausibleDepth(maps: Mapping[], ustack: bigint[]): number {
  for (let i = 0; i < ustack.length; i++) {
    const m = findMapping(maps, Number(ustack[i]!));
    if (m && m.perms[2] !== 'x') return i;
    if (!m && i > 0) return i;
  }
  return ustack.length;
}
