// THE ONE PLACE that knows the shape of `event.data` for dload (stuck tasks), memburst (memory growers)
// and iotracing (process/file IO). It reads exactly what the tracers write — documented at the top of
// agent/src/tracers/dload.ts, memburst.ts and iotracing.ts, typed in their capture/report modules — and
// is tested against events recorded from a real agent (test/backend/fixtures/, record-fixtures.ts).
// Anything else in `data` is ignored; a field of the wrong type reads as missing (null / '' / false),
// never as an error, so a newer or older agent still gives a table.
//
// What is read (camelCase, as the agent sends it; `container` is a ContainerRef or null everywhere):
//   dload      data.tasks[]: pid, tid, comm, command, container, state, wchan, blockedMs, blockedSource,
//                 stack (string[], OUTERMOST first), group, knownIssue, inScope, stillBlocked, iowait
//              data.stackGroups[]: group, count, inScopeCount, stack, wchan, knownIssue, pids, comms,
//                 maxBlockedMs
//              data.scope ('container' | 'host')
//   memburst   data.topGrowers[]: rank, pid, comm, command, container, rssBytes, rssDeltaBytes,
//                 rssDeltaAtTriggerBytes, startRssBytes, anonBytes, anonDeltaBytes, allocBytes, exited
//              data.containers[]: container, processes, rssBytes, rssDeltaBytes, usageBytes, limitBytes,
//                 usageDeltaBytes
//   iotracing  data.device (trigger device name, or null for a manual capture)
//              data.processes[]: pid, comm, command, container, exited, owner, writeback, label, readBps,
//                 writeBps, diskReadBps, diskWriteBps, readOps, writeOps, q2cUs, d2cUs, maxQ2cUs, maxD2cUs,
//                 files[]: path, device, inode, kind, direct, writeback, chargedVia, readBps, writeBps,
//                 diskReadBps, diskWriteBps, readOps, writeOps, q2cUs, d2cUs, maxQ2cUs, maxD2cUs,
//                 submittedBy[]: { pid, comm }
// Not read here (the event page shows them): dload load/hostLoad/offcpu, memburst rules/window/host/alloc,
// iotracing snapshot/window/devices/histograms/containers/stalls (stalls[].stack is innermost first,
// unlike dload's stacks), and the CPU tracers' data (no table query uses it).
import type { AutotracingEvent } from '../../../agent/src/events/event';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function bool(v: unknown): boolean | null {
  return typeof v === 'boolean' ? v : null;
}

function list(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isObj) : [];
}

function data(ev: AutotracingEvent): Obj {
  return isObj(ev.data) ? ev.data : {};
}

/** A ContainerRef (or null) as the tables show it: name, else pod, else id (as the events table does); '' = the host. */
export function containerOf(v: unknown): { container: string; containerId: string } {
  if (!isObj(v)) return { container: '', containerId: '' };
  const id = str(v.id);
  return { container: str(v.name) || str(v.pod) || id, containerId: id };
}

/** Kernel stack (string[], outermost first as every tracer writes it) as text: one frame a line, outermost first. */
export function stackText(v: unknown): string {
  return Array.isArray(v) ? v.filter((f): f is string => typeof f === 'string').join('\n') : '';
}

// ---- dload ----

/** One row per D-state task of data.tasks. */
export interface DStateRow {
  pid: number | null;
  tid: number | null;
  comm: string;
  command: string;
  container: string;
  containerId: string;
  state: string;
  wchan: string;
  blockedMs: number | null;
  /** how blockedMs was measured: exec_start | last_arrival | observed ('' unknown) */
  blockedSource: string;
  /** in the container (or host scope) the event is about; false: context from elsewhere on the host */
  inScope: boolean | null;
  stillBlocked: boolean | null;
  /** waiting for IO (io_schedule) */
  iowait: boolean | null;
  /** data.stackGroups[].group of its stack */
  group: number | null;
  /** tasks with the same stack in this capture (the group's count; ≥ 1) */
  sameStack: number;
  /** the known issue its stack matches ('' none) */
  knownIssue: string;
  /** one frame a line, outermost first */
  stack: string;
}

/** One row per stack group of data.stackGroups (query option `by: "stack"`). */
export interface DStateGroupRow {
  group: number | null;
  /** tasks with this stack (all of the scope, plus the host tasks listed) */
  count: number | null;
  /** of those, in the event's scope */
  inScopeCount: number | null;
  wchan: string;
  knownIssue: string;
  maxBlockedMs: number | null;
  /** distinct commands and pids, comma-separated (the agent keeps up to 16 and 32) */
  comms: string;
  pids: string;
  stack: string;
}

