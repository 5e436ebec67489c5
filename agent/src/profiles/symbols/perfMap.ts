// JIT symbols from /tmp/perf-PID.map ("START SIZE name" in hex), written by V8 (--perf-basic-prof),
// the JVM (perf-map-agent), .NET, LuaJIT and others.
export interface PerfMap {
  starts: Float64Array;
  ends: Float64Array;
  names: string[];
}

export function parsePerfMap(text: string): PerfMap {
  const rows: { s: number; e: number; name: string; seq: number }[] = [];
  let seq = 0;
  for (const line of text.split('\n')) {
    const a = line.indexOf(' ');
    const b = a < 0 ? -1 : line.indexOf(' ', a + 1);
    if (b < 0) continue;
    const s = parseInt(line.slice(0, a), 16);
    const size = parseInt(line.slice(a + 1, b), 16);
    if (!Number.isFinite(s) || !Number.isFinite(size) || size <= 0) continue;
    rows.push({ s, e: s + size, name: line.slice(b + 1).trim(), seq: seq++ });
  }
  // Code moves and regions get reused: for equal starts the entry written last wins.
  rows.sort((x, y) => x.s - y.s || y.seq - x.seq);
  const dedup = rows.filter((r, i) => i === 0 || rows[i - 1]!.s !== r.s);
  return {
    starts: Float64Array.from(dedup.map((r) => r.s)),
    ends: Float64Array.from(dedup.map((r) => r.e)),
    names: dedup.map((r) => r.name),
  };
}

export function lookupPerfMap(map: PerfMap, addr: number): string | null {
  let lo = 0;
  let hi = map.starts.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map.starts[mid]! <= addr) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (ans < 0 || addr >= map.ends[ans]!) return null;
  return map.names[ans]!;
}
