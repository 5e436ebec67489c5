// THE ONE PLACE that knows the shape of `event.data` for dload (stuck tasks), memburst (memory
// growers) and iotracing (process/file IO). The tracers are written in parallel; until their shapes
// are fixed this reader accepts the camelCase names we proposed (below) and Huatuo's snake_case names
// (REFERENCE.md §1), so either works. To adjust to the tracers' final shapes, change only this file
// (and its test).
//
// Proposed shapes (what the tables are built from):
//   dload:     data.tasks: [{ pid, tid, comm, cmdline, state, wchan, blockedMs, container, stack: string[] }]
//              or data.groups: [{ stack: string[], count, knownIssue?, tasks: [task…] }]
//              data.knownIssue: string | null       (Huatuo: data.stack text, data.known_issue)
//   memburst:  data.growers: [{ pid, comm, cmdline, container, rssBytes, growthBytes }]
//              data.containers?: [{ container, usageBytes, growthBytes }]
//                                                   (Huatuo: data.top_memory_usage [{pid, process_name, memory_size}])
//   iotracing: data.device (a name, or { name, major, minor, util, … }), data.processes: [{ pid, comm, container, readBps, writeBps, diskReadBps,
//              diskWriteBps, writeback?, files: [{ path, device, inode, direct, readBps, writeBps,
//              q2cUs, d2cUs, maxQ2cUs, maxD2cUs }] }]
//              (Huatuo: reason_snapshot.device, process_file_io_stats [{pid, comm, container_hostname,
//              fs_read_bps…, total_files [{path, dev, inode, is_direct, fs_read_bps…, q2c_us…}]}])
// `container` anywhere may be a ContainerRef object, a string, or absent (then the event's container).
import type { AutotracingEvent } from '../../../agent/src/events/event';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function pick(o: Obj, keys: readonly string[]): unknown {
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) return o[k];
  return undefined;
}

