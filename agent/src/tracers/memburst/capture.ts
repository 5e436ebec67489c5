// The memburst capture: who grew (per-process RSS from the start of the growth window — before the
// trigger — to the end of the capture window, tracked every second so exited processes are kept), each
// container's memory and growth, a meminfo/vmstat/PSI snapshot with deltas, and an allocation flame
// graph from sampled page allocations (bytes, attributed to processes).
import type { CaptureContext, CaptureOutput } from '../../capture/manager';
import type { ContainerRef } from '../../events/event';
import type { ListedCgroup } from '../../containers';
import { AllocSampler, type AllocWindow, type ProcRssRecord } from '../../bpf/memalloc';
import type { CgroupIdResolver } from '../../bpf/cgroupIds';
import { displayCommand, readPidCmdline } from '../../host/process';
import { readCgroupMemory } from '../../host/cgroupFiles';
import { readMeminfo, readVmstat, type Meminfo, type Vmstat } from '../../host/meminfo';
import { readPressure } from '../../host/pressure';
import { Profile, stackFromSample } from '../../profiles/model';
import { LOST_STACK_FRAME } from '../../profiles/cpuProfile';
import type { TracerEnv } from '../tracer';
import { kernelFrames } from '../dload/stacks';
import { kernelSymbols } from '../../profiles/symbols/kallsyms';
import { growthBetween, toSnapshot, type RssSnapshot, type RssSource } from './rss';
import { allocstalls, type HostMemSample, type RuleReading } from './rules';

export interface MemburstDetail {
  /** the host and process samples at the start of the growth window (before the burst) */
  windowStart: { host: HostMemSample; snap: RssSnapshot } | null;
  /** at the trigger */
  trigger: { host: HostMemSample; snap: RssSnapshot } | null;
  /** every process seen in the window at its last appearance (keeps the ones that exited) */
  lastSeen: RssSnapshot;
  readings: RuleReading[];
}

export interface MemburstCaptureOptions {
  rss: RssSource;
  resolver: CgroupIdResolver;
  detail: MemburstDetail;
  samplePeriod: number;
  topProcesses: number;
  growthWindowMs: number;
  manual: boolean;
  /** set false to skip the allocation flame graph */
  alloc?: boolean;
}

/** One row of data.topGrowers. */
export interface GrowerRow {
  rank: number;
  pid: number;
  comm: string;
  command: string | null;
  container: ContainerRef | null;
  /** resident now (or when last seen, if it exited) */
  rssBytes: number;
  /** growth from the start of the growth window to the end of the capture */
  rssDeltaBytes: number;
  /** growth from the start of the growth window to the trigger (what the detector knew) */
  rssDeltaAtTriggerBytes: number | null;
  startRssBytes: number;
  anonBytes: number;
  anonDeltaBytes: number;
  /** page allocations sampled from this process during the capture, bytes (estimate) */
  allocBytes: number | null;
  exited: boolean;
}

export interface ContainerMemRow {
  container: ContainerRef;
  processes: number;
  rssBytes: number;
  rssDeltaBytes: number;
  /** cgroup memory (memory.usage_in_bytes or memory.current, page cache included) at the end */
  usageBytes: number | null;
  limitBytes: number | null;
  /** change of the cgroup's usage over the capture window */
  usageDeltaBytes: number | null;
}

const MEMINFO_KEYS = [
  'MemTotal',
  'MemFree',
  'MemAvailable',
  'AnonPages',
  'Active(anon)',
  'Inactive(anon)',
  'AnonHugePages',
  'Cached',
  'Shmem',
  'Slab',
  'SUnreclaim',
  'PageTables',
  'SwapTotal',
  'SwapFree',
  'Committed_AS',
];
const VMSTAT_KEYS = [
  'pgfault',
  'pgmajfault',
  'pgalloc_normal',
  'pgscan_kswapd',
  'pgscan_direct',
  'pgsteal_kswapd',
  'pgsteal_direct',
  'oom_kill',
  'thp_fault_alloc',
  'workingset_refault_anon',
  'workingset_refault_file',
  'pswpin',
  'pswpout',
];

function hostSample(at: number): HostMemSample | null {
  const meminfo = readMeminfo();
  if (!meminfo) return null;
  return { at, meminfo, vmstat: readVmstat(), psi: readPressure('memory') };
}

function meminfoRows(start: Meminfo | null, trig: Meminfo | null, end: Meminfo | null) {
  return MEMINFO_KEYS.filter((k) => end?.[k] !== undefined).map((key) => {
    const s = start?.[key] ?? null;
    const e = end![key]!;
    return {
      key,
      startBytes: s,
      triggerBytes: trig?.[key] ?? null,
      endBytes: e,
      deltaBytes: s === null ? null : e - s,
    };
  });
}

