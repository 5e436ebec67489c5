// The evidence readers against captures recorded from a real agent (test/backend/fixtures/*.json, made by
// test/backend/record-fixtures.ts with real workloads): what each workload guarantees is checked, not
// whatever numbers one recording happened to get.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AutotracingEvent } from '../../../agent/src/events/event';
import { RECORDED, recorded, type RecordedName } from '../../../test/backend/fixtures';
import { dstateGroupRows, dstateRows, ioRows, memoryContainerRows, memoryRows } from './shapes';

type Obj = Record<string, unknown>;
const ev = (name: RecordedName): AutotracingEvent => recorded(name).event;
const data = (name: RecordedName): Obj => ev(name).data as Obj;
const objs = (v: unknown): Obj[] => v as Obj[];
const withData = (e: AutotracingEvent, d: Obj): AutotracingEvent => ({ ...e, data: d });

// the fields the readers take from each part of `data` (shapes.ts header); a recording that lacks one
// means the agent renamed it and the reader must follow
const READ: Record<string, { type: string; keys: Record<string, (d: Obj) => Obj[]> }> = {
  dload: {
    type: 'dload',
    keys: {
      'pid tid comm command container state wchan blockedMs blockedSource stack group knownIssue inScope stillBlocked iowait':
        (d) => objs(d.tasks),
      'group count inScopeCount stack wchan knownIssue pids comms maxBlockedMs': (d) => objs(d.stackGroups),
    },
  },
  memburst: {
    type: 'memburst',
    keys: {
      'rank pid comm command container rssBytes rssDeltaBytes rssDeltaAtTriggerBytes startRssBytes anonBytes anonDeltaBytes allocBytes exited':
        (d) => objs(d.topGrowers),
      'container processes rssBytes rssDeltaBytes usageBytes limitBytes usageDeltaBytes': (d) => objs(d.containers),
    },
  },
  iotracing: {
    type: 'iotracing',
    keys: {
      'pid comm command container exited owner writeback label readBps writeBps diskReadBps diskWriteBps readOps writeOps q2cUs d2cUs maxQ2cUs maxD2cUs files':
        (d) => objs(d.processes),
      'path device inode kind direct writeback chargedVia readBps writeBps diskReadBps diskWriteBps readOps writeOps q2cUs d2cUs maxQ2cUs maxD2cUs submittedBy':
        (d) => objs(d.processes).flatMap((p) => objs(p.files)),
    },
  },
};

const isStack = (text: string) => text.split('\n').every((f) => /^[\w.]+$/.test(f));

