// /proc/PID/maps: which file (or JIT region) an instruction address belongs to.
export interface Mapping {
  start: number;
  end: number;
  perms: string;
  /** file offset of `start` */
  offset: number;
  dev: string;
  inode: number;
  /** path as the kernel prints it; '' for anonymous; " (deleted)" stripped into `deleted` */
  path: string;
  deleted: boolean;
  /** text of the range as in the maps file, e.g. "7f12a000-7f12b000" (names /proc/PID/map_files entries) */
  range: string;
}

export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    // 7f0c4c000000-7f0c4c021000 r-xp 00001000 fe:01 1315 /usr/lib/x86_64-linux-gnu/libc.so.6
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    let path = m[7] ?? '';
    let deleted = false;
    if (path.endsWith(' (deleted)')) {
      path = path.slice(0, -' (deleted)'.length);
      deleted = true;
    }
    out.push({
      start: parseInt(m[1]!, 16),
      end: parseInt(m[2]!, 16),
      perms: m[3]!,
      offset: parseInt(m[4]!, 16),
      dev: m[5]!,
      inode: Number(m[6]),
      path,
      deleted,
      range: `${m[1]}-${m[2]}`,
    });
  }
  out.sort((a, b) => a.start - b.start);
  return out;
}

export function findMapping(maps: Mapping[], addr: number): Mapping | null {
  let lo = 0;
  let hi = maps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = maps[mid]!;
    if (addr < m.start) hi = mid - 1;
    else if (addr >= m.end) lo = mid + 1;
    else return m;
  }
  return null;
}

/** A file-backed mapping whose symbols come from an ELF file (not [vdso], [heap], memfd JIT, …). */
export function isFileBacked(m: Mapping): boolean {
  return m.inode !== 0 && m.path.startsWith('/') && !m.path.startsWith('/memfd:');
}