interface GroupInfo {
  count: number | null;
  knownIssue: string;
}

function groupsOf(d: Obj): Map<number, GroupInfo> {
  const out = new Map<number, GroupInfo>();
  for (const g of list(d.stackGroups)) {
    const n = num(g.group);
    if (n !== null) out.set(n, { count: num(g.count), knownIssue: str(g.knownIssue) });
  }
  return out;
}

export function dstateRows(ev: AutotracingEvent): DStateRow[] {
  const d = data(ev);
  const groups = groupsOf(d);
  const tasks = list(d.tasks);
  const stacks = tasks.map((t) => stackText(t.stack));
  // without a group count (an agent that did not send stackGroups): tasks in this event with the same stack
  const sameText = new Map<string, number>();
  for (const s of stacks) sameText.set(s, (sameText.get(s) ?? 0) + 1);
  return tasks.map((t, i) => {
    const group = num(t.group);
    const g = group === null ? undefined : groups.get(group);
    return {
      pid: num(t.pid),
      tid: num(t.tid),
      comm: str(t.comm),
      command: str(t.command),
      ...containerOf(t.container),
      state: str(t.state),
      wchan: str(t.wchan),
      blockedMs: num(t.blockedMs),
      blockedSource: str(t.blockedSource),
      inScope: bool(t.inScope),
      stillBlocked: bool(t.stillBlocked),
      iowait: bool(t.iowait),
      group,
      sameStack: g?.count ?? sameText.get(stacks[i]!) ?? 1,
      knownIssue: str(t.knownIssue) || (g?.knownIssue ?? ''),
      stack: stacks[i]!,
    };
  });
}

export function dstateGroupRows(ev: AutotracingEvent): DStateGroupRow[] {
  return list(data(ev).stackGroups).map((g) => ({
    group: num(g.group),
    count: num(g.count),
    inScopeCount: num(g.inScopeCount),
    wchan: str(g.wchan),
    knownIssue: str(g.knownIssue),
    maxBlockedMs: num(g.maxBlockedMs),
    comms: Array.isArray(g.comms) ? g.comms.filter((c): c is string => typeof c === 'string').join(', ') : '',
    pids: Array.isArray(g.pids) ? g.pids.filter((p): p is number => typeof p === 'number').join(', ') : '',
    stack: stackText(g.stack),
  }));
}

// ---- memburst ----

/** One row per data.topGrowers entry (largest RSS growth first). */
export interface MemoryRow {
  rank: number;
  pid: number | null;
  comm: string;
  command: string;
  container: string;
  containerId: string;
  rssBytes: number | null;
  /** RSS growth from the start of the growth window to the end of the capture (rssDeltaBytes) */
  growthBytes: number | null;
  /** … to the trigger (rssDeltaAtTriggerBytes; null for a manual capture without readings) */
  growthAtTriggerBytes: number | null;
  startRssBytes: number | null;
  anonBytes: number | null;
  anonGrowthBytes: number | null;
  /** page allocations sampled during the capture (null: no allocation profile) */
  allocBytes: number | null;
  exited: boolean | null;
}

/** One row per data.containers entry. */
export interface MemoryContainerRow {
  container: string;
  containerId: string;
  processes: number | null;
  rssBytes: number | null;
  /** sum of its processes' RSS growth (rssDeltaBytes) */
  growthBytes: number | null;
  /** the cgroup's own memory (page cache included) at the end, its change over the capture, its limit */
  usageBytes: number | null;
  usageGrowthBytes: number | null;
  limitBytes: number | null;
}

export function memoryRows(ev: AutotracingEvent): MemoryRow[] {
  return list(data(ev).topGrowers).map((p, i) => ({
    rank: num(p.rank) ?? i + 1,
    pid: num(p.pid),
    comm: str(p.comm),
    command: str(p.command),
    ...containerOf(p.container),
    rssBytes: num(p.rssBytes),
    growthBytes: num(p.rssDeltaBytes),
    growthAtTriggerBytes: num(p.rssDeltaAtTriggerBytes),
    startRssBytes: num(p.startRssBytes),
    anonBytes: num(p.anonBytes),
    anonGrowthBytes: num(p.anonDeltaBytes),
    allocBytes: num(p.allocBytes),
    exited: bool(p.exited),
  }));
}

