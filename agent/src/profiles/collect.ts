// Collect a CPU profile over a window in continuous mode: drain the kernel counts every second and
// remember the memory maps of every process seen, so short-lived processes that exit before the end
// of the window keep their symbols. Returns one merged window.
import fs from 'node:fs';
import type { Profiler, SampleWindow, RawSample } from '../bpf/profiler';
import type { Symbolizer } from './symbols/symbolizer';
import { setTimeout as sleep } from 'node:timers/promises';

export async function collectWindow(
  profiler: Profiler,
  durationMs: number,
  opts: { symbolizer?: Symbolizer; signal?: AbortSignal; drainEveryMs?: number } = {}
): Promise<SampleWindow> {
  const every = opts.drainEveryMs ?? 1000;
  const signal = opts.signal ?? new AbortController().signal;
  const start = Date.now();
  const windows: SampleWindow[] = [];
  const seen = new Set<number>();
  // processes alive now: their maps are cheap to read and cover most of what will be sampled
  opts.symbolizer?.observe(allPids(), { loadSymbols: false });
  while (!signal.aborted) {
    const left = durationMs - (Date.now() - start);
    if (left <= 0) break;
    try {
      await sleep(Math.min(every, left), undefined, { signal });
    } catch {
      break; // aborted: keep what was collected
    }
    if (durationMs - (Date.now() - start) <= 0) break;
    const w = await profiler.drain();
    windows.push(w);
    const fresh = w.samples.map((s) => s.pid).filter((p) => !seen.has(p));
    for (const p of fresh) seen.add(p);
    opts.symbolizer?.observe(fresh);
  }
  windows.push(profiler.stop());
  return mergeWindows(windows);
}

/** One window from consecutive ones: same stacks of the same process are added up, not repeated. */
export function mergeWindows(ws: SampleWindow[]): SampleWindow {
  const first = ws[0]!;
  const last = ws[ws.length - 1]!;
  const byKey = new Map<string, RawSample>();
  for (const w of ws) {
    for (const s of w.samples) {
      const k = `${s.pid}/${s.cgroupId}/${s.kstackId}/${s.ustackId}/${s.lostStack ? 1 : 0}/${s.comm}`;
      const have = byKey.get(k);
      if (have) have.count += s.count;
      else byKey.set(k, { ...s });
    }
  }
  return {
    startedAt: first.startedAt,
    endedAt: last.endedAt,
    frequency: first.frequency,
    event: first.event,
    samples: [...byKey.values()],
    stats: ws.reduce(
      (a, w) => ({
        samples: a.samples + w.stats.samples,
        filtered: a.filtered + w.stats.filtered,
        lostStacks: a.lostStacks + w.stats.lostStacks,
        lostCounts: a.lostCounts + w.stats.lostCounts,
      }),
      { samples: 0, filtered: 0, lostStacks: 0, lostCounts: 0 },
    ),
  };
}

function allPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}