function num(o: Obj, keys: readonly string[]): number | null {
  const v = pick(o, keys);
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

function str(o: Obj, keys: readonly string[]): string {
  const v = pick(o, keys);
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(String).join(' ');
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

function bool(o: Obj, keys: readonly string[]): boolean | null {
  const v = pick(o, keys);
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  return null;
}

function list(o: Obj, keys: readonly string[]): Obj[] {
  const v = pick(o, keys);
  return Array.isArray(v) ? v.filter(isObj) : [];
}

/** Display name of a container value (ContainerRef, string, or Huatuo's container_* fields). */
export function containerName(o: Obj, fallback: AutotracingEvent['container']): string {
  const c = pick(o, ['container']);
  if (isObj(c)) return String(c.name ?? c.id ?? '');
  if (typeof c === 'string') return c;
  const h = str(o, ['containerName', 'container_hostname', 'containerId', 'container_id']);
  if (h) return h;
  return fallback ? (fallback.name ?? fallback.id) : '';
}

/** Stack as text, innermost frame first, one frame a line. */
function stackText(v: unknown): string {
  if (typeof v === 'string') return v.trim();
  if (Array.isArray(v)) {
    return v
      .map((f) => (typeof f === 'string' ? f : isObj(f) ? String(f.name ?? f.symbol ?? f.label ?? f.function ?? '') : String(f)))
      .join('\n');
  }
  return '';
}

// ---- dload ----

export interface DStateRow {
  pid: number | null;
  tid: number | null;
  comm: string;
  cmdline: string;
  state: string;
  wchan: string;
  blockedMs: number | null;
  container: string;
  knownIssue: string;
  /** tasks in this event with the same stack (≥ 1) */
  sameStack: number;
  stack: string;
}

export function dstateRows(ev: AutotracingEvent): DStateRow[] {
  const d = ev.data as Obj;
  const eventIssue = str(d, ['knownIssue', 'known_issue']);
  const raw: Array<{ task: Obj; stack: string; issue: string }> = [];
  for (const t of list(d, ['tasks', 'dstateTasks', 'stuckTasks', 'd_state_tasks'])) {
    raw.push({ task: t, stack: stackText(pick(t, ['stack', 'kernelStack', 'kstack'])), issue: str(t, ['knownIssue', 'known_issue']) });
  }
  for (const g of list(d, ['groups', 'stackGroups', 'stacks'])) {
    const stack = stackText(pick(g, ['stack', 'frames', 'kernelStack']));
    const issue = str(g, ['knownIssue', 'known_issue']);
    const tasks = list(g, ['tasks']);
    if (tasks.length > 0) {
      for (const t of tasks) raw.push({ task: t, stack: stackText(pick(t, ['stack'])) || stack, issue: str(t, ['knownIssue']) || issue });
    } else {
      const count = num(g, ['count']) ?? 1;
      raw.push({ task: { ...g, sameStack: count }, stack, issue });
    }
  }
  if (raw.length === 0 && typeof d.stack === 'string' && d.stack.trim() !== '') {
    raw.push({ task: {}, stack: d.stack.trim(), issue: eventIssue }); // Huatuo: one stack text per event
  }
  const byStack = new Map<string, number>();
  for (const r of raw) byStack.set(r.stack, (byStack.get(r.stack) ?? 0) + (num(r.task, ['sameStack']) ?? 1));
  return raw.map(({ task, stack, issue }) => {
    const blockedNs = num(task, ['blockedNs', 'blocked_ns']);
    return {
      pid: num(task, ['pid', 'tgid']),
      tid: num(task, ['tid']),
      comm: str(task, ['comm', 'process_name', 'name']),
      cmdline: str(task, ['cmdline']),
      state: str(task, ['state']) || 'D',
      wchan: str(task, ['wchan', 'waitChannel']),
      blockedMs: num(task, ['blockedMs', 'blocked_ms', 'blockedForMs']) ?? (blockedNs === null ? null : blockedNs / 1e6),
      container: containerName(task, ev.container),
      knownIssue: issue || eventIssue,
      sameStack: byStack.get(stack) ?? 1,
      stack,
    };
  });
}

// ---- memburst ----

export interface MemoryRow {
  rank: number;
  pid: number | null;
  comm: string;
  cmdline: string;
  container: string;
  rssBytes: number | null;
  growthBytes: number | null;
}

export interface MemoryContainerRow {
  container: string;
  usageBytes: number | null;
  growthBytes: number | null;
}

export function memoryRows(ev: AutotracingEvent): MemoryRow[] {
  const d = ev.data as Obj;
  const procs = list(d, ['growers', 'topGrowers', 'processes', 'top', 'top_memory_usage']);
  return procs.map((p, i) => ({
    rank: num(p, ['rank']) ?? i + 1,
    pid: num(p, ['pid']),
    comm: str(p, ['comm', 'process_name', 'name']),
    cmdline: str(p, ['cmdline']),
    container: containerName(p, ev.container),
    rssBytes: num(p, ['rssBytes', 'rss', 'rss_bytes', 'currentRssBytes', 'memory_size']),
    growthBytes: num(p, ['growthBytes', 'rssDeltaBytes', 'deltaBytes', 'rss_delta', 'growth']),
  }));
}

export function memoryContainerRows(ev: AutotracingEvent): MemoryContainerRow[] {
  const d = ev.data as Obj;
  return list(d, ['containers', 'containerUsage']).map((c) => ({
    container: containerName(c, null) || str(c, ['id', 'name']),
    usageBytes: num(c, ['usageBytes', 'usage', 'memoryBytes']),
    growthBytes: num(c, ['growthBytes', 'deltaBytes', 'growth']),
  }));
}

// ---- iotracing ----

export interface IoRow {
  device: string;
  pid: number | null;
  comm: string;
  container: string;
  writeback: boolean;
  path: string;
  inode: number | null;
  direct: boolean | null;
  readBps: number | null;
  writeBps: number | null;
  diskReadBps: number | null;
  diskWriteBps: number | null;
  q2cUs: number | null;
  d2cUs: number | null;
  maxQ2cUs: number | null;
  maxD2cUs: number | null;
}

const READ_BPS = ['readBps', 'read_bps', 'fs_read_bps', 'total_fs_read_bps', 'fsReadBps'];
const WRITE_BPS = ['writeBps', 'write_bps', 'fs_write_bps', 'total_fs_write_bps', 'fsWriteBps'];
const DISK_READ_BPS = ['diskReadBps', 'disk_read_bps', 'total_disk_read_bps'];
const DISK_WRITE_BPS = ['diskWriteBps', 'disk_write_bps', 'total_disk_write_bps'];

/** A device given as its name or as an object with a name. */
function deviceName(o: Obj, keys: readonly string[]): string {
  const v = pick(o, keys);
  if (isObj(v)) return str(v, ['name', 'device']);
  return str(o, keys);
}

export function ioRows(ev: AutotracingEvent): IoRow[] {
  const d = ev.data as Obj;
  const snap = isObj(d.reason_snapshot) ? d.reason_snapshot : isObj(d.trigger) ? d.trigger : {};
  const eventDevice = deviceName(d, ['device']) || deviceName(snap, ['device']);
  const rows: IoRow[] = [];
  for (const p of list(d, ['processes', 'topProcesses', 'process_file_io_stats'])) {
    const base = {
      device: deviceName(p, ['device']) || eventDevice,
      pid: num(p, ['pid']),
      comm: str(p, ['comm', 'process_name']),
      container: containerName(p, ev.container),
      writeback: bool(p, ['writeback']) ?? false,
    };
    const files = list(p, ['files', 'topFiles', 'total_files']);
    if (files.length === 0) {
      rows.push({
        ...base,
        path: '',
        inode: null,
        direct: null,
        readBps: num(p, READ_BPS),
        writeBps: num(p, WRITE_BPS),
        diskReadBps: num(p, DISK_READ_BPS),
        diskWriteBps: num(p, DISK_WRITE_BPS),
        q2cUs: num(p, ['q2cUs', 'q2c_us']),
        d2cUs: num(p, ['d2cUs', 'd2c_us']),
        maxQ2cUs: num(p, ['maxQ2cUs', 'max_q2c_us']),
        maxD2cUs: num(p, ['maxD2cUs', 'max_d2c_us']),
      });
      continue;
    }
    for (const f of files) {
      rows.push({
        ...base,
        device: deviceName(f, ['device', 'dev']) || base.device,
        path: str(f, ['path']),
        inode: num(f, ['inode', 'ino']),
        direct: bool(f, ['direct', 'is_direct']),
        readBps: num(f, READ_BPS),
        writeBps: num(f, WRITE_BPS),
        diskReadBps: num(f, DISK_READ_BPS),
        diskWriteBps: num(f, DISK_WRITE_BPS),
        q2cUs: num(f, ['q2cUs', 'q2c_us']),
        d2cUs: num(f, ['d2cUs', 'd2c_us']),
        maxQ2cUs: num(f, ['maxQ2cUs', 'max_q2c_us']),
        maxD2cUs: num(f, ['maxD2cUs', 'max_d2c_us']),
      });
    }
  }
  return rows;
}

/** Which tracer type feeds which evidence query. */
export const EVIDENCE_TYPE = { dstate: 'dload', memory: 'memburst', io: 'iotracing' } as const;