export function memoryContainerRows(ev: AutotracingEvent): MemoryContainerRow[] {
  return list(data(ev).containers).map((c) => ({
    ...containerOf(c.container),
    processes: num(c.processes),
    rssBytes: num(c.rssBytes),
    growthBytes: num(c.rssDeltaBytes),
    usageBytes: num(c.usageBytes),
    usageGrowthBytes: num(c.usageDeltaBytes),
    limitBytes: num(c.limitBytes),
  }));
}

// ---- iotracing ----

/** One row per process × file (data.processes[].files[]); a process without files gets one row of its own totals. */
export interface IoRow {
  device: string;
  pid: number | null;
  comm: string;
  command: string;
  container: string;
  containerId: string;
  /** whose IO this row is: process | cgroup (cgroup writeback, pid null) | unknown (flusher, dirtied before the window) */
  owner: string;
  exited: boolean | null;
  /** the agent's explanation for writeback rows whose dirtier is not known ('' otherwise) */
  label: string;
  path: string;
  inode: number | null;
  /** file | metadata | swap | unknown ('' for a process row without files) */
  kind: string;
  /** true: direct IO; false: buffered (page cache); null: process row without files */
  direct: boolean | null;
  writeback: boolean;
  /** submitter | dirtier | cgroup | flusher */
  chargedVia: string;
  /** the threads that wrote this process's dirty pages back, "comm[pid]" comma-separated */
  submittedBy: string;
  /** filesystem level: page-cache reads, pages newly dirtied, direct IO (bytes/s over the window) */
  readBps: number | null;
  writeBps: number | null;
  /** block requests charged to it (bytes/s) */
  diskReadBps: number | null;
  diskWriteBps: number | null;
  /** block requests in the window */
  readOps: number | null;
  writeOps: number | null;
  /** average and maximum latency, µs: q2c = request start → completion (await), d2c = issue to the driver → completion */
  q2cUs: number | null;
  d2cUs: number | null;
  maxQ2cUs: number | null;
  maxD2cUs: number | null;
}

type IoNumbers = Pick<
  IoRow,
  | 'readBps'
  | 'writeBps'
  | 'diskReadBps'
  | 'diskWriteBps'
  | 'readOps'
  | 'writeOps'
  | 'q2cUs'
  | 'd2cUs'
  | 'maxQ2cUs'
  | 'maxD2cUs'
>;

function ioNumbers(o: Obj): IoNumbers {
  return {
    readBps: num(o.readBps),
    writeBps: num(o.writeBps),
    diskReadBps: num(o.diskReadBps),
    diskWriteBps: num(o.diskWriteBps),
    readOps: num(o.readOps),
    writeOps: num(o.writeOps),
    q2cUs: num(o.q2cUs),
    d2cUs: num(o.d2cUs),
    maxQ2cUs: num(o.maxQ2cUs),
    maxD2cUs: num(o.maxD2cUs),
  };
}

export function ioRows(ev: AutotracingEvent): IoRow[] {
  const d = data(ev);
  const eventDevice = str(d.device);
  const rows: IoRow[] = [];
  for (const p of list(d.processes)) {
    const proc = {
      pid: num(p.pid),
      comm: str(p.comm),
      command: str(p.command),
      ...containerOf(p.container),
      owner: str(p.owner),
      exited: bool(p.exited),
      label: str(p.label),
    };
    const files = list(p.files);
    if (files.length === 0) {
      rows.push({
        device: eventDevice,
        ...proc,
        path: '',
        inode: null,
        kind: '',
        direct: null,
        writeback: bool(p.writeback) ?? false,
        chargedVia: '',
        submittedBy: '',
        ...ioNumbers(p),
      });
      continue;
    }
    for (const f of files) {
      rows.push({
        device: str(f.device) || eventDevice,
        ...proc,
        path: str(f.path),
        inode: num(f.inode),
        kind: str(f.kind),
        direct: bool(f.direct),
        writeback: bool(f.writeback) ?? false,
        chargedVia: str(f.chargedVia),
        submittedBy: list(f.submittedBy)
          .map((s) => `${str(s.comm)}[${num(s.pid) ?? '?'}]`)
          .join(', '),
        ...ioNumbers(f),
      });
    }
  }
  return rows;
}

/** Which tracer type feeds which evidence query. */
export const EVIDENCE_TYPE = { dstate: 'dload', memory: 'memburst', io: 'iotracing' } as const;
