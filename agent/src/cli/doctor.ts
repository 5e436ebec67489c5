// `doctor`: what this machine really supports, in words a kernel engineer can act on. Two answers kept
// apart: whether the agent can run at all (the required checks; exit status 1 when one fails), and what
// each tracer can do here (full, degraded with what is missing, or off) — a degraded tracer is not a
// failure of the agent.
import { detectCapabilities } from '../bpf/capabilities';
import { tracerSupport } from '../tracers/support';
import { TRACER_TYPES } from '../events/event';

export function runDoctor(opts: { json: boolean }): number {
  const caps = detectCapabilities();
  const tracers = tracerSupport(caps);
  const failedRequired = caps.checks.filter((c) => c.required && !c.ok);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ...caps, tracers, ok: failedRequired.length === 0 }, null, 2) + '\n');
    return failedRequired.length ? 1 : 0;
  }
  const out: string[] = [`AutoTracing doctor: kernel ${caps.kernel} (${caps.arch}), cgroup ${caps.cgroupMode}`];
  const width = Math.max(...caps.checks.map((c) => c.name.length));
  for (const c of caps.checks) {
    const mark = c.ok ? 'ok  ' : c.required ? 'FAIL' : 'no  ';
    out.push(`  ${mark}  ${c.name.padEnd(width)}  ${c.detail}`);
    if (c.name === 'load blockio.bpf.o')
      for (const m of caps.probes.blockio?.missing ?? [])
        out.push(`  ${''.padEnd(4)}  ${''.padEnd(width)}  without ${m}`);
  }
  out.push('', 'Tracers on this kernel:');
  for (const t of TRACER_TYPES) {
    const s = tracers[t];
    out.push(`  ${s.mode.padEnd(8)}  ${t}`);
    for (const m of s.missing) out.push(`            - ${m}`);
  }
  const degraded = TRACER_TYPES.filter((t) => tracers[t].mode !== 'full');
  out.push(
    failedRequired.length
      ? `\n${failedRequired.length} required check(s) failed: the agent cannot run here.`
      : degraded.length
        ? `\nThe agent runs here; ${degraded.map((t) => `${t} is ${tracers[t].mode}`).join(', ')} (see above).`
        : '\nAll required checks pass; every tracer has all its evidence.'
  );
  process.stdout.write(out.join('\n') + '\n');
  return failedRequired.length ? 1 : 0;
}
