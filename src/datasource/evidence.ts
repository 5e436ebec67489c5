/**
 * The type-specific evidence in `event.data` as the pages read it. The agent's event schema types `data` as
 * `Record<string, unknown>`; the shapes below are what the tracers' issues describe, written down in
 * docs/plugin-resources.md ("Evidence in event.data"). Everything is read defensively: a field that is absent
 * or of another shape is left out, never a crash, so a page shows what a capture has.
 */
import type { ContainerRef, FlamegraphRef } from './resources';

export interface ProcessRef {
  pid: number;
  comm: string;
  cmdline?: string;
  container?: ContainerRef | null;
}

/** cpusys / cpuidle: processes seen on CPU during the capture */
export interface CpuProcess extends ProcessRef {
  samples: number;
  /** share of all the profile's samples, when the agent says (its list is only the top processes) */
  samplePct?: number;
}

/** Share of the capture's samples (%): the agent's samplePct, else the share among the listed processes. */
export function cpuShare(p: CpuProcess, all: CpuProcess[]): number {
  if (p.samplePct !== undefined) {
    return p.samplePct;
  }
  const total = all.reduce((a, x) => a + x.samples, 0) || 1;
  return (100 * p.samples) / total;
}

/** dload: one task in D state */
export interface StuckTask extends ProcessRef {
  tid: number;
  state?: string;
  wchan?: string;
  blockedMs?: number;
  /** kernel stack, innermost frame first */
  stack: string[];
}

/** memburst: one process that grew */
export interface MemoryGrower extends ProcessRef {
  rssBytes: number;
  growthBytes: number;
}

export interface ContainerMemory {
  container: ContainerRef | null;
  usageBytes: number;
  growthBytes: number;
}

/** iotracing: the device that triggered */
export interface IoDevice {
  name: string;
  major?: number;
  minor?: number;
  util?: number;
  readAwaitMs?: number;
  writeAwaitMs?: number;
  readBps?: number;
  writeBps?: number;
  readIops?: number;
  writeIops?: number;
  queueSize?: number;
}

/** Rates are over the capture window, bytes per second; latencies in µs (q2c: queue to completion, d2c: device). */
export interface IoFile {
  path: string;
  device?: string;
  inode?: number;
  direct?: boolean;
  readBps?: number;
  writeBps?: number;
  q2cUs?: number;
  d2cUs?: number;
  maxQ2cUs?: number;
  maxD2cUs?: number;
}

export interface IoProcess extends ProcessRef {
  readBps?: number;
  writeBps?: number;
  diskReadBps?: number;
  diskWriteBps?: number;
  /** IO submitted by writeback on this process's behalf */
  writeback?: boolean;
  files: IoFile[];
}

/** A latency histogram: bucket upper bounds (`le`, inclusive) and counts; the last bucket may be Infinity. */
export interface LatencyHistogram {
  unit: 'us' | 'ms' | 'ns';
  buckets: Array<{ le: number; count: number }>;
}

export interface IoStall extends ProcessRef {
  tid: number;
  latencyMs: number;
  stack: string[];
}