function vmstatRows(start: Vmstat | null, end: Vmstat | null, secs: number) {
  if (!start || !end) return [];
  const withStalls = (v: Vmstat): Vmstat => ({ ...v, allocstall: allocstalls(v) });
  const s = withStalls(start);
  const e = withStalls(end);
  return [...VMSTAT_KEYS, 'allocstall']
    .filter((k) => e[k] !== undefined && s[k] !== undefined)
    .map((key) => {
      const delta = e[key]! - s[key]!;
      return { key, delta, perSec: secs > 0 ? Math.round((delta / secs) * 10) / 10 : null };
    });
}

export async function buildAllocProfile(w: AllocWindow, env: TracerEnv): Promise<Profile> {
  const ks = kernelSymbols();
  const profile = new Profile({
    unit: 'bytes',
    period: w.samplePeriod,
    startTime: w.startedAt,
    durationMs: w.endedAt - w.startedAt,
  });
  const sym = await env.symbolizer.symbolize(w.records.map((r) => ({ ...r, kstack: [] as bigint[] })));
  w.records.forEach((r, i) => {
    const s = sym[i]!;
    const kernel = kernelFrames(r.kstack, ks).map((name) => ({ name, kind: 'kernel' as const, module: 'kernel' }));
    const stack = stackFromSample({ comm: r.comm, pid: r.pid, user: s.user, kernel }, { perPid: true });
    if (r.lostStack) stack.push(LOST_STACK_FRAME);
    profile.add(stack, r.bytes);
  });
  return profile;
}

