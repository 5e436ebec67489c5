import { fixtures } from '../__fixtures__/backend';
import { containerLabel, groupByStack, parseEvidence, stackFrames } from './evidence';

describe('parseEvidence', () => {
  it('reads cpusys: flame graph refs and processes on CPU', () => {
    const ev = parseEvidence(fixtures.event.cpusys.data);
    expect(ev.flamegraphs.map((f) => f.name)).toEqual(['cpu', 'before']);
    expect(ev.cpuProcesses.map((p) => [p.comm, p.samples])).toEqual([
      ['nginx', 90],
      ['node', 30],
      ['kworker/u8:2', 25],
    ]);
    expect(ev.cpuProcesses[0].container?.name).toBe('web-frontend');
    expect(ev.ioProcesses).toEqual([]);
  });

  it('reads dload tasks, stacks as arrays or text, and the known issue', () => {
    const ev = parseEvidence(fixtures.event.dload.data);
    expect(ev.tasks).toHaveLength(9);
    expect(ev.knownIssue).toBe('jbd2-commit-wait');
    const java = ev.tasks.find((t) => t.comm === 'java');
    expect(java?.tid).toBe(781);
    expect(java?.stack[0]).toBe('io_schedule');
  });

  it('groups stuck tasks by identical stack, biggest group first', () => {
    const groups = groupByStack(parseEvidence(fixtures.event.dload.data).tasks);
    expect(groups.map((g) => [g.stack[0], g.tasks.length])).toEqual([
      ['jbd2_log_wait_commit', 6],
      ['wait_for_vfork_done', 2],
      ['io_schedule', 1],
    ]);
    expect(groups[0].maxBlockedMs).toBe(1950);
  });

  it('reads dload groups (tasks already grouped by stack)', () => {
    const ev = parseEvidence({
      groups: [{ stack: ['a', 'b'], tasks: [{ pid: 1, comm: 'x' }, { pid: 2, comm: 'y', blockedNs: 5e6 }] }],
    });
    expect(ev.tasks.map((t) => [t.pid, t.stack.join('>'), t.blockedMs])).toEqual([
      [1, 'a>b', undefined],
      [2, 'a>b', 5],
    ]);
  });

  it('reads memburst growers and per-container memory', () => {
    const ev = parseEvidence(fixtures.event.memburst.data);
    expect(ev.growers[0]).toMatchObject({ comm: 'stress-ng-vm', growthBytes: 2040109465 });
    expect(ev.containerMemory).toHaveLength(2);
    expect(ev.flamegraphs[0].unit).toBe('bytes');
  });

  it("accepts Huatuo's snake_case memburst names", () => {
    const ev = parseEvidence({ top_memory_usage: [{ pid: 7, process_name: 'java', memory_size: 1024 }] });
    expect(ev.growers).toEqual([
      { pid: 7, comm: 'java', cmdline: undefined, container: null, rssBytes: 1024, growthBytes: 0 },
    ]);
  });

  it('reads iotracing: device, processes with files, latency histograms (le: null = +Inf), stalls', () => {
    const ev = parseEvidence(fixtures.event.iotracing.data);
    expect(ev.device).toMatchObject({ name: 'nvme0n1', major: 259, writeAwaitMs: 182 });
    expect(ev.ioProcesses.map((p) => p.comm)).toEqual(['postgres', 'kworker/u16:3', 'java']);
    expect(ev.ioProcesses[1].writeback).toBe(true);
    expect(ev.ioProcesses[0].files[0]).toMatchObject({ direct: true, maxQ2cUs: 212000 });
    expect(Object.keys(ev.latency)).toEqual(['read', 'write']);
    expect(ev.latency.write.buckets.at(-1)).toEqual({ le: Infinity, count: 12 });
    expect(ev.stalls[0]).toMatchObject({ comm: 'postgres', latencyMs: 212 });
    expect(ev.cpuProcesses).toEqual([]);
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
    expect(containerLabel(fixtures.event.cpuidle.container)).toBe('web-frontend');
    const id = 'f'.repeat(64);
    expect(containerLabel({ id, name: null, runtime: 'docker', pod: null, namespace: null, qos: null, cgroup: '' })).toBe(
      'ffffffffffff'
    );
    expect(
      containerLabel({ id: 'x', name: null, runtime: 'kubepods', pod: 'db-0', namespace: 'ns', qos: null, cgroup: '' })
    ).toBe('ns/db-0');
    expect(containerLabel(null)).toBe('');
  });
});
