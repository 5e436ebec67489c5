// What this kernel and this process can really do, found by trying (loading our own objects, opening
// perf events) rather than by guessing from version numbers. Used by `doctor` and /api/v1/info.
import fs from 'node:fs';
import os from 'node:os';
import { native, openObject, bpfObjectPath, isBpfError, le } from './native';
import { kernelFeatures } from './probes';
import { loadFailureReason } from './variants';
import { loadBlockIo } from './blockio';
import { openProfileObject, probeProfiler } from './profiler';
import { probeMemalloc } from './memalloc';
import { probeDstate } from './dstate';
import { probeOffCpu } from './offcpu';
import { detectCgroupLayout } from '../host/cgroupLayout';

export interface Check {
  name: string;
  ok: boolean;
  /** what was found, or why not */
  detail: string;
  /** false: optional feature; the agent works without it, with less evidence */
  required: boolean;
}

export interface Capabilities {
  kernel: string;
  arch: string;
  checks: Check[];
  /** short booleans for the API and the tracers */
  features: Record<string, boolean>;
  cgroupMode: string;
  /** our BPF objects as their owners load them: profile, memallocRss, memallocAlloc, dstate, offcpu, blockio */
  probes: Record<string, ProgramProbe>;
}

const CAP = { SYS_ADMIN: 21, SYS_RESOURCE: 24, PERFMON: 38, BPF: 39 } as const;

