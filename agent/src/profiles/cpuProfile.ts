// From a profiler window (raw addresses) to the profile model: symbolize once, then one stack per
// distinct (process, user stack, kernel stack) with the process frame at the root.
import { Profile, stackFromSample, type Frame } from './model';
import type { SampleWindow, RawSample } from '../bpf/profiler';
import type { Symbolizer } from './symbols/symbolizer';

export const LOST_STACK_FRAME: Frame = Object.freeze({ name: '[lost stack]', kind: 'meta' as const });

export interface ProcessCpu {
  pid: number;
  comm: string;
  samples: number;
  /** samples that were in kernel mode (had a kernel stack) */
  kernelSamples: number;
  cgroupId: string;
}

export interface CpuProfileResult {
  profile: Profile;
  /** per process, most samples first */
  processes: ProcessCpu[];
  totalSamples: number;
}

export async function buildCpuProfile(
  window: SampleWindow,
  symbolizer: Symbolizer,
  opts: { perPid?: boolean; filter?: (s: RawSample) => boolean } = {}
): Promise<CpuProfileResult> {
  const raw = opts.filter ? window.samples.filter(opts.filter) : window.samples;
  const symbolized = await symbolizer.symbolize(raw);
  const profile = new Profile({
    unit: 'samples',
    period: Math.round(1e9 / window.frequency),
    startTime: window.startedAt,
    durationMs: window.endedAt - window.startedAt,
  });
  const procs = new Map<number, ProcessCpu>();
  let totalSamples = 0;
  for (const s of symbolized) {
    const stack = stackFromSample(s, { perPid: opts.perPid });
    if (s.lostStack) stack.push(LOST_STACK_FRAME);
    profile.add(stack, s.count);
    totalSamples += s.count;
    let p = procs.get(s.pid);
    if (!p) {
      p = { pid: s.pid, comm: s.comm, samples: 0, kernelSamples: 0, cgroupId: s.cgroupId.toString() };
      procs.set(s.pid, p);
    }
    p.samples += s.count;
    if (s.kstack.length > 0) p.kernelSamples += s.count;
  }
  const processes = [...procs.values()].sort((a, b) => b.samples - a.samples || a.pid - b.pid);
  return { profile, processes, totalSamples };
}
