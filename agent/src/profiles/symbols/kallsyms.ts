// Kernel symbols from /proc/kallsyms (core kernel and loaded modules). Addresses are kept as float
// offsets from KERNEL_BASE so lookups stay in fast Number arithmetic (kernel text is far below 2^53
// above that base).
import fs from 'node:fs';
import type { SymbolFrame } from './frame';

export const KERNEL_BASE = 0xffff000000000000n;
/** A return address this far past the last symbol is not inside it. */
const MAX_SYMBOL_SPAN = 1 << 20;

export class KernelSymbols {
  private constructor(
    private readonly starts: Float64Array,
    private readonly names: string[],
    private readonly modules: (string | null)[],
    readonly loadedAt: number
  ) {}

  get size(): number {
    return this.starts.length;
  }

  /** False when addresses are hidden (kptr_restrict without privilege): every address reads 0. */
  get usable(): boolean {
    return this.starts.length > 0;
  }

  static parse(text: string, loadedAt = Date.now()): KernelSymbols {
    const entries: { off: number; name: string; module: string | null }[] = [];
    let start = 0;
    while (start < text.length) {
      let nl = text.indexOf('\n', start);
      if (nl < 0) nl = text.length;
      const line = text.slice(start, nl);
      start = nl + 1;
      // "ffffffff81000000 T _stext" or "ffffffffc0a01000 t foo\t[mod]"
      const sp1 = line.indexOf(' ');
      if (sp1 !== 16) continue;
      const type = line.charCodeAt(17);
      // text symbols only: T t W w
      if (type !== 84 && type !== 116 && type !== 87 && type !== 119) continue;
      const addr = BigInt('0x' + line.slice(0, 16));
      if (addr < KERNEL_BASE) continue; // hidden (0) or not a kernel text address
      const rest = line.slice(19);
      const tab = rest.indexOf('\t');
      const name = tab < 0 ? rest : rest.slice(0, tab);
      const module = tab < 0 ? null : rest.slice(tab + 1).replace(/^\[|\]$/g, '');
      entries.push({ off: Number(addr - KERNEL_BASE), name, module });
    }
    entries.sort((a, b) => a.off - b.off);
    const starts = new Float64Array(entries.length);
    const names: string[] = new Array<string>(entries.length);
    const modules: (string | null)[] = new Array<string | null>(entries.length);
    entries.forEach((e, i) => {
      starts[i] = e.off;
      names[i] = e.name;
      modules[i] = e.module;
    });
    return new KernelSymbols(starts, names, modules, loadedAt);
  }

  static load(file = '/proc/kallsyms'): KernelSymbols {
    return KernelSymbols.parse(fs.readFileSync(file, 'latin1'));
  }

  /** Index of the symbol containing addr, or -1. */
  private find(addr: bigint): number {
    if (addr < KERNEL_BASE) return -1;
    const off = Number(addr - KERNEL_BASE);
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]! <= off) {
        ans = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (ans < 0) return -1;
    const next = ans + 1 < s.length ? s[ans + 1]! : Infinity;
    if (off >= next || off - s[ans]! > MAX_SYMBOL_SPAN) return -1;
    return ans;
  }

  lookup(addr: bigint): { name: string; module: string | null; offset: number } | null {
    const i = this.find(addr);
    if (i < 0) return null;
    return { name: this.names[i]!, module: this.modules[i]!, offset: Number(addr - KERNEL_BASE) - this.starts[i]! };
  }

  frame(addr: bigint): SymbolFrame {
    const s = this.lookup(addr);
    if (!s) return { name: `[kernel] 0x${addr.toString(16)}`, kind: 'kernel', module: 'kernel' };
    return { name: s.name, kind: 'kernel', module: s.module ?? 'kernel' };
  }
}

let shared: KernelSymbols | null = null;

/** Process-wide kallsyms, re-read when older than maxAgeMs (modules come and go). */
export function kernelSymbols(maxAgeMs = 60_000, file = '/proc/kallsyms'): KernelSymbols {
  if (!shared || Date.now() - shared.loadedAt > maxAgeMs) shared = KernelSymbols.load(file);
  return shared;
}
