// User-space symbol tables, read once per binary through the native addon and shared by every
// process that maps it. Keyed by build id (falling back to device:inode), bounded by symbol count.
import fs from 'node:fs';
import path from 'node:path';
import { native, type ElfLoad, type ElfTable } from '../../bpf/native';

export interface ElfEntry {
  buildId: string | null;
  loads: ElfLoad[];
  /** the symbol table, in native memory */
  table: ElfTable;
  /** where the symbols came from (the binary, or a separate debug file) */
  source: string;
}

const DEBUG_ROOT = '/usr/lib/debug';

export class ElfCache {
  private readonly byFile = new Map<string, { at: number; entry: Promise<ElfEntry | null> }>();
  private readonly byBuildId = new Map<string, ElfEntry>();
  private symbolCount = 0;

  constructor(
    private readonly maxSymbols = 4_000_000,
    private readonly fileKeyTtlMs = 10 * 60_000
  ) {}

  /**
   * Symbols of the file identified by fileKey (device:inode), opened through the first readable
   * candidate path (e.g. /proc/PID/map_files/…, which also reaches deleted files and other mount
   * namespaces). Resolves to null when no candidate can be read.
   */
  get(fileKey: string, candidates: string[]): Promise<ElfEntry | null> {
    const hit = this.byFile.get(fileKey);
    if (hit && Date.now() - hit.at < this.fileKeyTtlMs) return hit.entry;
    const entry = this.load(candidates);
    this.byFile.set(fileKey, { at: Date.now(), entry });
    return entry;
  }

  private async load(candidates: string[]): Promise<ElfEntry | null> {
    for (const p of candidates) {
      let table: ElfTable;
      try {
        table = await native().readElfTableAsync(p);
      } catch {
        continue;
      }
      const { buildId, loads } = table.info;
      if (buildId) {
        const known = this.byBuildId.get(buildId);
        if (known) {
          this.byBuildId.delete(buildId); // refresh LRU position
          this.byBuildId.set(buildId, known);
          return known;
        }
      }
      let entry: ElfEntry = { buildId, loads, table, source: p };
      // Stripped binary: a separate debug file (Debian *-dbgsym packages) may have the full .symtab.
      const dbg = buildId ? debugFileFor(buildId) : null;
      if (dbg) {
        try {
          const d = await native().readElfTableAsync(dbg);
          if (d.symbolCount > table.symbolCount) entry = { ...entry, table: d, source: dbg };
        } catch {
          /* keep the binary's own symbols */
        }
      }
      if (entry.buildId) this.remember(entry);
      return entry;
    }
    return null;
  }

  private remember(e: ElfEntry): void {
    this.byBuildId.set(e.buildId!, e);
    this.symbolCount += e.table.symbolCount;
    for (const [id, old] of this.byBuildId) {
      if (this.symbolCount <= this.maxSymbols || old === e) break;
      this.byBuildId.delete(id);
      this.symbolCount -= old.table.symbolCount;
    }
  }

  get stats(): { binaries: number; symbols: number } {
    return { binaries: this.byBuildId.size, symbols: this.symbolCount };
  }
}

export function debugFileFor(buildId: string): string | null {
  if (buildId.length < 3) return null;
  const p = path.join(DEBUG_ROOT, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`);
  return fs.existsSync(p) ? p : null;
}

/** ELF virtual address of a file offset, through the PT_LOAD segment that maps it. */
export function fileOffsetToVaddr(loads: ElfLoad[], fileOffset: number): number | null {
  let best: ElfLoad | null = null;
  for (const l of loads) {
    if (fileOffset >= l.offset && fileOffset < l.offset + Math.max(l.filesz, 1)) {
      if (!best || (l.executable && !best.executable)) best = l;
    }
  }
  return best ? fileOffset - best.offset + best.vaddr : null;
}

const simplified = new Map<string, string>();

/** C++ names shortened once per distinct name (the native side already demangled them). */
function readable(name: string): string {
  if (!name.includes('(') && !name.includes(' ')) return name;
  let d = simplified.get(name);
  if (d === undefined) {
    d = simplifyCppName(name);
    if (simplified.size > 200_000) simplified.clear();
    simplified.set(name, d);
  }
  return d;
}

export function lookupSymbol(e: ElfEntry, vaddr: number): string | null {
  const name = e.table.lookup(vaddr);
  return name === null ? null : readable(name);
}

/**
 * "ret ns::Class<T>::fn(int, char**) const [clone .isra.0]" → "ns::Class<T>::fn [clone .isra.0]":
 * what perf and most profilers show. Parameter lists and return types make flame graphs unreadable
 * and split one function into many frames.
 */
export function simplifyCppName(full: string): string {
  let clone = '';
  let s = full;
  const c = / \[clone [^\]]+\]$/.exec(s);
  if (c) {
    clone = c[0];
    s = s.slice(0, c.index);
  }
  let depthAngle = 0;
  let depthParen = 0;
  let paramsAt = -1;
  let lastSpace = -1;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '(' && s.startsWith('(anonymous namespace)', i)) {
      i += '(anonymous namespace)'.length - 1;
      continue;
    }
    if (s.startsWith('operator', i) && /^operator\W/.test(s.slice(i, i + 9))) {
      // operator(), operator<, operator<<, operator->: skip the operator token itself
      const m =
        /^operator\s*(\(\)|\[\]|<<=?|>>=?|->\*?|[<>!=+\-*/%^&|~,]=?|&&|\|\||\+\+|--|new(\[\])?|delete(\[\])?)/.exec(
          s.slice(i)
        );
      if (m) {
        i += m[0].length - 1;
        continue;
      }
    }
    if (ch === '<') depthAngle++;
    else if (ch === '>') depthAngle = Math.max(0, depthAngle - 1);
    else if (ch === '(') {
      if (depthAngle === 0 && depthParen === 0) {
        paramsAt = i;
        break;
      }
      depthParen++;
    } else if (ch === ')') depthParen = Math.max(0, depthParen - 1);
    // "operator< <char>": the space before a template argument list is not a return-type boundary
    else if (ch === ' ' && depthAngle === 0 && depthParen === 0 && s[i + 1] !== '<') lastSpace = i;
  }
  let name = paramsAt >= 0 ? s.slice(0, paramsAt) : s;
  if (paramsAt >= 0 && lastSpace >= 0 && lastSpace < paramsAt) name = name.slice(lastSpace + 1);
  return (name || full) + clone;
}
