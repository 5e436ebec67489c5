// What each tracer can do on this kernel, from the capability probes (bpf/capabilities.ts): full, degraded
// (it runs and captures, with less evidence: the list says what is missing and why) or off (it cannot
// capture here: its evidence needs programs this kernel refuses). `doctor`, /api/v1/info, /metrics and
// the app's agents page show the same answer.
import type { Capabilities, ProgramProbe } from '../bpf/capabilities';
import { TRACER_TYPES, type TracerType } from '../events/event';
import type { TracerSupport } from '../api/schemas';

function failed(p: ProgramProbe | undefined): string | null {
  if (!p) return 'not probed';
  return p.ok ? null : p.detail;
}

export function tracerSupport(caps: Capabilities): Record<TracerType, TracerSupport> {
  const p = caps.probes;
  const kallsyms = caps.features.kallsyms === false ? 'kernel frames unnamed: /proc/kallsyms shows no addresses' : null;
  const out = {} as Record<TracerType, TracerSupport>;
  const set = (type: TracerType, missing: (string | null)[], off: string | null = null) => {
    const m = missing.filter((x): x is string => x !== null);
    out[type] = off ? { mode: 'off', missing: [off, ...m] } : { mode: m.length ? 'degraded' : 'full', missing: m };
  };

  const profile = failed(p.profile);
  const cpu = [profile && `no flame graph (profile.bpf.o: ${profile}); processes from /proc only`, kallsyms];
  set('cpusys', cpu);
  set('cpuidle', cpu);

  const dstate = failed(p.dstate);
  const offcpu = failed(p.offcpu);
  set('dload', [
    dstate && `D-state tasks swept from /proc, stacks from /proc/PID/stack (dstate.bpf.o: ${dstate})`,
    offcpu && `no off-CPU flame graph (offcpu.bpf.o: ${offcpu})`,
    kallsyms,
  ]);

  const rss = failed(p.memallocRss);
  const alloc = failed(p.memallocAlloc);
  set('memburst', [
    rss && `process RSS read from /proc (rss_sweep: ${rss})`,
    alloc && `no allocation flame graph (alloc_sample: ${alloc})`,
    kallsyms,
  ]);

  const blockio = failed(p.blockio);
  set('iotracing', p.blockio?.missing ?? [], blockio && `no block IO capture: ${blockio}`);

  for (const t of TRACER_TYPES) out[t] ??= { mode: 'full', missing: [] };
  return out;
}
