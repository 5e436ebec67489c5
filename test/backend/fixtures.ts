// Fixture data for the fixture agents (test/backend/fixtureAgent.ts): events of every tracer type,
// typed with the shared wire schemas. The evidence events (dload, memburst, iotracing) are captures
// recorded from a real agent (test/backend/fixtures/*.json, made by test/backend/record-fixtures.ts),
// moved to the test's time range and host; the CPU events carry flame graphs given as folded stacks
// (turned into nested-set rows here, independently of the backend's own flame-graph code, so merge
// results can be checked against them).
import fs from 'node:fs';
import path from 'node:path';
import type { AutotracingEvent, NestedFlamegraph, TracerType } from '../../agent/src/api/schemas';

export type Folded = Record<string, number>; // "a;b;c" → samples

/** Folded stacks → nested-set rows, root "all", children sorted by label (reference implementation). */
export function foldedToNested(
  folded: Folded,
  name = 'cpu',
  unit: NestedFlamegraph['unit'] = 'samples'
): NestedFlamegraph {
  interface N {
    children: Map<string, N>;
    value: number;
    self: number;
  }
  const root: N = { children: new Map(), value: 0, self: 0 };
  for (const [stack, count] of Object.entries(folded)) {
    let node = root;
    node.value += count;
    for (const frame of stack.split(';')) {
      let child = node.children.get(frame);
      if (!child) {
        child = { children: new Map(), value: 0, self: 0 };
        node.children.set(frame, child);
      }
      child.value += count;
      node = child;
    }
    node.self += count;
  }
  const rows: NestedFlamegraph['rows'] = { label: [], level: [], value: [], self: [], kind: [] };
  const walk = (label: string, n: N, level: number): void => {
    rows.label.push(label);
    rows.level.push(level);
    rows.value.push(n.value);
    rows.self.push(n.self);
    rows.kind.push(level === 0 ? 'root' : label.startsWith('k:') ? 'kernel' : 'user');
    for (const k of [...n.children.keys()].sort()) walk(k, n.children.get(k)!, level + 1);
  };
  walk('all', root, 0);
  return { name, unit, total: root.value, rows };
}