describe('evidence shapes (recorded captures)', () => {
  it('every recording is complete and has every field the readers take', () => {
    for (const name of RECORDED) {
      const e = ev(name);
      assert.equal(e.status, 'complete', `${name}: ${e.error ?? ''}`);
      const spec = READ[e.type]!;
      assert.ok(spec, name);
      assert.ok(e.data.flamegraphs === undefined || Array.isArray(e.data.flamegraphs));
      for (const [keys, of] of Object.entries(spec.keys)) {
        const items = of(e.data as Obj);
        assert.ok(items.length > 0, `${name}: no items for ${keys}`);
        for (const item of items)
          for (const k of keys.split(' '))
            assert.ok(k in item, `${name}: ${k} missing in ${JSON.stringify(item).slice(0, 200)}`);
      }
    }
    assert.equal('device' in data('iotracing-detector'), true);
  });

  it('dload (detector, container scope): one row per task, no duplicates from the stack groups', () => {
    const e = ev('dload-detector');
    const tasks = objs(data('dload-detector').tasks);
    const rows = dstateRows(e);
    assert.equal(rows.length, tasks.length, 'tasks and stackGroups together: still one row per task');
    assert.equal(new Set(rows.map((r) => r.tid)).size, rows.length);

    const cid = e.container!.id;
    const workers = rows.filter((r) => r.comm === 'dstate');
    assert.equal(workers.length, 12, 'the 12 workers of test/workloads/dstate');
    for (const r of workers) {
      assert.equal(r.inScope, true);
      assert.equal(r.container, cid, 'a container without a name shows its id');
      assert.equal(r.containerId, cid);
      assert.match(r.command, /dstate 12 25$/);
      assert.equal(r.state, 'D');
      assert.equal(r.knownIssue, 'vfork-wait');
      assert.equal(r.sameStack, 12);
      assert.equal(r.stillBlocked, true);
      assert.ok(r.blockedMs !== null && r.blockedMs > 1000, `blocked ${r.blockedMs}`);
      assert.equal(r.blockedSource, 'exec_start');
      // outermost → innermost: the syscall entry first, the wait channel last
      const frames = r.stack.split('\n');
      assert.match(frames[0]!, /^entry_SYSCALL_64/);
      assert.ok(frames.includes('__x64_sys_vfork'), r.stack);
      assert.equal(frames[frames.length - 1], r.wchan);
      assert.equal(r.wchan, 'kernel_clone');
    }
    assert.equal(new Set(workers.map((r) => r.group)).size, 1);

    // the throttled direct writer on the host: context, not in the container
    const dd = rows.find((r) => r.comm === 'dd')!;
    assert.ok(dd, JSON.stringify(rows.map((r) => r.comm)));
    assert.deepEqual(
      [dd.inScope, dd.container, dd.containerId, dd.knownIssue, dd.sameStack, dd.iowait],
      [false, '', '', '', 1, true]
    );
    assert.ok(isStack(dd.stack) && dd.stack.endsWith(`\n${dd.wchan}`) && dd.stack.includes('vfs_write'), dd.stack);
    assert.notEqual(dd.group, workers[0]!.group);
  });

  it('dload (manual, host scope): the host task is in scope, the container tasks are context', () => {
    const rows = dstateRows(ev('dload-host'));
    assert.equal(rows.length, objs(data('dload-host').tasks).length);
    assert.deepEqual(
      rows.filter((r) => r.inScope).map((r) => r.comm),
      ['dd'],
      'the scope (host) tasks first'
    );
    assert.equal(rows[0]!.comm, 'dd');
    assert.ok(rows.filter((r) => r.comm === 'dstate').every((r) => r.inScope === false && r.container !== ''));
  });

  it('dload: one row per stack group (by: "stack")', () => {
    const groups = dstateGroupRows(ev('dload-detector'));
    assert.equal(groups.length, objs(data('dload-detector').stackGroups).length);
    const vfork = groups[0]!;
    assert.deepEqual(
      [vfork.count, vfork.inScopeCount, vfork.wchan, vfork.knownIssue, vfork.comms],
      [12, 12, 'kernel_clone', 'vfork-wait', 'dstate']
    );
    assert.equal(vfork.pids.split(', ').length, 12);
    assert.match(vfork.stack, /^entry_SYSCALL_64\S*\n(.+\n)*kernel_clone$/);
    const dd = groups.find((g) => g.comms === 'dd')!;
    assert.deepEqual([dd.count, dd.inScopeCount, dd.knownIssue], [1, 0, '']);
    assert.ok(vfork.maxBlockedMs! >= dd.maxBlockedMs!);
  });

  it('dload: without stackGroups, sameStack counts the tasks with the same stack and the task keeps its own known issue', () => {
    const e = ev('dload-detector');
    const d = data('dload-detector');
    const rows = dstateRows(withData(e, { ...d, stackGroups: undefined }));
    assert.deepEqual(
      rows.map((r) => r.sameStack),
      dstateRows(e).map((r) => r.sameStack)
    );
    assert.equal(rows.find((r) => r.comm === 'dstate')!.knownIssue, 'vfork-wait');
  });

  it('memburst (detector): growers by rank with RSS, growth and container; per-container rows', () => {
    const e = ev('memburst-detector');
    const rows = memoryRows(e);
    assert.equal(rows.length, objs(data('memburst-detector').topGrowers).length);
    assert.deepEqual(
      rows.map((r) => r.rank),
      rows.map((_, i) => i + 1)
    );
    const top = rows[0]!;
    const MiB = 2 ** 20;
    assert.equal(top.comm, 'memgrow');
    assert.match(top.command, /memgrow 1536 400 30$/);
    assert.equal(top.container, e.container!.id, 'the top grower is in the container the event names');
    assert.equal(top.containerId, e.container!.id);
    assert.ok(top.growthBytes! > 1400 * MiB && top.rssBytes! >= top.growthBytes!, JSON.stringify(top));
    assert.ok(top.growthAtTriggerBytes! > 0 && top.growthAtTriggerBytes! <= top.growthBytes!);
    assert.ok(top.allocBytes! > 0, 'allocation samples of the grower');
    assert.equal(top.exited, false);
    for (let i = 1; i < rows.length; i++)
      assert.ok(rows[i - 1]!.growthBytes! >= rows[i]!.growthBytes!, 'largest growth first');
    const holder = rows.find((r) => /memgrow 1024 0 600$/.test(r.command));
    assert.ok(holder, 'the steady 1 GiB holder is listed');
    assert.deepEqual([holder.container, holder.growthBytes], ['', 0]);
    assert.ok(holder.rssBytes! > 1000 * MiB);

    const c = memoryContainerRows(e);
    assert.equal(c.length, 1);
    assert.deepEqual(
      [c[0]!.container, c[0]!.processes, c[0]!.growthBytes, c[0]!.limitBytes],
      [e.container!.id, 1, top.growthBytes, null]
    );
    assert.ok(c[0]!.usageBytes! >= top.rssBytes! * 0.9 && c[0]!.usageGrowthBytes! > 0, JSON.stringify(c[0]));
  });

  it('memburst (manual): an exited grower keeps its row (no command), a new grower on the host', () => {
    const rows = memoryRows(ev('memburst-manual'));
    const gone = rows.find((r) => r.exited);
    assert.ok(gone && gone.comm === 'memgrow' && gone.command === '' && gone.container !== '', JSON.stringify(gone));
    const host = rows.find((r) => /memgrow 768 200 30$/.test(r.command));
    assert.ok(
      host && host.container === '' && host.growthBytes! > 0 && host.growthAtTriggerBytes !== null,
      JSON.stringify(host)
    );
  });

  it('iotracing (detector): one row per process × file, with the process columns, rates and latencies', () => {
    const e = ev('iotracing-detector');
    const d = data('iotracing-detector');
    const procs = objs(d.processes);
    const rows = ioRows(e);
    assert.equal(
      rows.length,
      procs.reduce((a, p) => a + Math.max(1, objs(p.files).length), 0)
    );
    const fio = rows.filter((r) => r.comm === 'fio');
    assert.deepEqual(fio.map((r) => r.path.split('/').pop()).sort(), ['read.dat', 'write.dat']);
    const dev = String(d.device);
    assert.match(dev, /^loop\d+$/);
    for (const r of fio) {
      assert.equal(r.device, dev);
      assert.equal(r.direct, true);
      assert.equal(r.writeback, false);
      assert.deepEqual(
        [r.owner, r.chargedVia, r.kind, r.label, r.submittedBy],
        ['process', 'submitter', 'file', '', '']
      );
      assert.match(r.command, /^fio --thread/);
      assert.match(r.containerId, /^[0-9a-f]{64}$/);
      assert.equal(r.container, r.containerId);
      assert.ok(r.q2cUs! > 0 && r.maxQ2cUs! >= r.q2cUs! && r.d2cUs! > 0 && r.maxD2cUs! >= r.d2cUs!);
      assert.ok(r.inode! > 0);
    }
    const w = fio.find((r) => r.path.endsWith('/write.dat'))!;
    assert.ok(
      w.diskWriteBps! > 10 * 2 ** 20 && w.writeBps === w.diskWriteBps && w.diskReadBps === 0 && w.writeOps! > 0
    );
    // the numbers are the file's own, not its process's
    const wf = objs(procs.find((p) => p.comm === 'fio')!.files).find((f) => String(f.path).endsWith('/write.dat'))!;
    assert.deepEqual([w.q2cUs, w.maxD2cUs, w.writeOps], [wf.q2cUs, wf.maxD2cUs, wf.writeOps]);
  });

  it('iotracing (manual): buffered writeback charged to the dirtier, pages dirtied before the window labelled, metadata IO', () => {
    const rows = ioRows(ev('iotracing-writeback'));
    assert.ok(
      rows.every((r) => /^loop\d+$/.test(r.device)),
      'a manual capture (data.device null) takes each file’s device'
    );
    const buf = rows.find((r) => r.path.endsWith('/buffered.dat'))!;
    assert.ok(buf, JSON.stringify(rows.map((r) => r.path)));
    assert.deepEqual(
      [buf.comm, buf.direct, buf.writeback, buf.chargedVia, buf.owner, buf.label],
      ['fio', false, true, 'dirtier', 'process', '']
    );
    assert.match(buf.submittedBy, /^kworker\/[^[]+\[\d+\]/);
    assert.ok(buf.container !== '' && buf.diskWriteBps! > 0);
    const before = rows.find((r) => r.path.endsWith('/before.dat'))!;
    assert.deepEqual(
      [before.owner, before.chargedVia, before.writeback, before.direct],
      ['unknown', 'flusher', true, false]
    );
    assert.match(before.comm, /^kworker/);
    assert.match(before.label, /dirtied before the capture window/);
    const meta = rows.filter((r) => r.kind === 'metadata');
    assert.ok(
      meta.length > 0 && meta.every((r) => r.inode === null && /^\/dev\/loop\d+$/.test(r.path)),
      JSON.stringify(meta)
    );
  });

  it('iotracing: a process without files gets one row of its own totals and the event device', () => {
    const e = ev('iotracing-detector');
    const d = data('iotracing-detector');
    const procs = objs(d.processes).map((p, i) => (i === 0 ? { ...p, files: [] } : p));
    const rows = ioRows(withData(e, { ...d, processes: procs }));
    const p = procs[0]!;
    assert.deepEqual(
      [rows[0]!.path, rows[0]!.kind, rows[0]!.direct, rows[0]!.device, rows[0]!.diskWriteBps, rows[0]!.q2cUs],
      ['', '', null, d.device, p.diskWriteBps, p.q2cUs]
    );
  });

  it('unknown shapes and junk give no rows rather than errors; the old guessed names are not read', () => {
    const e = ev('iotracing-detector');
    assert.deepEqual(ioRows(withData(e, { something: 'else', processes: 'not a list' })), []);
    assert.deepEqual(memoryRows(withData(e, {})), []);
    assert.deepEqual(dstateRows(withData(e, { tasks: [null, 3] })), []);
    assert.deepEqual(dstateGroupRows(withData(e, { stackGroups: 'x' })), []);
    // names from before the tracers existed (growers, groups, cmdline, growthBytes) match nothing real
    assert.deepEqual(memoryRows(withData(e, { growers: [{ pid: 1, growthBytes: 5 }] })), []);
    assert.deepEqual(dstateRows(withData(e, { groups: [{ stack: ['a'], tasks: [{ pid: 1 }] }] })), []);
    const t = dstateRows(
      withData(e, { tasks: [{ pid: 1, cmdline: 'x', stack: 'a\nb', blockedMs: '5', container: 'c' }] })
    )[0]!;
    assert.deepEqual([t.command, t.stack, t.blockedMs, t.container, t.sameStack], ['', '', null, '', 1]);
  });
});
