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

  static parse(text: string | Buffer, loadedAt = Date.now()): KernelSymbols {
    const buf = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    // One pass over the bytes, no per-line strings or BigInts: kallsyms has ~10^5 lines and is read
    // for every one-shot profile. "ffffffff81000000 T _stext" or "ffffffffc0a01000 t foo\t[mod]".
    const offs: number[] = [];
    const names: string[] = [];
    const modules: (string | null)[] = [];
    let sorted = true;
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      let nl = buf.indexOf(10, pos);
      if (nl < 0) nl = len;
      // kernel text addresses start with ffff (≥ KERNEL_BASE); zeros mean hidden addresses
      if (
        nl - pos > 19 &&
        buf[pos + 16] === 32 &&
        buf[pos] === 102 &&
        buf[pos + 1] === 102 &&
        buf[pos + 2] === 102 &&
        buf[pos + 3] === 102
      ) {
        const type = buf[pos + 17];
        if (type === 84 || type === 116 || type === 87 || type === 119) {
          const off = parseInt(buf.toString('latin1', pos + 4, pos + 16), 16);
          let nameEnd = pos + 19;
          while (nameEnd < nl && buf[nameEnd] !== 9) nameEnd++;
          const module = nameEnd < nl ? buf.toString('latin1', nameEnd + 2, nl - 1) : null; // "\t[mod]"
          if (offs.length && off < offs[offs.length - 1]!) sorted = false;
          offs.push(off);
          names.push(buf.toString('latin1', pos + 19, nameEnd));
          modules.push(module);
        }
      }
      pos = nl + 1;
    }
    const n = offs.length;
    const starts = new Float64Array(n);
    const outNames: string[] = new Array<string>(n);
    const outModules: (string | null)[] = new Array<string | null>(n);
    if (sorted) {
      starts.set(offs);
      for (let i = 0; i < n; i++) {
        outNames[i] = names[i]!;
        outModules[i] = modules[i]!;
      }
    } else {
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => offs[a]! - offs[b]!);
      order.forEach((j, i) => {
        starts[i] = offs[j]!;
        outNames[i] = names[j]!;
        outModules[i] = modules[j]!;
      });
    }
    return new KernelSymbols(starts, outNames, outModules, loadedAt);
  }

  static load(file = '/proc/kallsyms'): KernelSymbols {
    return KernelSymbols.parse(fs.readFileSync(file));
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
