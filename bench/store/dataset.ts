// A realistic event mix for store and API benchmarks: all five types with evidence (`data`) shaped as
// the tracers write it (cpusys/cpuidle as agent/src/tracers/cpu*.ts produce, dload/memburst/iotracing
// as docs/plugin-resources.md proposes), on a 16-CPU host with ~300 containers of docker, containerd
// (Kubernetes) and CRI-O style whose activity is skewed (a few noisy ones, a long tail).
import type { ContainerRef, TracerType, Trigger } from '../../agent/src/events/event';

export type Rng = () => number;

export function rng(seed: number): Rng {
  // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const r1 = (x: number) => Math.round(x * 10) / 10;
const hex = (r: Rng, n: number) => {
  let s = '';
  while (s.length < n)
    s += Math.floor(r() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return s.slice(0, n);
};

export const TYPE_MIX: [TracerType, number][] = [
  ['cpuidle', 0.3],
  ['cpusys', 0.2],
  ['iotracing', 0.2],
  ['dload', 0.15],
  ['memburst', 0.15],
];

const APPS = [
  'web-frontend',
  'checkout',
  'payments-api',
  'postgres',
  'redis',
  'kafka-broker',
  'nginx-ingress',
  'search',
  'ml-inference',
  'batch-etl',
  'auth',
  'cart',
  'catalog',
  'mailer',
  'metrics-agent',
  'fluent-bit',
  'envoy',
  'grpc-gateway',
  'image-resizer',
  'scheduler',
];
const NAMESPACES = ['default', 'payments', 'shop', 'data', 'infra', 'ml', 'observability'];
const COMMS = [
  'java',
  'node',
  'python3',
  'postgres',
  'redis-server',
  'nginx',
  'envoy',
  'ruby',
  'php-fpm',
  'dotnet',
  'gunicorn',
  'kafka',
  'mysqld',
  'ffmpeg',
  'stress-ng-cpu',
  'tar',
  'rsync',
  'kworker/u32:3',
  'jbd2/nvme0n1p1-8',
  'containerd-shim',
];
const KFUNCS = [
  '_raw_spin_lock',
  'copy_user_enhanced_fast_string',
  'clear_page_erms',
  'find_get_block_common',
  '__d_lookup_rcu',
  'do_syscall_64',
  'native_queued_spin_lock_slowpath',
  'ext4_get_group_desc',
  'filemap_get_entry',
  'memset_erms',
  'tcp_sendmsg_locked',
  '__schedule',
  'page_counter_try_charge',
  'get_page_from_freelist',
  'lookup_fast',
  'link_path_walk',
  'xas_load',
  '__audit_syscall_exit',
  'syscall_exit_to_user_mode',
  'psi_group_change',
];
const UFUNCS = [
  'JVM_Sleep',
  'Interpreter',
  'v8::internal::Heap::Scavenge',
  'PyEval_EvalFrameDefault',
  'ExecScan',
  'lzf_compress',
  'ngx_http_process_request',
  'je_malloc',
  'memcpy',
  'std::__detail::_Map_base',
  'runtime.mallocgc',
  'json_parse_value',
  'SSL_read',
  'deflate_slow',
  'crc32c_intel',
];
const DSTACK_TAILS = [
  ['jbd2_log_wait_commit', 'ext4_sync_file', 'vfs_fsync_range', 'do_fsync', '__x64_sys_fdatasync'],
  [
    'rwsem_down_read_slowpath',
    'down_read',
    'lock_mm_and_find_vma',
    'do_user_addr_fault',
    'exc_page_fault',
    'asm_exc_page_fault',
  ],
  [
    'folio_wait_bit_common',
    'folio_wait_writeback',
    'truncate_inode_pages_range',
    'ext4_evict_inode',
    'evict',
    'do_unlinkat',
  ],
  [
    'io_schedule',
    'blk_mq_get_tag',
    'blk_mq_submit_bio',
    'submit_bio_noacct',
    'ext4_mpage_readpages',
    'read_pages',
    'page_cache_ra_unbounded',
  ],
  [
    'rpc_wait_bit_killable',
    '__rpc_execute',
    'rpc_run_task',
    'nfs4_call_sync_sequence',
    'nfs4_proc_getattr',
    '__nfs_revalidate_inode',
  ],
  [
    'balance_dirty_pages',
    'balance_dirty_pages_ratelimited_flags',
    'generic_perform_write',
    'ext4_buffered_write_iter',
    'vfs_write',
    'ksys_write',
  ],
];
const KNOWN = ['jbd2-journal', 'mmap-lock', 'page-writeback', null, 'nfs-wait', 'page-writeback'];

export interface Container {
  ref: ContainerRef;
  weight: number;
}

/** ~300 containers; weights follow a Zipf law (the noisy few get most events). */
export function makeContainers(r: Rng, n = 300): Container[] {
  const out: Container[] = [];
  for (let i = 0; i < n; i++) {
    const app = APPS[i % APPS.length]!;
    const id = hex(r, 64);
    const kind = i % 10 < 6 ? 'k8s' : i % 10 < 9 ? 'docker' : 'crio';
    let ref: ContainerRef;
    if (kind === 'docker') {
      ref = {
        id,
        name: `${app}-${i}`,
        runtime: 'docker',
        pod: null,
        namespace: null,
        qos: null,
        cgroup: `/system.slice/docker-${id}.scope`,
      };
    } else {
      const qos = pick(r, ['burstable', 'besteffort', 'guaranteed'] as const);
      const uid = `${hex(r, 8)}_${hex(r, 4)}_${hex(r, 4)}_${hex(r, 4)}_${hex(r, 12)}`;
      const pod = `${app}-${hex(r, 9)}-${hex(r, 5)}`;
      const slice =
        qos === 'guaranteed'
          ? `/kubepods.slice/kubepods-pod${uid}.slice`
          : `/kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${uid}.slice`;
      ref = {
        id,
        name: app,
        runtime: kind === 'k8s' ? 'containerd' : 'crio',
        pod,
        namespace: pick(r, NAMESPACES),
        qos,
        cgroup: `${slice}/${kind === 'k8s' ? 'cri-containerd' : 'crio'}-${id}.scope`,
      };
    }
    out.push({ ref, weight: 1 / (i + 1) ** 0.9 });
  }
  return out;
}

export class ContainerPicker {
  private readonly cum: number[] = [];
  private readonly total: number;
  constructor(readonly containers: Container[]) {
    let s = 0;
    for (const c of containers) this.cum.push((s += c.weight));
    this.total = s;
  }
  pick(r: Rng): Container {
    const x = r() * this.total;
    let lo = 0;
    let hi = this.cum.length - 1;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (this.cum[m]! < x) lo = m + 1;
      else hi = m;
    }
    return this.containers[lo]!;
  }
}

export interface ProfileRef {
  name: string;
  title: string;
  unit: 'samples' | 'nanoseconds' | 'bytes' | 'count';
  total: number;
  stacks: number;
}

export interface Generated {
  type: TracerType;
  container: ContainerRef | null;
  trigger: Trigger;
  summary: string;
  data: Record<string, unknown>;
}

const CPUS = 16;

function proc(r: Rng, container: ContainerRef | null) {
  const comm = pick(r, COMMS);
  return {
    pid: int(r, 300, 4_000_000),
    comm,
    command: `${comm} ${pick(r, ['--config /etc/app/config.yaml', '-Xmx4g -jar /srv/app.jar', 'server.js --port 8080', '-c /etc/nginx/nginx.conf', '--workers 8'])}`,
    container,
  };
}

function fnRows(r: Rng, names: readonly string[], kind: string | null, n: number) {
  return Array.from({ length: n }, (_, i) => {
    const k = kind ?? (i % 2 ? 'kernel' : 'user');
    return {
      name: pick(r, names),
      kind: k,
      module:
        k === 'kernel'
          ? 'kernel'
          : `/usr/lib/x86_64-linux-gnu/lib${pick(r, ['c.so.6', 'ssl.so.3', 'jvm.so', 'node', 'python3.11'])}`,
      selfPct: r1(30 / (i + 1)),
      totalPct: r1(60 / (i + 1) + r() * 10),
    };
  });
}

function topProcesses(r: Rng, n: number, containerOf: () => ContainerRef | null) {
  return Array.from({ length: n }, (_, i) => {
    const p = proc(r, containerOf());
    const samples = Math.round(4000 / (i + 1));
    return {
      ...p,
      samples,
      samplePct: r1(40 / (i + 1)),
      kernelSamples: Math.round(samples * r()),
      kernelSamplePct: r1(100 * r()),
      userPct: r1(100 * r()),
      sysPct: r1(100 * r()),
      exited: r() < 0.05,
    };
  });
}

function cpuShare(r: Rng) {
  const sys = r1(20 + 70 * r());
  const user = r1((100 - sys) * r());
  return {
    sysPct: sys,
    userPct: user,
    irqPct: r1(r()),
    softirqPct: r1(3 * r()),
    iowaitPct: r1(2 * r()),
    stealPct: 0,
    idlePct: r1(Math.max(0, 100 - sys - user)),
  };
}

export function generate(type: TracerType, r: Rng, containers: ContainerPicker, profile: ProfileRef | null): Generated {
  const anyContainer = () => (r() < 0.7 ? containers.pick(r).ref : null);
  const fg = profile ? [profile] : [];
  switch (type) {
    case 'cpusys': {
      const v = r1(45 + 50 * r());
      const b = r1(5 + 15 * r());
      const top = topProcesses(r, int(r, 8, 15), anyContainer);
      const k = pick(r, KFUNCS);
      return {
        type,
        container: null,
        trigger: {
          metric: 'sys_percent',
          value: v,
          threshold: 45,
          baseline: b,
          delta: r1(v - b),
          reason: `host CPU sys ${v}% > 45% and ${r1(v - b)} points above its baseline ${b}% (> 20) for 3 samples`,
        },
        summary: `sys ${v}% (baseline ${b}%): top process ${top[0]!.comm}[${top[0]!.pid}] (${top[0]!.samplePct}% of samples in the kernel), top kernel function ${k} (${r1(5 + 20 * r())}% self)`,
        data: {
          profile: {
            frequencyHz: 99,
            event: 'cpu-clock',
            samples: profile?.total ?? 0,
            lostSamples: int(r, 0, 5),
            durationMs: 10_000,
          },
          window: { ...cpuShare(r), ctxtPerSec: int(r, 2000, 90_000) },
          perCpu: Array.from({ length: CPUS }, (_, cpu) => ({ cpu, ...cpuShare(r) })),
          topProcesses: top,
          topKernelFunctions: fnRows(r, KFUNCS, 'kernel', 10),
          topFunctions: fnRows(r, [...KFUNCS, ...UFUNCS], null, 10),
          flamegraphs: fg,
        },
      };
    }
    case 'cpuidle': {
      const c = containers.pick(r).ref;
      const rule = pick(r, ['total', 'user', 'sys'] as const);
      const [thr, dthr] = rule === 'total' ? [90, 55] : rule === 'user' ? [75, 45] : [45, 20];
      const v = r1(thr + (100 - thr) * r());
      const b = r1(10 * r());
      const cap = pick(r, [0.5, 1, 2, 4, 8]);
      const top = topProcesses(r, int(r, 2, 8), () => c);
      const name = c.name ?? c.id.slice(0, 12);
      const dirs =
        c.runtime === 'docker'
          ? { cpu: `/sys/fs/cgroup/cpu${c.cgroup}`, cpuacct: `/sys/fs/cgroup/cpuacct${c.cgroup}`, unified: null }
          : { cpu: null, cpuacct: null, unified: `/sys/fs/cgroup${c.cgroup}` };
      return {
        type,
        container: c,
        trigger: {
          metric: `${rule}_percent`,
          value: v,
          threshold: thr,
          baseline: b,
          delta: r1(v - b),
          reason: `container ${name} ${rule} CPU ${v}% of its ${cap} CPUs > ${thr}% and ${r1(v - b)} points above its baseline ${b}% (> ${dthr}) for 3 samples`,
        },
        summary: `${rule} CPU ${v}% of capacity (baseline ${b}%) in ${name}: top process ${top[0]!.comm}[${top[0]!.pid}] in ${name} (${top[0]!.samplePct}% of samples), top kernel function ${pick(r, KFUNCS)} (${r1(10 * r())}% self)`,
        data: {
          profile: {
            frequencyHz: 99,
            event: 'cpu-clock',
            samples: profile?.total ?? 0,
            lostSamples: 0,
            durationMs: 10_000,
            cgroup: dirs.cpu ?? dirs.unified,
          },
          containerContext: {
            capacityCpus: cap,
            onlineCpus: CPUS,
            quotaCpus: cap,
            periodUs: 100_000,
            cpuset: r() < 0.2 ? '4-7' : null,
            usage: { userPct: r1(v * 0.8), sysPct: r1(v * 0.2), totalPct: v },
            throttling: {
              periods: 100,
              throttledPeriods: int(r, 0, 100),
              throttledPct: r1(100 * r()),
              throttledMs: r1(3000 * r()),
            },
            dirs,
          },
          topProcesses: top,
          topKernelFunctions: fnRows(r, KFUNCS, 'kernel', 10),
          topFunctions: fnRows(r, [...KFUNCS, ...UFUNCS], null, 10),
          flamegraphs: fg,
        },
      };
    }
    case 'dload': {
      const c = r() < 0.8 ? containers.pick(r).ref : null;
      const v = r1(5 + 20 * r());
      const b = r1(2 * r());
      const which = int(r, 0, DSTACK_TAILS.length - 1);
      // most captures see a handful of stuck tasks, some see dozens
      const n = Math.min(60, 1 + Math.floor(-Math.log(1 - r()) * 8));
      const tasks = Array.from({ length: n }, () => {
        const p = proc(r, c);
        const tail = DSTACK_TAILS[r() < 0.8 ? which : int(r, 0, DSTACK_TAILS.length - 1)]!;
        return {
          pid: p.pid,
          tid: p.pid + int(r, 0, 40),
          comm: p.comm,
          cmdline: p.command,
          state: 'D',
          wchan: tail[0],
          blockedMs: int(r, 100, 30_000),
          container: p.container,
          stack: [...tail, 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe'],
        };
      });
      const where = c ? `${c.name ?? c.id.slice(0, 12)}${c.pod ? ` (${c.namespace}/${c.pod})` : ''}` : 'the host';
      return {
        type,
        container: c,
        trigger: {
          metric: 'dload_avg',
          value: v,
          threshold: 5,
          baseline: b,
          delta: r1(v - b),
          reason: `D-state load of ${where} is ${v}, above 5 and ${r1(v - b)} above its baseline ${b} (> 2) for 3 samples`,
        },
        summary: `${n} task(s) in D state in ${where}, longest blocked ${r1(30 * r())} s in ${tasks[0]!.wchan}${KNOWN[which] ? ` (known issue: ${KNOWN[which]})` : ''}`,
        data: { knownIssue: KNOWN[which], dloadAvg: v, tasks, flamegraphs: fg },
      };
    }
    case 'memburst': {
      const c = r() < 0.5 ? containers.pick(r).ref : null;
      const v = int(r, 100, 2000) * 2 ** 20;
      const growers = Array.from({ length: int(r, 3, 10) }, (_, i) => ({
        ...proc(r, i === 0 ? c : anyContainer()),
        rssBytes: int(r, 1, 8000) * 2 ** 20,
        growthBytes: Math.round(v / (i + 1)),
      }));
      return {
        type,
        container: c,
        trigger: {
          metric: 'anon_growth_bytes_per_s',
          value: v,
          threshold: 100 * 2 ** 20,
          baseline: int(r, 0, 10) * 2 ** 20,
          delta: v,
          reason: `anonymous memory grew ${Math.round(v / 2 ** 20)} MiB/s over 10 s, above 100 MiB/s for 2 samples`,
        },
        summary: `anon memory +${Math.round(v / 2 ** 20)} MiB/s: top grower ${growers[0]!.comm}[${growers[0]!.pid}] +${Math.round(growers[0]!.growthBytes / 2 ** 20)} MiB`,
        data: {
          meminfo: {
            memTotal: 64 * 2 ** 30,
            memAvailable: int(r, 1, 30) * 2 ** 30,
            anon: int(r, 10, 60) * 2 ** 30,
            psiSomeAvg10: r1(50 * r()),
            psiFullAvg10: r1(10 * r()),
            pgscanDirectPerSec: int(r, 0, 20_000),
            allocStallPerSec: int(r, 0, 30),
          },
          growers,
          containers: Array.from({ length: int(r, 1, 5) }, () => ({
            container: anyContainer(),
            usageBytes: int(r, 100, 9000) * 2 ** 20,
            growthBytes: int(r, 1, 2000) * 2 ** 20,
          })),
          flamegraphs: fg,
        },
      };
    }
    case 'iotracing': {
      const c = r() < 0.6 ? containers.pick(r).ref : null;
      const dev = pick(r, ['nvme0n1', 'nvme1n1', 'sda', 'vdb']);
      const v = r1(100 + 400 * r());
      const b = r1(10 * r());
      const buckets = (n: number) =>
        Array.from({ length: n }, (_, i) => ({ le: i === n - 1 ? null : 2 ** (i + 4), count: int(r, 0, 5000) }));
      const processes = Array.from({ length: int(r, 2, 10) }, (_, i) => ({
        ...proc(r, i === 0 ? c : anyContainer()),
        readBps: int(r, 0, 5e8),
        writeBps: int(r, 0, 5e8),
        diskReadBps: int(r, 0, 5e8),
        diskWriteBps: int(r, 0, 5e8),
        writeback: r() < 0.2,
        files: Array.from({ length: int(r, 1, 5) }, () => ({
          path: `/var/lib/${pick(r, APPS)}/data/${hex(r, 8)}.${pick(r, ['log', 'db', 'wal', 'idx', 'parquet'])}`,
          device: dev,
          inode: int(r, 1e4, 1e7),
          direct: r() < 0.3,
          readBps: int(r, 0, 2e8),
          writeBps: int(r, 0, 2e8),
          q2cUs: int(r, 100, 50_000),
          d2cUs: int(r, 50, 20_000),
          maxQ2cUs: int(r, 1e4, 5e5),
          maxD2cUs: int(r, 1e4, 3e5),
        })),
      }));
      return {
        type,
        container: c,
        trigger: {
          metric: 'w_await_ms',
          value: v,
          threshold: 100,
          baseline: b,
          delta: r1(v - b),
          reason: `write await on ${dev} is ${v} ms, above 100 ms and ${r1(v - b)} ms above its baseline ${b} ms (> 50) for 2 samples`,
        },
        summary: `${dev} write await ${v} ms, util ${r1(90 + 10 * r())}%: top writer ${processes[0]!.comm}[${processes[0]!.pid}] ${Math.round(processes[0]!.writeBps / 2 ** 20)} MiB/s`,
        data: {
          device: {
            name: dev,
            major: 259,
            minor: int(r, 0, 4),
            util: r1(90 + 10 * r()),
            readAwaitMs: r1(10 * r()),
            writeAwaitMs: v,
            readBps: int(r, 0, 1e9),
            writeBps: int(r, 0, 1e9),
            readIops: int(r, 0, 50_000),
            writeIops: int(r, 0, 50_000),
            queueSize: r1(64 * r()),
          },
          processes,
          latency: {
            read: { unit: 'us', buckets: buckets(int(r, 8, 16)) },
            write: { unit: 'us', buckets: buckets(int(r, 8, 16)) },
          },
          stalls: Array.from({ length: int(r, 0, 4) }, () => {
            const p = proc(r, anyContainer());
            return {
              pid: p.pid,
              tid: p.pid,
              comm: p.comm,
              container: p.container,
              latencyMs: int(r, 100, 5000),
              stack: [...DSTACK_TAILS[3]!, 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe'],
            };
          }),
          flamegraphs: fg,
        },
      };
    }
  }
}
