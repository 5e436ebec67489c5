// `doctor`: what this machine really supports, in words a kernel engineer can act on.
import { detectCapabilities } from '../bpf/capabilities';

export function runDoctor(opts: { json: boolean }): number {
  const caps = detectCapabilities();
  const failedRequired = caps.checks.filter((c) => c.required && !c.ok);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ...caps, ok: failedRequired.length === 0 }, null, 2) + '\n');
  } else {
    const out: string[] = [`AutoTracing doctor: kernel ${caps.kernel} (${caps.arch}), cgroup ${caps.cgroupMode}`];
    const width = Math.max(...caps.checks.map((c) => c.name.length));
    for (const c of caps.checks) {
      const mark = c.ok ? 'ok  ' : c.required ? 'FAIL' : 'no  ';
      out.push(`  ${mark}  ${c.name.padEnd(width)}  ${c.detail}`);
    }
    out.push(
      failedRequired.length
        ? `\n${failedRequired.length} required check(s) failed: the agent cannot capture evidence here.`
        : '\nAll required checks pass.'
    );
    process.stdout.write(out.join('\n') + '\n');
  }
  return failedRequired.length ? 1 : 0;
}