export interface Evidence {
  flamegraphs: FlamegraphRef[];
  cpuProcesses: CpuProcess[];
  tasks: StuckTask[];
  knownIssue: string | null;
  growers: MemoryGrower[];
  containerMemory: ContainerMemory[];
  device: IoDevice | null;
  ioProcesses: IoProcess[];
  latency: Record<string, LatencyHistogram>;
  stalls: IoStall[];
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** The first of several accepted names (camelCase as proposed, Huatuo's snake_case) that is set. */
const pick = (o: Obj, keys: readonly string[]): unknown => {
  for (const k of keys) {
    if (o[k] !== undefined && o[k] !== null) {
      return o[k];
    }
  }
  return undefined;
};
const pnum = (o: Obj, keys: readonly string[]) => num(pick(o, keys));
const pstr = (o: Obj, keys: readonly string[]) => str(pick(o, keys));

// the same name lists as src/backend/evidence/shapes.ts, so tables and pages read the same events
const READ_BPS = ['readBps', 'read_bps', 'fs_read_bps', 'total_fs_read_bps', 'fsReadBps'];
const WRITE_BPS = ['writeBps', 'write_bps', 'fs_write_bps', 'total_fs_write_bps', 'fsWriteBps'];
const DISK_READ_BPS = ['diskReadBps', 'disk_read_bps', 'total_disk_read_bps'];
const DISK_WRITE_BPS = ['diskWriteBps', 'disk_write_bps', 'total_disk_write_bps'];

function container(v: unknown): ContainerRef | null {
  if (!isObj(v) || typeof v.id !== 'string') {
    return null;
  }
  return {
    id: v.id,
    name: str(v.name) ?? null,
    runtime: str(v.runtime) ?? 'cgroup',
    pod: str(v.pod) ?? null,
    namespace: str(v.namespace) ?? null,
    qos: str(v.qos) ?? null,
    cgroup: str(v.cgroup) ?? '',
  };
}

function processRef(v: Obj): ProcessRef | undefined {
  const pid = pnum(v, ['pid', 'tgid']);
  if (pid === undefined) {
    return undefined;
  }
  // the agent sends `command` (null for kernel threads it could not read); Huatuo and the proposal `cmdline`
  const cmdline = pick(v, ['cmdline', 'command']);
  return {
    pid,
    comm: pstr(v, ['comm', 'process_name', 'name']) ?? '?',
    cmdline: Array.isArray(cmdline) ? cmdline.map(String).join(' ') : str(cmdline)?.trim(),
    container: container(v.container),
  };
}

/** A stack as an array of frames, or as text with one frame per line. */
export function stackFrames(v: unknown): string[] {
  if (Array.isArray(v)) {
    return v.filter((f): f is string => typeof f === 'string');
  }
  if (typeof v === 'string') {
    return v
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }
  return [];
}

/**
 * A stack innermost frame first (the wait site on top, as /proc/PID/stack reads). The agent sends stacks as arrays
 * of function names OUTERMOST first ("everywhere in evidence", agent/src/tracers/dload/stacks.ts); text stacks
 * (/proc/PID/stack, Huatuo) are innermost first already.
 */
export function innermostFirst(v: unknown): string[] {
  const frames = stackFrames(v);
  return Array.isArray(v) ? frames.reverse() : frames;
}

function list<T>(v: unknown, f: (o: Obj) => T | undefined): T[] {
  const out: T[] = [];
  for (const item of arr(v)) {
    if (isObj(item)) {
      const r = f(item);
      if (r !== undefined) {
        out.push(r);
      }
    }
  }
  return out;
}

function flamegraphRef(o: Obj): FlamegraphRef | undefined {
  const name = str(o.name);
  if (!name) {
    return undefined;
  }
  const unit = str(o.unit);
  return {
    name,
    title: str(o.title) ?? name,
    unit: unit === 'nanoseconds' || unit === 'bytes' || unit === 'count' ? unit : 'samples',
    total: num(o.total) ?? 0,
    stacks: num(o.stacks) ?? 0,
  };
}

function histogram(v: unknown): LatencyHistogram | undefined {
  if (!isObj(v)) {
    return undefined;
  }
  const unit = v.unit === 'ms' || v.unit === 'ns' ? v.unit : 'us';
  const buckets = list(v.buckets, (b) => {
    const count = num(b.count);
    // JSON has no Infinity: the last bucket may say le: null or "+Inf"
    const le = b.le === null || b.le === '+Inf' ? Infinity : num(b.le);
    return count === undefined || le === undefined ? undefined : { le, count };
  });
  return buckets.length ? { unit, buckets } : undefined;
}

/** dload tasks: `data.tasks` (one per task) or `data.groups` (tasks grouped by stack already). */
function parseTasks(d: Obj): StuckTask[] {
  const task = (o: Obj, groupStack?: string[]): StuckTask | undefined => {
    const p = processRef(o);
    if (!p) {
      return undefined;
    }
    const blockedNs = pnum(o, ['blockedNs', 'blocked_ns']);
    const own = innermostFirst(pick(o, ['stack', 'kernelStack', 'kstack']));
    return {
      ...p,
      tid: pnum(o, ['tid']) ?? p.pid,
      state: pstr(o, ['state']),
      wchan: pstr(o, ['wchan', 'waitChannel']),
      blockedMs:
        pnum(o, ['blockedMs', 'blocked_ms', 'blockedForMs']) ?? (blockedNs === undefined ? undefined : blockedNs / 1e6),
      stack: own.length ? own : (groupStack ?? []),
    };
  };
  const tasks = list(pick(d, ['tasks', 'dstateTasks', 'stuckTasks', 'd_state_tasks']), (o) => task(o));
  for (const g of arr(pick(d, ['groups', 'stackGroups', 'stacks']))) {
    if (isObj(g)) {
      const stack = innermostFirst(pick(g, ['stack', 'frames', 'kernelStack']));
      tasks.push(...list(g.tasks, (o) => task(o, stack)));
    }
  }
  return tasks;
}

/** Bytes moved on a device of the agent's `devices[]`: traced read+write bytes, else its diskstats rates. */
function deviceActivity(o: Obj): number {
  const traced = isObj(o.traced) ? o.traced : {};
  const bytes = ['read', 'write'].reduce(
    (a, op) => a + (isObj(traced[op]) ? (num((traced[op] as Obj).bytes) ?? 0) : 0),
    0
  );
  const st = isObj(o.diskstats) ? o.diskstats : {};
  return bytes || (num(st.readBps) ?? 0) + (num(st.writeBps) ?? 0);
}

/** The device the page shows: the busiest of the capture (the agent lists every watched disk, idle ones too). */
function busiestDevice(devices: Obj[]): Obj | undefined {
  return devices.reduce<Obj | undefined>(
    (best, o) => (!best || deviceActivity(o) > deviceActivity(best) ? o : best),
    undefined
  );
}

/** The agent's `devices[]` entry as the proposed `device` shape (name, numbers, diskstats rates). */
function agentDeviceShape(o: Obj): Obj {
  const st = isObj(o.diskstats) ? o.diskstats : {};
  return {
    name: o.device ?? o.name,
    major: o.major,
    minor: o.minor,
    util: st.utilPercent,
    readAwaitMs: st.readAwaitMs,
    writeAwaitMs: st.writeAwaitMs,
    readBps: st.readBps,
    writeBps: st.writeBps,
    readIops: st.readIops,
    writeIops: st.writeIops,
    queueSize: st.queueSize,
  };
}

export function parseEvidence(data: Record<string, unknown> | null | undefined): Evidence {
  const d: Obj = isObj(data) ? data : {};
  const latency: Record<string, LatencyHistogram> = {};
  // either one histogram ({unit, buckets}) or one per operation ({read: {...}, write: {...}})
  const single = histogram(d.latency);
  if (single) {
    latency.all = single;
  } else if (isObj(d.latency)) {
    for (const [op, h] of Object.entries(d.latency)) {
      const parsed = histogram(h);
      if (parsed) {
        latency[op] = parsed;
      }
    }
  }
  // the agent's iotracing: `devices: [{ device, major, minor, diskstats: {...} }]` (the trigger's device first) and
  // `histograms: [{ device, op, unit, q2c: [{ lowUs, highUs, count }], d2c }]`; `device` is null for a manual capture
  const agentDevice = !d.device ? busiestDevice(arr(d.devices).filter(isObj)) : undefined;
  if (agentDevice && !Object.keys(latency).length) {
    for (const h of arr(d.histograms)) {
      if (!isObj(h) || (h.device !== undefined && h.device !== agentDevice.device) || typeof h.op !== 'string') {
        continue;
      }
      const buckets = list(h.q2c, (b) => {
        const count = num(b.count);
        const le = b.highUs === null ? Infinity : num(b.highUs);
        return count === undefined || le === undefined ? undefined : { le, count };
      });
      if (buckets.length) {
        latency[h.op] = { unit: 'us', buckets };
      }
    }
  }
  const dev = isObj(d.device) ? d.device : agentDevice ? agentDeviceShape(agentDevice) : undefined;

  return {
    flamegraphs: list(d.flamegraphs, flamegraphRef),
    // the agent's cpusys/cpuidle captures send `topProcesses`; an IO process (iotracing) has no samples
    cpuProcesses: list(pick(d, ['processes', 'topProcesses']), (o) => {
      const p = processRef(o);
      const samples = num(o.samples);
      const samplePct = num(o.samplePct);
      return p && samples !== undefined
        ? { ...p, samples, ...(samplePct !== undefined ? { samplePct } : {}) }
        : undefined;
    }),
    tasks: parseTasks(d),
    knownIssue: pstr(d, ['knownIssue', 'known_issue']) || null,
    growers: list(pick(d, ['growers', 'topGrowers', 'top_memory_usage']), (o) => {
      const p = processRef(o);
      const rssBytes = pnum(o, ['rssBytes', 'rss', 'rss_bytes', 'currentRssBytes', 'memory_size']);
      return p && rssBytes !== undefined
        ? {
            ...p,
            rssBytes,
            growthBytes: pnum(o, ['growthBytes', 'rssDeltaBytes', 'deltaBytes', 'rss_delta', 'growth']) ?? 0,
          }
        : undefined;
    }),
    containerMemory: list(pick(d, ['containers', 'containerUsage']), (o) => {
      const usageBytes = pnum(o, ['usageBytes', 'usage', 'memoryBytes']);
      return usageBytes === undefined
        ? undefined
        : {
            container: container(o.container),
            usageBytes,
            growthBytes: pnum(o, ['growthBytes', 'deltaBytes', 'growth']) ?? 0,
          };
    }),
    device:
      typeof d.device === 'string'
        ? { name: d.device }
        : dev && typeof dev.name === 'string'
          ? {
              name: dev.name,
              major: num(dev.major),
              minor: num(dev.minor),
              util: num(dev.util),
              readAwaitMs: num(dev.readAwaitMs),
              writeAwaitMs: num(dev.writeAwaitMs),
              readBps: num(dev.readBps),
              writeBps: num(dev.writeBps),
              readIops: num(dev.readIops),
              writeIops: num(dev.writeIops),
              queueSize: num(dev.queueSize),
            }
          : null,
    ioProcesses: list(pick(d, ['processes', 'topProcesses', 'process_file_io_stats']), (o) => {
      const p = processRef(o);
      const files = pick(o, ['files', 'topFiles', 'total_files']);
      const readBps = pnum(o, READ_BPS);
      const writeBps = pnum(o, WRITE_BPS);
      // an IO process has rates or files; a CPU process (cpusys) has samples instead
      if (!p || (readBps === undefined && writeBps === undefined && !Array.isArray(files))) {
        return undefined;
      }
      return {
        ...p,
        readBps,
        writeBps,
        diskReadBps: pnum(o, DISK_READ_BPS),
        diskWriteBps: pnum(o, DISK_WRITE_BPS),
        writeback: o.writeback === true,
        files: list(files, (f) => {
          const path = pstr(f, ['path']);
          const direct = pick(f, ['direct', 'is_direct']);
          return path === undefined
            ? undefined
            : {
                path,
                device: pstr(f, ['device', 'dev']),
                inode: pnum(f, ['inode', 'ino']),
                direct: typeof direct === 'boolean' ? direct : direct === 1 ? true : direct === 0 ? false : undefined,
                readBps: pnum(f, READ_BPS),
                writeBps: pnum(f, WRITE_BPS),
                q2cUs: pnum(f, ['q2cUs', 'q2c_us']),
                d2cUs: pnum(f, ['d2cUs', 'd2c_us']),
                maxQ2cUs: pnum(f, ['maxQ2cUs', 'max_q2c_us']),
                maxD2cUs: pnum(f, ['maxD2cUs', 'max_d2c_us']),
              };
        }),
      };
    }),
    latency,
    stalls: list(d.stalls, (o) => {
      const p = processRef(o);
      const latencyMs = num(o.latencyMs);
      return p && latencyMs !== undefined
        ? { ...p, tid: num(o.tid) ?? p.pid, latencyMs, stack: innermostFirst(o.stack) }
        : undefined;
    }),
  };
}

/** Stuck tasks grouped by identical kernel stack, biggest group first. */
export interface StackGroup {
  stack: string[];
  tasks: StuckTask[];
  maxBlockedMs?: number;
}

export function groupByStack(tasks: StuckTask[]): StackGroup[] {
  const groups = new Map<string, StackGroup>();
  for (const t of tasks) {
    const key = t.stack.join('\n');
    const g = groups.get(key) ?? { stack: t.stack, tasks: [] };
    g.tasks.push(t);
    if (t.blockedMs !== undefined) {
      g.maxBlockedMs = Math.max(g.maxBlockedMs ?? 0, t.blockedMs);
    }
    groups.set(key, g);
  }
  return [...groups.values()].sort(
    (a, b) => b.tasks.length - a.tasks.length || (b.maxBlockedMs ?? 0) - (a.maxBlockedMs ?? 0)
  );
}

/** Short human name of a container: name, else pod, else a 12-char id. */
export function containerLabel(c: ContainerRef | null | undefined): string {
  if (!c) {
    return '';
  }
  if (c.name) {
    return c.name;
  }
  if (c.pod) {
    return c.namespace ? `${c.namespace}/${c.pod}` : c.pod;
  }
  return /^[0-9a-f]{64}$/.test(c.id) ? c.id.slice(0, 12) : c.id;
}