function effectiveCaps(): bigint {
  const m = /^CapEff:\s+([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? BigInt('0x' + m[1]) : 0n;
}

function hasCap(caps: bigint, bit: number): boolean {
  return (caps & (1n << BigInt(bit))) !== 0n;
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

function mounted(fsType: string, mountPoint: string): boolean {
  return readOr('/proc/self/mounts', '')
    .split('\n')
    .some((l) => {
      const f = l.split(' ');
      return f[2] === fsType && f[1] === mountPoint;
    });
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Run every probe. Loads and unloads real BPF objects; takes a fraction of a second. */
export function detectCapabilities(): Capabilities {
  const checks: Check[] = [];
  const features: Record<string, boolean> = {};
  const add = (name: string, ok: boolean, detail: string, required: boolean, feature?: string) => {
    checks.push({ name, ok, detail, required });
    if (feature) features[feature] = ok;
  };

  const btf = '/sys/kernel/btf/vmlinux';
  add(
    'kernel BTF',
    fs.existsSync(btf),
    fs.existsSync(btf)
      ? `${btf} (${(fs.statSync(btf).size / 1048576).toFixed(1)} MiB)`
      : `${btf} missing: CO-RE programs cannot load (kernel built without CONFIG_DEBUG_INFO_BTF)`,
    true,
    'btf'
  );

  const caps = effectiveCaps();
  const euid = process.geteuid?.() ?? -1;
  const privNames = [
    euid === 0 ? 'root' : `uid ${euid}`,
    ...(['BPF', 'PERFMON', 'SYS_ADMIN'] as const).filter((c) => hasCap(caps, CAP[c])).map((c) => `CAP_${c}`),
  ];
  const privileged = hasCap(caps, CAP.SYS_ADMIN) || (hasCap(caps, CAP.BPF) && hasCap(caps, CAP.PERFMON));
  add(
    'BPF privileges',
    privileged,
    privileged ? privNames.join(', ') : `${privNames.join(', ')}: needs CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN)`,
    true,
    'privileged'
  );

  let libbpf = 'unknown';
  try {
    libbpf = native().libbpfVersion();
    add('native addon', true, `libbpf ${libbpf}, ${native().numPossibleCpus()} possible CPUs`, true, 'addon');
  } catch (e) {
    add('native addon', false, errText(e), true, 'addon');
  }

  add(
    'tracefs',
    fs.existsSync('/sys/kernel/tracing/events'),
    fs.existsSync('/sys/kernel/tracing/events')
      ? '/sys/kernel/tracing'
      : 'not mounted at /sys/kernel/tracing (mount -t tracefs tracefs /sys/kernel/tracing): tracepoints by name cannot attach',
    true,
    'tracefs'
  );
  add(
    'bpffs',
    mounted('bpf', '/sys/fs/bpf'),
    mounted('bpf', '/sys/fs/bpf')
      ? '/sys/fs/bpf'
      : 'not mounted (mount -t bpf bpf /sys/fs/bpf); only needed for pinning',
    false,
    'bpffs'
  );

  // Our real programs, loaded the way their owners load them (same variants, same map settings): the
  // authoritative answer for what each tracer gets here.
  const probes: Record<string, ProgramProbe> = {};
  const objects = ['profile', 'memalloc', 'dstate', 'offcpu', 'blockio'];
  const missingObjects = objects.filter((n) => safe(() => bpfObjectPath(n)) === null);
  if (missingObjects.length)
    add('BPF objects', false, `not built: ${missingObjects.join(', ')} (npm run build:bpf)`, true, 'objects');
  else {
    const record = (key: string, name: string, r: ProgramProbe) => {
      probes[key] = r;
      add(name, r.ok, r.detail, false, `load_${key}`);
    };
    record(
      'profile',
      'load profile.bpf.o',
      probeRun(() => probeProfiler())
    );
    const mem = probeMemalloc();
    record('memallocRss', 'load memalloc.bpf.o rss_sweep', mem.rss);
    record('memallocAlloc', 'load memalloc.bpf.o alloc_sample', mem.alloc);
    record(
      'dstate',
      'load dstate.bpf.o',
      probeRun(() => probeDstate())
    );
    record(
      'offcpu',
      'load offcpu.bpf.o',
      probeRun(() => probeOffCpu())
    );
    record('blockio', 'load blockio.bpf.o', probeBlockIo());
  }

  try {
    const probe = (fn: () => number) => safe(fn) === 1;
    add(
      'ring buffer',
      probe(() => native().probeMapType('ringbuf')),
      'BPF_MAP_TYPE_RINGBUF (kernel ≥ 5.8)',
      false,
      'ringbuf'
    );
    add(
      'perf_event programs',
      probe(() => native().probeProgType('perf_event')),
      'on-CPU sampling',
      true,
      'perfEventProg'
    );
  } catch {
    /* addon missing: reported above */
  }

  // Hardware PMU (VMs usually have none; cpu-clock works anyway).
  features.cycles = false;
  try {
    const o = openProfileObject();
    try {
      o.load();
      o.attachPerfEvent('profile_sample', { frequency: 1, event: 'cycles', cpus: [0] }).destroy();
      features.cycles = true;
      add('hardware cycles event', true, 'PMU available', false);
    } catch (e) {
      add(
        'hardware cycles event',
        false,
        `${isBpfError(e) ? e.code : errText(e)}: no PMU; the profiler uses software cpu-clock`,
        false
      );
    } finally {
      o.close();
    }
  } catch {
    /* profile object missing: reported above */
  }

  // fentry and the pid-filtered task iterator, tried with the selftest object when it is built.
  if (safe(() => bpfObjectPath('selftest'))) {
    try {
      const o = openObject('selftest');
      try {
        o.setAutoload('fe_getppid', true);
        o.load();
        o.attach('fe_getppid').destroy();
        add('fentry/fexit', true, 'BPF trampolines work', false, 'fentry');
      } catch (e) {
        add(
          'fentry/fexit',
          false,
          `${loadFailureReason(e)}: tracers use tracepoints or kprobes instead`,
          false,
          'fentry'
        );
      } finally {
        o.close();
      }
      const it = openObject('selftest');
      try {
        it.setGlobal('target_tgid', le.u32(process.pid));
        it.load();
        // pid filters on task iterators came in 6.1; older kernels refuse the larger link info (E2BIG)
        const filter = kernelFeatures().taskIterFilter;
        const out = it.readIter('iter_tasks', filter ? { pid: process.pid } : {}).toString();
        const onlyMine = out
          .trim()
          .split('\n')
          .every((l) => l.startsWith(`${process.pid} `));
        add(
          'task iterator',
          true,
          filter && onlyMine ? 'with pid filter' : 'without pid filter (the sweeps filter in the program)',
          false,
          'taskIter'
        );
        features.taskIterPid = filter && onlyMine;
      } catch (e) {
        add('task iterator', false, `${errText(e)}: dload sweeps /proc instead`, false, 'taskIter');
      } finally {
        it.close();
      }
    } catch (e) {
      add('selftest object', false, errText(e), false);
    }
  }

  const kprobes = fs.existsSync('/sys/kernel/tracing/kprobe_events');
  add(
    'kprobes',
    kprobes,
    kprobes ? 'kprobe_events present' : 'kernel built without CONFIG_KPROBES (not needed: we use tracepoints)',
    false,
    'kprobes'
  );

  const ksyms = kallsymsState();
  add(
    'kernel symbols',
    ksyms.ok,
    ksyms.ok
      ? `/proc/kallsyms has addresses (${ksyms.text} text symbols)`
      : `addresses hidden (kptr_restrict=${readOr('/proc/sys/kernel/kptr_restrict', '?')}, ${ksyms.text} text symbols, none with an address): kernel frames stay unnamed`,
    false,
    'kallsyms'
  );

  const paranoid = readOr('/proc/sys/kernel/perf_event_paranoid', '?');
  add('perf_event_paranoid', true, `${paranoid} (irrelevant with CAP_PERFMON)`, false);

  const layout = safe(() => detectCgroupLayout('/'));
  const mode = layout?.mode ?? 'none';
  const cgDetail = layout
    ? `${mode}${layout.unified ? `, cgroup2 at ${layout.unified.mountPoint}` : ''}${layout.v1.size ? `, v1: ${[...new Set([...layout.v1.values()].map((h) => h.mountPoint))].length} hierarchies (cpu at ${layout.v1.get('cpu')?.mountPoint ?? 'none'})` : ''}`
    : 'unreadable';
  add('cgroups', mode !== 'none', cgDetail, true, 'cgroups');

  const psi = ['cpu', 'memory', 'io'].filter((r) => readOr(`/proc/pressure/${r}`, '').startsWith('some'));
  add(
    'PSI',
    psi.length === 3,
    psi.length ? `/proc/pressure: ${psi.join(', ')}` : 'no /proc/pressure (boot with psi=1): memburst uses vmstat only',
    false,
    'psi'
  );

  const stackOk = safe(() => fs.readFileSync(`/proc/${process.pid}/stack`, 'utf8')) !== null;
  add(
    '/proc/PID/stack',
    stackOk,
    stackOk ? 'readable (fallback for D-state stacks)' : 'not readable (needs root)',
    false,
    'procStack'
  );

  const docker = fs.existsSync('/var/run/docker.sock');
  add(
    'Docker socket',
    docker,
    docker ? '/var/run/docker.sock: container names and images' : 'absent: containers named by id only',
    false,
    'docker'
  );

  return { kernel: os.release(), arch: os.arch(), checks, features, cgroupMode: mode, probes };
}

/** Whether kernel text symbols have real addresses. Per-CPU symbols sit at 0 whatever kptr_restrict
 *  says, so the first lines prove nothing: look for a text symbol (t/T) with a non-zero address. */
export function kallsymsState(file = '/proc/kallsyms'): { ok: boolean; text: number } {
  let text = 0;
  let ok = false;
  for (const line of readOr(file, '').split('\n')) {
    const t = line.charCodeAt(17);
    if (t !== 84 && t !== 116) continue; // T / t
    text++;
    if (!ok && !line.startsWith('0000000000000000')) ok = true;
  }
  return { ok, text };
}

/** One of our BPF objects loaded (and where it matters attached) the way its owner does it. */
export interface ProgramProbe {
  ok: boolean;
  /** what loaded (and with which variants), or the loader's/verifier's reason */
  detail: string;
  /** optional parts that cannot run here, each with why */
  missing: string[];
}

function probeRun(fn: () => string | void): ProgramProbe {
  try {
    const detail = fn();
    return { ok: true, detail: detail || 'loaded', missing: [] };
  } catch (e) {
    return { ok: false, detail: loadFailureReason(e), missing: [] };
  }
}

function probeBlockIo(): ProgramProbe {
  try {
    const l = loadBlockIo({ stallNs: 100_000_000 });
    try {
      const used = l.outcomes.filter((o) => o.variant).map((o) => o.variant!);
      return { ok: true, detail: `loaded and attached: ${used.join(', ')}`, missing: l.missing };
    } finally {
      l.close();
    }
  } catch (e) {
    return { ok: false, detail: loadFailureReason(e), missing: [] };
  }
}

function safe<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}