export function sumFolded(...all: Folded[]): Folded {
  const out: Folded = {};
  for (const f of all) for (const [k, v] of Object.entries(f)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export interface FixtureEvent {
  event: AutotracingEvent;
  /** profile name → folded stacks */
  profiles: Record<string, { unit: NestedFlamegraph['unit']; folded: Folded }>;
}

let seq = 0;
/** ULID-like, sortable by time: 10 chars of time + 16 of sequence. */
export function fixtureId(time: number): string {
  seq++;
  return `${time.toString(36).toUpperCase().padStart(10, '0')}${seq.toString(36).toUpperCase().padStart(16, '0')}`;
}

const WEB = {
  id: 'c0ffee0000000000000000000000000000000000000000000000000000000001',
  name: 'web-1',
  runtime: 'docker',
  pod: null,
  namespace: null,
  qos: null,
  cgroup: '/system.slice/docker-c0ffee.scope',
};

export const CPU_A: Folded = {
  'k:entry_SYSCALL_64;k:do_syscall_64;k:__x64_sys_write;k:vfs_write': 40,
  'main;serve;k:entry_SYSCALL_64;k:do_syscall_64': 25,
  'main;serve;parse': 20,
  'main;gc': 15,
};
export const CPU_B: Folded = {
  'main;serve;parse': 30,
  'main;serve;render': 10,
  'k:entry_SYSCALL_64;k:do_syscall_64;k:__x64_sys_read': 5,
};
export const CPU_C: Folded = {
  'spin;hot_loop': 50,
  'main;serve;parse': 7,
};

function base(
  type: TracerType,
  host: string,
  time: number,
  summary: string,
  extra: Partial<AutotracingEvent> = {}
): AutotracingEvent {
  return {
    id: fixtureId(time),
    type,
    host,
    time,
    timeEnd: time + 10_000,
    container: null,
    trigger: {
      metric: `${type}.metric`,
      value: 60,
      threshold: 45,
      baseline: 10,
      delta: 50,
      reason: `${type} went from 10 to 60 (threshold 45)`,
    },
    summary,
    status: 'complete',
    data: {},
    ...extra,
  };
}

function flamegraphRef(name: string, unit: NestedFlamegraph['unit'], folded: Folded): Record<string, unknown> {
  return {
    name,
    title: `${name} profile`,
    unit,
    total: Object.values(folded).reduce((a, b) => a + b, 0),
    stacks: Object.keys(folded).length,
  };
}

/** Events for one host over [now-50min, now-5min]. */
export function hostEvents(host: string, now: number, variant: 'a' | 'b'): FixtureEvent[] {
  const t = (minAgo: number): number => now - minAgo * 60_000;
  const out: FixtureEvent[] = [];
  const cpu = variant === 'a' ? CPU_A : CPU_B;
  out.push({
    event: base('cpusys', host, t(50), `sys CPU 60% on ${host}`, {
      data: { flamegraphs: [flamegraphRef('cpu', 'samples', cpu)] },
    }),
    profiles: { cpu: { unit: 'samples', folded: cpu } },
  });
  out.push({
    event: base('cpusys', host, t(20), `sys CPU 70% on ${host}`, {
      data: { flamegraphs: [flamegraphRef('cpu', 'samples', CPU_C)] },
    }),
    profiles: { cpu: { unit: 'samples', folded: CPU_C } },
  });
  out.push({
    event: base('cpuidle', host, t(40), 'container web-1 CPU 95% of its quota', {
      container: WEB,
      data: { flamegraphs: [flamegraphRef('cpu', 'samples', CPU_B)] },
    }),
    profiles: { cpu: { unit: 'samples', folded: CPU_B } },
  });
  // recorded captures: detector-triggered on variant a, manual/host-scope ones on variant b
  const rec =
    variant === 'a'
      ? (['dload-detector', 'memburst-detector', 'iotracing-detector'] as const)
      : (['dload-host', 'memburst-manual', 'iotracing-writeback'] as const);
  out.push(recordedAt(rec[0], host, t(30)));
  out.push(recordedAt(rec[1], host, t(25)));
  out.push(recordedAt(rec[2], host, t(10)));
  return out;
}

/** A capture recorded from a real agent by test/backend/record-fixtures.ts (test/backend/fixtures/*.json). */
export interface RecordedFixture {
  recorded: {
    at: string;
    how: 'detector' | 'manual';
    scenario: string;
    by: string;
    agent: { version: string; kernel: string };
  };
  /** as GET /api/v1/events/:id answered */
  event: AutotracingEvent;
  /** profile name → folded stacks (GET /api/v1/events/:id/flamegraph?format=folded&profile=NAME) */
  profiles: Record<string, { unit: NestedFlamegraph['unit']; folded: Folded }>;
}

export const RECORDED = [
  'dload-detector',
  'dload-host',
  'memburst-detector',
  'memburst-manual',
  'iotracing-detector',
  'iotracing-writeback',
] as const;
export type RecordedName = (typeof RECORDED)[number];

const FIXTURES_DIR = path.join(__dirname, 'fixtures');
const cache = new Map<RecordedName, RecordedFixture>();

/** A recorded capture as recorded (real ids, times, pids and host name). Each call returns a fresh copy. */
export function recorded(name: RecordedName): RecordedFixture {
  let f = cache.get(name);
  if (!f) {
    f = JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, `${name}.json`), 'utf8')) as RecordedFixture;
    cache.set(name, f);
  }
  return structuredClone(f);
}

/** A recorded capture on `host`, moved so that it triggered at `time` (timeEnd keeps the recorded window), with a new id. */
export function recordedAt(name: RecordedName, host: string, time: number): FixtureEvent {
  const { event, profiles } = recorded(name);
  return {
    event: { ...event, id: fixtureId(time), host, time, timeEnd: time + (event.timeEnd - event.time) },
    profiles,
  };
}