export async function captureMemburst(
  ctx: CaptureContext,
  env: TracerEnv,
  o: MemburstCaptureOptions
): Promise<CaptureOutput> {
  let sampler: AllocSampler | null = null;
  if (o.alloc !== false) {
    try {
      sampler = new AllocSampler({ samplePeriod: o.samplePeriod });
      sampler.start();
    } catch (e) {
      sampler = null;
      ctx.degrade(`no allocation flame graph: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  const t0 = Date.now();
  const list = env.containers.list(t0);
  o.resolver.update(list, t0);
  const usage0 = new Map<string, number | null>(
    list.map((l) => [l.ref.id, readCgroupMemory(l.dirs)?.usageBytes ?? null])
  );
  const host0 = hostSample(t0);

  // track every second over the window: who grew, and the last RSS of anyone who exits meanwhile
  const lastSeen: RssSnapshot = new Map(o.detail.lastSeen);
  let end: RssSnapshot = new Map();
  let first: RssSnapshot | null = null;
  let window: AllocWindow | null = null;
  try {
    for (;;) {
      end = toSnapshot(o.rss.sweep());
      first ??= end;
      for (const [k, r] of end) lastSeen.set(k, r);
      const left = ctx.durationMs - (Date.now() - t0);
      if (left <= 0 || ctx.signal.aborted) break;
      if (!(await ctx.wait(Math.min(1000, left)))) {
        end = toSnapshot(o.rss.sweep());
        for (const [k, r] of end) lastSeen.set(k, r);
        break;
      }
    }
  } finally {
    if (sampler) {
      try {
        window = sampler.stop();
      } catch (e) {
        sampler.close();
        ctx.degrade(`allocation samples lost: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  const t1 = Date.now();
  const host1 = hostSample(t1);

  // without a detector history (a manual capture before the first tick) growth counts from the capture start
  const startSnap = o.detail.windowStart?.snap ?? o.detail.trigger?.snap ?? first ?? new Map();
  const growth = growthBetween(startSnap, end, lastSeen);
  const trigSnap = o.detail.trigger?.snap ?? null;

  // containers of processes: cgroup ids from BPF, else /proc/PID/cgroup
  const forPid = new Map<number, ContainerRef | null>();
  const listedOf = (r: ProcRssRecord): ListedCgroup | null =>
    r.cgV1 || r.cgDfl ? o.resolver.resolve(r.cgV1, r.cgDfl) : null;
  const containerOf = (r: ProcRssRecord): ContainerRef | null => {
    if (r.cgV1 || r.cgDfl) return listedOf(r)?.ref ?? null;
    if (!forPid.has(r.pid)) forPid.set(r.pid, env.containers.forPid(r.pid));
    return forPid.get(r.pid)!;
  };

  const allocByPid = new Map<number, number>();
  for (const r of window?.records ?? []) allocByPid.set(r.pid, (allocByPid.get(r.pid) ?? 0) + r.bytes);

  const top: GrowerRow[] = growth.slice(0, o.topProcesses).map((g, i) => {
    const argv = g.exited ? null : readPidCmdline(g.rec.pid);
    const start = startSnap.get(g.key);
    const atTrigger = trigSnap?.get(g.key);
    return {
      rank: i + 1,
      pid: g.rec.pid,
      comm: g.rec.comm,
      command: argv ? displayCommand(argv, g.rec.comm, 512) : null,
      container: containerOf(g.rec),
      rssBytes: g.rec.rssBytes,
      rssDeltaBytes: g.deltaBytes,
      rssDeltaAtTriggerBytes: trigSnap ? (atTrigger?.rssBytes ?? 0) - (start?.rssBytes ?? 0) : null,
      startRssBytes: g.startBytes,
      anonBytes: g.rec.anonBytes,
      anonDeltaBytes: g.rec.anonBytes - (start?.anonBytes ?? 0),
      allocBytes: window ? (allocByPid.get(g.rec.pid) ?? 0) : null,
      exited: g.exited,
    };
  });

  // per container: the sum over its processes, and the cgroup's own usage
  const perContainer = new Map<string, ContainerMemRow>();
  for (const g of growth) {
    const ref = containerOf(g.rec);
    if (!ref) continue;
    let row = perContainer.get(ref.id);
    if (!row) {
      row = {
        container: ref,
        processes: 0,
        rssBytes: 0,
        rssDeltaBytes: 0,
        usageBytes: null,
        limitBytes: null,
        usageDeltaBytes: null,
      };
      perContainer.set(ref.id, row);
    }
    row.processes += g.exited ? 0 : 1;
    row.rssBytes += g.exited ? 0 : g.rec.rssBytes;
    row.rssDeltaBytes += g.deltaBytes;
  }
  for (const l of env.containers.list(t1)) {
    const row = perContainer.get(l.ref.id);
    if (!row) continue;
    const m = readCgroupMemory(l.dirs);
    row.usageBytes = m?.usageBytes ?? null;
    row.limitBytes = m?.limitBytes ?? null;
    const u0 = usage0.get(l.ref.id);
    row.usageDeltaBytes = m && u0 !== null && u0 !== undefined ? m.usageBytes - u0 : null;
  }
  const containers = [...perContainer.values()]
    .sort((a, b) => b.rssDeltaBytes - a.rssDeltaBytes)
    .slice(0, o.topProcesses);

  const profiles: NonNullable<CaptureOutput['profiles']> = [];
  let alloc: Record<string, unknown> | null = null;
  if (window) {
    const profile = await buildAllocProfile(window, env);
    profiles.push({
      name: 'alloc',
      title: `Page allocations (sampled every ${Math.round(o.samplePeriod / 1024)} KiB, scaled to bytes), by process`,
      profile,
    });
    alloc = {
      samplePeriodBytes: o.samplePeriod,
      samples: window.stats.samples,
      sampledBytes: profile.total,
      allocatedBytes: window.stats.bytes,
      allocations: window.stats.calls,
      lostStacks: window.stats.lostStacks,
      lostCounts: window.stats.lostCounts,
      durationMs: window.endedAt - window.startedAt,
    };
    if (window.stats.lostCounts > 0)
      ctx.degrade(`allocation profile map full: ${window.stats.lostCounts} samples dropped`);
  }

  const ws = o.detail.windowStart?.host ?? host0;
  const trig = o.detail.trigger?.host ?? null;
  const secs = ws && host1 ? (host1.at - ws.at) / 1000 : 0;
  const psi = (h: HostMemSample | null) =>
    h?.psi ? { someAvg10: h.psi.some?.avg10 ?? null, fullAvg10: h.psi.full?.avg10 ?? null } : null;
  const stallUs = ws?.psi?.some && host1?.psi?.some ? host1.psi.some.total - ws.psi.some.total : null;

  const lead0 = top[0];
  const mib = (b: number) => `${Math.round(b / 1048576)} MiB`;
  const fired = o.detail.readings.filter((r) => r.fired).map((r) => r.rule);
  const lead = o.manual ? 'manual memburst capture' : `memory burst (${fired.join(', ') || 'trigger'})`;
  const who = lead0
    ? `top grower ${lead0.comm}[${lead0.pid}]${lead0.container ? ` in ${lead0.container.name ?? lead0.container.id.slice(0, 12)}` : ''} +${mib(lead0.rssDeltaBytes)} (now ${mib(lead0.rssBytes)})`
    : 'no process grew';

  return {
    summary: `${lead}: ${who}`,
    container: lead0 && lead0.rssDeltaBytes > 0 ? lead0.container : null,
    data: {
      source: { rss: o.rss.source, alloc: window ? 'bpf' : null },
      rules: o.detail.readings,
      window: {
        startedAt: ws?.at ?? t0,
        triggerAt: trig?.at ?? null,
        captureStartedAt: t0,
        endedAt: t1,
        growthWindowMs: o.growthWindowMs,
      },
      topGrowers: top,
      containers,
      host: {
        meminfo: meminfoRows(ws?.meminfo ?? null, trig?.meminfo ?? null, host1?.meminfo ?? null),
        vmstat: vmstatRows(ws?.vmstat ?? null, host1?.vmstat ?? null, secs),
        psi: {
          start: psi(ws),
          trigger: psi(trig),
          end: psi(host1),
          someStallMs: stallUs === null ? null : Math.round(stallUs / 1000),
        },
      },
      alloc,
    },
    profiles,
  };
}
