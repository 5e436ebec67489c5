import { fixtures } from '../__fixtures__/backend';
import { containerLabel, groupByStack, parseEvidence, stackFrames } from './evidence';

describe('parseEvidence', () => {
  // what the agent sends (recorded), see src/__fixtures__/README.md
  const data = (e: { data: Record<string, unknown> }) => e.data as Record<string, any>;

  it("reads cpusys: flame graph refs and processes on CPU (the agent's topProcesses)", () => {
    const e = fixtures.event.cpusys;
    const ev = parseEvidence(e.data);
    expect(ev.flamegraphs.map((f) => f.name)).toEqual(['cpu', 'before']);
    const top = data(e).topProcesses;
    expect(ev.cpuProcesses.map((p) => [p.comm, p.pid, p.samples, p.samplePct])).toEqual(
      top.map((p: any) => [p.comm, p.pid, p.samples, p.samplePct])
    );
    expect(ev.cpuProcesses.some((p) => p.comm === 'stress-ng-open')).toBe(true);
    // `command` becomes the command line, trailing padding trimmed
    const stress = ev.cpuProcesses.find((p) => p.comm === 'stress-ng-open')!;
    expect(stress.cmdline).toMatch(/^stress-ng-open \[run\]$/);
    expect(ev.ioProcesses).toEqual([]);
  });

  it('reads dload tasks (stacks turned innermost first) and the known issue', () => {
    const e = fixtures.event.dload;
    const ev = parseEvidence(e.data);
    expect(ev.tasks).toHaveLength(data(e).tasks.length);
    expect(ev.knownIssue).toBe('vfork-wait');
    const t = ev.tasks.find((x) => x.comm === 'dstate')!;
    expect(t.state).toBe('D');
    // the agent sends outermost first; the wait site (its wchan) comes first here
    expect(t.stack[0]).toBe(t.wchan);
    expect(t.stack.at(-1)).toBe('entry_SYSCALL_64_after_hwframe');
    expect(t.blockedMs).toBeGreaterThan(0);
  });

  it('groups stuck tasks by identical stack, biggest group first', () => {
    const e = fixtures.event.dload;
    const groups = groupByStack(parseEvidence(e.data).tasks);
    // the agent's own grouping agrees
    const agentGroups = data(e).stackGroups as Array<{ count: number; stack: string[]; maxBlockedMs: number }>;
    expect(groups.map((g) => [g.stack[0], g.tasks.length])).toEqual(agentGroups.map((g) => [g.stack.at(-1), g.count]));
    expect(groups[0].maxBlockedMs).toBe(agentGroups[0].maxBlockedMs);
  });

  it('reads dload groups (tasks already grouped by stack)', () => {
    const ev = parseEvidence({
      groups: [
        {
          stack: ['a', 'b'],
          tasks: [
            { pid: 1, comm: 'x' },
            { pid: 2, comm: 'y', blockedNs: 5e6 },
          ],
        },
      ],
    });
    // an array stack is outermost first (the agent's convention): shown innermost first
    expect(ev.tasks.map((t) => [t.pid, t.stack.join('>'), t.blockedMs])).toEqual([
      [1, 'b>a', undefined],
      [2, 'b>a', 5],
    ]);
  });

  it("reads memburst growers (the agent's topGrowers) and the alloc flame graph", () => {
    const e = fixtures.event.memburst;
    const ev = parseEvidence(e.data);
    const top = data(e).topGrowers;
    expect(ev.growers.map((g) => [g.comm, g.pid, g.rssBytes, g.growthBytes])).toEqual(
      top.map((g: any) => [g.comm, g.pid, g.rssBytes, g.rssDeltaBytes])
    );
    expect(ev.growers.some((g) => g.comm === 'memgrow')).toBe(true);
    expect(ev.flamegraphs[0]).toMatchObject({ name: 'alloc', unit: 'bytes' });
  });

  it('reads per-container memory', () => {
    const ev = parseEvidence({ containers: [{ container: null, usageBytes: 10, growthBytes: 4 }] });
    expect(ev.containerMemory).toEqual([{ container: null, usageBytes: 10, growthBytes: 4 }]);
  });

  it("accepts Huatuo's snake_case memburst names", () => {
    const ev = parseEvidence({ top_memory_usage: [{ pid: 7, process_name: 'java', memory_size: 1024 }] });
    expect(ev.growers).toEqual([
      { pid: 7, comm: 'java', cmdline: undefined, container: null, rssBytes: 1024, growthBytes: 0 },
    ]);
  });

  it('reads iotracing as the agent sends it: devices[0] with diskstats, q2c histograms per op, processes with files', () => {
    const e = fixtures.event.iotracing;
    const d = data(e);
    const ev = parseEvidence(e.data);
    // the busiest of the devices the agent lists
    const moved = (x: any) => (x.traced?.read?.bytes ?? 0) + (x.traced?.write?.bytes ?? 0);
    const dev = [...d.devices].sort((a: any, b: any) => moved(b) - moved(a))[0];
    expect(moved(dev)).toBeGreaterThan(0);
    expect(ev.device).toMatchObject({
      name: dev.device,
      major: dev.major,
      minor: dev.minor,
      util: dev.diskstats.utilPercent,
      writeAwaitMs: dev.diskstats.writeAwaitMs,
    });
    const hists = (d.histograms as any[]).filter((h) => h.device === dev.device);
    expect(Object.keys(ev.latency).sort()).toEqual(hists.map((h) => h.op).sort());
    const first = hists[0];
    expect(ev.latency[first.op].buckets).toEqual(first.q2c.map((b: any) => ({ le: b.highUs, count: b.count })));
    expect(ev.ioProcesses.map((p) => p.comm)).toEqual(d.processes.map((p: any) => p.comm));
    const hdd = ev.ioProcesses.find((p) => p.comm === 'stress-ng-hdd')!;
    expect(hdd.files.length).toBeGreaterThan(0);
    expect(hdd.files[0].path).toMatch(/stress-ng-hdd/);
    expect(ev.cpuProcesses).toEqual([]);
  });

  it('reads stalls and a histogram whose last bucket is +Inf (le: null)', () => {
    const ev = parseEvidence({
      latency: {
        unit: 'us',
        buckets: [
          { le: 64, count: 1 },
          { le: null, count: 2 },
        ],
      },
      stalls: [{ pid: 5, comm: 'pg', latencyMs: 212, stack: ['entry', 'io_schedule'] }],
    });
    expect(ev.latency.all.buckets.at(-1)).toEqual({ le: Infinity, count: 2 });
    expect(ev.stalls[0]).toMatchObject({ comm: 'pg', latencyMs: 212, stack: ['io_schedule', 'entry'] });
  });

  it("accepts Huatuo's iotracing names and a device given as a string", () => {
    const ev = parseEvidence({
      device: 'sda',
      process_file_io_stats: [
        { pid: 3, comm: 'dd', fs_write_bps: 100, total_files: [{ path: '/x', dev: 'sda', is_direct: 1, q2c_us: 9 }] },
      ],
    });
    expect(ev.device).toEqual({ name: 'sda' });
    expect(ev.ioProcesses[0]).toMatchObject({ comm: 'dd', writeBps: 100 });
    expect(ev.ioProcesses[0].files[0]).toMatchObject({ path: '/x', device: 'sda', direct: true, q2cUs: 9 });
  });

  it('never throws on odd data', () => {
    for (const data of [null, undefined, {}, { tasks: 'x' }, { processes: [1, null, {}] }, { latency: { x: 1 } }]) {
      expect(() => parseEvidence(data as Record<string, unknown>)).not.toThrow();
    }
  });
});

describe('helpers', () => {
  it('splits stack text into frames', () => {
    expect(stackFrames(' a\n\n b \n')).toEqual(['a', 'b']);
    expect(stackFrames(['a', 1, 'b'])).toEqual(['a', 'b']);
  });

  it('names containers by name, pod or short id', () => {
    // the recorded container has no name (no Docker socket on the recording machine): its short id
    expect(containerLabel(fixtures.event.cpuidle.container)).toBe(fixtures.event.cpuidle.container!.id.slice(0, 12));
    expect(containerLabel({ ...fixtures.event.cpuidle.container!, name: 'web-frontend' })).toBe('web-frontend');
    const id = 'f'.repeat(64);
    expect(
      containerLabel({ id, name: null, runtime: 'docker', pod: null, namespace: null, qos: null, cgroup: '' })
    ).toBe('ffffffffffff');
    expect(
      containerLabel({ id: 'x', name: null, runtime: 'kubepods', pod: 'db-0', namespace: 'ns', qos: null, cgroup: '' })
    ).toBe('ns/db-0');
    expect(containerLabel(null)).toBe('');
  });
});
