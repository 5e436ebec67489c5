import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostEvents, huatuoStyleEvents } from '../../../test/backend/fixtures';
import { dstateRows, ioRows, memoryContainerRows, memoryRows } from './shapes';

const now = Date.UTC(2030, 0, 1);
const ours = hostEvents('h', now, 'a').map((e) => e.event);
const huatuo = huatuoStyleEvents('h', now).map((e) => e.event);
const of = (list: typeof ours, type: string) => list.find((e) => e.type === type)!;

describe('evidence shapes', () => {
  it('dload: tasks with stacks, grouped counts, container fallback', () => {
    const rows = dstateRows(of(ours, 'dload'));
    assert.equal(rows.length, 3);
    assert.deepEqual(rows[0], {
      pid: 101, tid: 101, comm: 'vfork-parent', cmdline: './dgen --vfork', state: 'D', wchan: 'do_wait', blockedMs: 1200,
      container: 'web-1', knownIssue: '', sameStack: 2, stack: 'do_wait\nkernel_wait4\n__do_sys_wait4',
    });
    assert.equal(rows[2]!.blockedMs, 500);
    assert.equal(rows[2]!.container, 'db-1');
  });

  it('dload: groups form and Huatuo form', () => {
    const ev = { ...of(ours, 'dload'), data: { groups: [{ stack: ['a', 'b'], count: 4, knownIssue: 'vfork wait' }] } };
    const rows = dstateRows(ev);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.sameStack, 4);
    assert.equal(rows[0]!.knownIssue, 'vfork wait');
    const h = dstateRows(of(huatuo, 'dload'));
    assert.equal(h.length, 1);
    assert.equal(h[0]!.stack, 'io_schedule\nblk_mq_get_tag');
    assert.equal(h[0]!.knownIssue, 'blk-mq tag starvation');
  });

  it('memburst: growers first, in both shapes, and containers', () => {
    const rows = memoryRows(of(ours, 'memburst'));
    assert.deepEqual(rows.map((r) => [r.rank, r.comm, r.growthBytes, r.rssBytes, r.container]), [
      [1, 'grower', 3e9, 3.2e9, 'web-1'],
      [2, 'steady', 1e6, 8e9, ''],
    ]);
    assert.deepEqual(memoryContainerRows(of(ours, 'memburst')), [{ container: 'web-1', usageBytes: 3.5e9, growthBytes: 3e9 }]);
    const h = memoryRows(of(huatuo, 'memburst'));
    assert.deepEqual(h.map((r) => [r.pid, r.comm, r.rssBytes, r.growthBytes]), [[9, 'java', 123456, null]]);
  });

  it('iotracing: a row per process file, processes without files once, both shapes', () => {
    const rows = ioRows(of(ours, 'iotracing'));
    assert.deepEqual(rows.map((r) => [r.device, r.comm, r.path, r.direct, r.writeback]), [
      ['loop0', 'fio', '/mnt/test/file1', true, false],
      ['loop0', 'fio', '/mnt/test/file2', false, false],
      ['loop0', 'kworker/u8:1', '', null, true],
    ]);
    assert.equal(rows[0]!.maxQ2cUs, 180000);
    const h = ioRows(of(huatuo, 'iotracing'));
    assert.deepEqual(h.map((r) => [r.device, r.comm, r.container, r.path, r.inode, r.direct, r.readBps, r.q2cUs, r.maxD2cUs]), [
      ['sda', 'mysqld', 'db-0', '/var/lib/mysql/ibdata1', 5, true, 10, 100, 900],
    ]);
  });

  it('iotracing: the device may be an object with a name', () => {
    const ev = of(ours, 'iotracing');
    const rows = ioRows({ ...ev, data: { ...ev.data, device: { name: 'nvme0n1', major: 259, minor: 0, util: 97 } } });
    assert.equal(rows[2]!.device, 'nvme0n1', 'the process row without files takes the event device');
    assert.equal(rows[0]!.device, 'loop0', 'a file keeps its own device');
  });

  it('unknown shapes give no rows rather than errors', () => {
    const ev = { ...of(ours, 'iotracing'), data: { something: 'else', processes: 'not a list' } };
    assert.deepEqual(ioRows(ev), []);
    assert.deepEqual(memoryRows({ ...ev, data: {} }), []);
    assert.deepEqual(dstateRows({ ...ev, data: { tasks: [null, 3] } }), []);
  });
});
