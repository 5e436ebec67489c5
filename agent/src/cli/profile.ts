// `profile`: a one-shot on-CPU profile of this host (or one process / cgroup), no daemon needed.
import fs from 'node:fs';
import path from 'node:path';
import { Profiler, type CgroupFilter } from '../bpf/profiler';
import { Symbolizer } from '../profiles/symbols/symbolizer';
import { buildCpuProfile } from '../profiles/cpuProfile';
import { collectWindow } from '../profiles/collect';
import { toFolded } from '../profiles/folded';
import { toNestedFlamegraph } from '../profiles/nested';
import { toPprof } from '../profiles/pprof';
import { toSvg } from '../profiles/svg';
import { detectCgroupLayout, cgroupDir } from '../host/cgroupLayout';
import { parse, num, seconds, UsageError } from './args';

export const PROFILE_FORMATS = ['folded', 'json', 'svg', 'pprof'] as const;
type Format = (typeof PROFILE_FORMATS)[number];

/**
 * A cgroup given on the command line: an absolute directory under a cgroup mount, or a path inside
 * the hierarchy as /proc/PID/cgroup prints it (resolved in the cpu controller's v1 hierarchy when the
 * host has one, else in the unified hierarchy).
 */
export function resolveCgroup(arg: string): CgroupFilter {
  const layout = detectCgroupLayout('/');
  const abs = path.resolve(arg);
  const u = layout.unified?.mountPoint;
  const cpu = layout.v1.get('cpu')?.mountPoint;
  if (u && (abs === u || abs.startsWith(`${u}/`)) && fs.existsSync(abs)) return { dir: abs, hierarchy: 'unified' };
  if (cpu && (abs === cpu || abs.startsWith(`${cpu}/`)) && fs.existsSync(abs)) return { dir: abs, hierarchy: 'v1-cpu' };
  const v1 = cgroupDir(layout, 'cpu', arg);
  if (v1 && layout.v1.has('cpu') && fs.existsSync(v1)) return { dir: v1, hierarchy: 'v1-cpu' };
  const uni = cgroupDir(layout, 'unified', arg);
  if (uni && fs.existsSync(uni)) return { dir: uni, hierarchy: 'unified' };
  throw new UsageError(
    `--cgroup: no cgroup "${arg}" in the cpu controller's hierarchy${cpu ? ` (${cpu})` : ''} or the unified one${u ? ` (${u})` : ''}`
  );
}

export async function runProfile(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    duration: { type: 'string', short: 'd' },
    frequency: { type: 'string', short: 'F' },
    pid: { type: 'string', short: 'p' },
    cgroup: { type: 'string' },
    'kernel-only': { type: 'boolean' },
    'per-pid': { type: 'boolean' },
    format: { type: 'string', short: 'f' },
    output: { type: 'string', short: 'o' },
  });
  const durationMs = seconds('duration', values.duration);
  if (durationMs === undefined) throw new UsageError('--duration is required (e.g. --duration 10)');
  const frequency = num('frequency', values.frequency, { int: true, min: 1, max: 10000 }) ?? 99;
  const pid = num('pid', values.pid, { int: true, min: 1 });
  if (pid !== undefined && values.cgroup) throw new UsageError('--pid and --cgroup cannot be combined');
  if (pid !== undefined && !fs.existsSync(`/proc/${pid}`)) throw new UsageError(`--pid: no process ${pid}`);
  const format = (values.format ?? 'folded') as Format;
  if (!PROFILE_FORMATS.includes(format))
    throw new UsageError(`--format: one of ${PROFILE_FORMATS.join(', ')}, got "${values.format}"`);
  if (format === 'pprof' && !values.output && process.stdout.isTTY)
    throw new UsageError('--format pprof is binary: add --output FILE');
  const cgroup = values.cgroup ? resolveCgroup(values.cgroup) : undefined;

  const profiler = new Profiler({ frequency, pid, cgroup, kernelOnly: values['kernel-only'] });
  const symbolizer = new Symbolizer();
  profiler.start();
  const stopEarly = new AbortController();
  const onSignal = () => stopEarly.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let window;
  try {
    // Ctrl-C ends the window early and keeps what was collected
    window = await collectWindow(profiler, durationMs, { symbolizer, signal: stopEarly.signal });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const { profile, processes, totalSamples } = await buildCpuProfile(window, symbolizer, { perPid: values['per-pid'] });

  const scope = pid !== undefined ? `pid ${pid}` : cgroup ? `cgroup ${cgroup.dir}` : 'all CPUs';
  let out: string | Buffer;
  switch (format) {
    case 'folded':
      out = toFolded(profile);
      break;
    case 'json':
      out = JSON.stringify(toNestedFlamegraph(profile, 'cpu')) + '\n';
      break;
    case 'pprof':
      out = toPprof(profile);
      break;
    case 'svg':
      out = toSvg(profile, {
        title: `CPU profile: ${scope}`,
        subtitle: `${totalSamples} samples at ${frequency} Hz over ${((window.endedAt - window.startedAt) / 1000).toFixed(1)} s (${window.event}), ${new Date(window.startedAt).toISOString()}`,
      });
      break;
  }
  if (values.output) fs.writeFileSync(values.output, out);
  else process.stdout.write(out);

  const top = processes
    .slice(0, 3)
    .map((p) => `${p.comm}[${p.pid}] ${((100 * p.samples) / Math.max(1, totalSamples)).toFixed(1)}%`);
  const lost = window.stats.lostStacks + window.stats.lostCounts;
  process.stderr.write(
    `profiled ${scope} for ${((window.endedAt - window.startedAt) / 1000).toFixed(1)} s at ${frequency} Hz: ${totalSamples} samples, ${profile.stackCount} stacks` +
      `${lost ? `, ${lost} lost` : ''}${top.length ? `; top: ${top.join(', ')}` : ''}${values.output ? ` → ${values.output}` : ''}\n`
  );
  return 0;
}
