// What this kernel and this process can really do, found by trying (loading our own objects, opening
// perf events) rather than by guessing from version numbers. Used by `doctor` and /api/v1/info.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { native, openObject, bpfObjectPath, isBpfError, le } from './native';
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

  // Our real programs: the authoritative answer.
  const bpfDir = path.dirname(safe(() => bpfObjectPath('profile')) ?? path.join(process.cwd(), 'build/bpf/x'));
  const objects =
    safe(() =>
      fs
        .readdirSync(bpfDir)
        .filter((f) => f.endsWith('.bpf.o') && f !== 'selftest.bpf.o')
        .sort()
    ) ?? [];
  if (objects.length === 0) add('BPF objects', false, `none built in ${bpfDir} (npm run build:bpf)`, true, 'objects');
  for (const f of objects) {
    const name = f.replace(/\.bpf\.o$/, '');
    try {
      const o = openObject(name);
      try {
        o.load();
        add(`load ${name}.bpf.o`, true, `${o.programs().length} program(s) verified and loaded`, true, `load_${name}`);
      } finally {
        o.close();
      }
    } catch (e) {
      add(`load ${name}.bpf.o`, false, errText(e), true, `load_${name}`);
    }
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
    const o = openObject('profile');
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
          `${isBpfError(e) ? e.code : ''} ${errText(e).split(' [')[0]}: tracers use tracepoints instead`.trim(),
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
        const out = it.readIter('iter_tasks', { pid: process.pid }).toString();
        const onlyMine = out
          .trim()
          .split('\n')
          .every((l) => l.startsWith(`${process.pid} `));
        add(
          'task iterator',
          true,
          onlyMine ? 'with pid filter (kernel ≥ 6.1)' : 'without pid filter',
          false,
          'taskIter'
        );
        features.taskIterPid = onlyMine;
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

  const kallsyms = readOr('/proc/kallsyms', '').split('\n', 2)[0] ?? '';
  const ksymsOk = /^[0-9a-f]{16} /.test(kallsyms) && !/^0{16} /.test(kallsyms);
  add(
    'kernel symbols',
    ksymsOk,
    ksymsOk
      ? '/proc/kallsyms has addresses'
      : `addresses hidden (kptr_restrict=${readOr('/proc/sys/kernel/kptr_restrict', '?')}): kernel frames stay unnamed`,
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

  return { kernel: os.release(), arch: os.arch(), checks, features, cgroupMode: mode };
}

function safe<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}
