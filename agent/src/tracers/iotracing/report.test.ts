import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IOF,
  IO_HIST_BUCKETS,
  kdev,
  STAT_NAMES,
  type BlockIoStats,
  type BlockIoWindow,
  type DiskHistogram,
  type IoKey,
  type IoRecord,
} from '../../bpf/blockio';
import type { ContainerRef } from '../../events/event';
import type { DiskIoRates } from '../../host/diskstats';
import { bucketOf } from './histogram';
import { buildIoReport, type DeviceInfo, type ReportInput } from './report';
import type { ResolvedPath } from './paths';

const LOOP = kdev(7, 3);
const VDA = kdev(254, 0);
const VDA1 = kdev(254, 1);
const BTRFS = kdev(0, 51); // anonymous device of a btrfs filesystem living on vda1
const MiB = 1 << 20;

const devices = new Map<number, DeviceInfo>([
  [LOOP, { name: 'loop3', major: 7, minor: 3, disk: 'loop3', rotational: false, nvme: false }],
  [VDA, { name: 'vda', major: 254, minor: 0, disk: 'vda', rotational: true, nvme: false }],
  [VDA1, { name: 'vda1', major: 254, minor: 1, disk: 'vda' }],
]);

const container = (id: string): ContainerRef => ({
  id,
  name: null,
  runtime: 'docker',
  pod: null,
  namespace: null,
  qos: null,
  cgroup: `/docker/${id}`,
});
const WEB = container('a'.repeat(64));
const DB = container('b'.repeat(64));

function key(k: Partial<IoKey>): IoKey {
  return {
    ino: 0n,
    cgroup: 0n,
    cgroupV1: 0n,
    blkcg: 0n,
    tgid: 0,
    submitter: 0,
    dev: 0,
    sbDev: 0,
    flags: 0,
    comm: '',
    ...k,
  };
}

function rec(k: Partial<IoKey>, v: { ios?: number; bytes: number; q2cMs?: number; d2cMs?: number }): IoRecord {
  const ios = v.ios ?? 1;
  return {
    key: key(k),
    val: {
      ios,
      bytes: v.bytes,
      q2cNs: (v.q2cMs ?? 0) * 1e6 * ios,
      d2cNs: (v.d2cMs ?? 0) * 1e6 * ios,
      d2cIos: v.d2cMs === undefined ? 0 : ios,
      q2cMaxNs: (v.q2cMs ?? 0) * 2e6,
      d2cMaxNs: (v.d2cMs ?? 0) * 2e6,
    },
  };
}

function hist(disk: number, op: 'read' | 'write', latMs: number[]): DiskHistogram {
  const q2c = new Array<number>(IO_HIST_BUCKETS).fill(0);
  const d2c = new Array<number>(IO_HIST_BUCKETS).fill(0);
  for (const l of latMs) {
    q2c[bucketOf(l * 1e6)]!++;
    d2c[bucketOf(l * 0.5e6)]!++;
  }
  const sum = latMs.reduce((a, b) => a + b, 0) * 1e6;
  return {
    disk,
    op,
    ios: latMs.length,
    bytes: latMs.length * 4096,
    q2cNs: sum,
    d2cNs: sum / 2,
    d2cIos: latMs.length,
    q2cMaxNs: Math.max(...latMs) * 1e6,
    d2cMaxNs: Math.max(...latMs) * 0.5e6,
    noStart: 0,
    q2c,
    d2c,
  };
}

const stats = Object.fromEntries(STAT_NAMES.map((n) => [n, 0])) as BlockIoStats;

const DIRECT = IOF.DIRECT;
const W = IOF.WRITE;

function window(): BlockIoWindow {
  return {
    startedAt: 0,
    endedAt: 2000,
    stats,
    missing: [],
    names: [],
    histograms: [hist(LOOP, 'write', [2, 3, 4, 50]), hist(LOOP, 'read', [1]), hist(VDA, 'write', [1, 1])],
    records: [
      // fio[100] in WEB: direct writes to one file, direct reads of another, on the loop device
      rec(
        { tgid: 100, comm: 'fio', cgroup: 11n, dev: LOOP, sbDev: LOOP, ino: 12n, flags: W | DIRECT },
        { ios: 40, bytes: 40 * MiB, q2cMs: 3, d2cMs: 2 }
      ),
      rec(
        { tgid: 100, comm: 'fio', cgroup: 11n, dev: LOOP, sbDev: LOOP, ino: 13n, flags: DIRECT },
        { ios: 10, bytes: 10 * MiB, q2cMs: 1, d2cMs: 1 }
      ),
      // writer[200] in DB dirtied 8 MiB of log.dat; the flusher kworker[7] wrote 6 MiB of it back for it
      rec(
        { tgid: 200, comm: 'writer', cgroup: 22n, sbDev: LOOP, ino: 14n, flags: IOF.FS | W },
        { ios: 2048, bytes: 8 * MiB }
      ),
      rec(
        {
          tgid: 200,
          comm: 'writer',
          cgroup: 22n,
          submitter: 7,
          dev: LOOP,
          sbDev: LOOP,
          ino: 14n,
          flags: W | IOF.WRITEBACK | IOF.DIRTIER | IOF.KTHREAD,
        },
        { ios: 6, bytes: 6 * MiB, q2cMs: 5, d2cMs: 4 }
      ),
      // the same flusher writing back pages dirtied before the window: owner unknown
      rec(
        { tgid: 7, comm: 'kworker/u4:1', dev: LOOP, sbDev: LOOP, ino: 15n, flags: W | IOF.WRITEBACK | IOF.KTHREAD },
        { ios: 3, bytes: 3 * MiB, q2cMs: 6, d2cMs: 5 }
      ),
      // cgroup writeback the kernel charged to blkcg 33 (the DB container on a v2 host)
      rec(
        {
          tgid: 0,
          comm: 'kworker/u4:1',
          blkcg: 33n,
          submitter: 7,
          dev: LOOP,
          sbDev: LOOP,
          ino: 16n,
          flags: W | IOF.WRITEBACK | IOF.BLKCG | IOF.KTHREAD,
        },
        { ios: 2, bytes: 2 * MiB, q2cMs: 6, d2cMs: 5 }
      ),
      // journal writes by jbd2: metadata, its own
      rec(
        { tgid: 9, comm: 'jbd2/loop3-8', dev: LOOP, flags: W | IOF.META | IOF.WRITEBACK | IOF.KTHREAD },
        { ios: 4, bytes: MiB, q2cMs: 1, d2cMs: 1 }
      ),
      // a reader in WEB only hitting the page cache of a file on the loop fs
      rec({ tgid: 300, comm: 'cat', cgroup: 11n, sbDev: LOOP, ino: 17n, flags: IOF.FS }, { ios: 10, bytes: 4 * MiB }),
      // btrfs on vda1 (anonymous s_dev): the reads reached vda1, the page-cache record has only s_dev
      rec(
        { tgid: 400, comm: 'db', dev: VDA1, sbDev: BTRFS, ino: 20n, flags: 0 },
        { ios: 5, bytes: 5 * 4096, q2cMs: 1, d2cMs: 1 }
      ),
      rec({ tgid: 400, comm: 'db', sbDev: BTRFS, ino: 20n, flags: IOF.FS }, { ios: 5, bytes: 7 * 4096 }),
      // someone on tmpfs (not a block device, no block IO): never in a device's scope
      rec({ tgid: 500, comm: 'shm', sbDev: kdev(0, 27), ino: 30n, flags: IOF.FS | W }, { ios: 1, bytes: 99 * MiB }),
    ],
    stalls: [
      {
        tid: 101,
        tgid: 100,
        comm: 'fio',
        waitNs: 250e6,
        cgroup: 11n,
        stack: [0xffffffff81000010n, 0xffffffff81000020n],
        stillWaiting: false,
      },
      {
        tid: 201,
        tgid: 200,
        comm: 'writer',
        waitNs: 900e6,
        cgroup: 22n,
        stack: [0xffffffff81000030n],
        stillWaiting: true,
      },
    ],
  };
}

function input(over: Partial<ReportInput> = {}): ReportInput {
  const rates = (name: string, major: number, minor: number, w: number): DiskIoRates => ({
    name,
    major,
    minor,
    readIops: 0.5,
    writeIops: w,
    readBytesPerSec: 2048,
    writeBytesPerSec: w * 4096,
    readAwaitMs: 1,
    writeAwaitMs: 14.75,
    utilPercent: 97,
    avgQueueSize: 3,
    avgRequestBytes: 4096,
    discardIops: 0,
    inFlight: 0,
  });
  return {
    window: window(),
    durationMs: 2000,
    scope: new Set(['loop3']),
    devices,
    diskstats: new Map([
      ['loop3', rates('loop3', 7, 3, 2)],
      ['vda', rates('vda', 254, 0, 1)],
    ]),
    topProcesses: 10,
    topFiles: 5,
    buckets: 'log2',
    resolve: {
      process: (pid, comm) =>
        pid === 100
          ? { comm: 'fio', command: 'fio --name=w', container: WEB }
          : pid === 7 && (comm === '' || comm.startsWith('kworker'))
            ? { comm: 'kworker/u4:1-flush-7:3', command: '[kworker/u4:1-flush-7:3]', container: null }
            : null,
      container: (ids) => (ids.cgroup === 11n ? WEB : ids.cgroup === 22n || ids.blkcg === 33n ? DB : null),
      path: (sbDev, ino): ResolvedPath => ({
        path: `/mnt/x/f${ino}`,
        source: 'mountinfo',
        mountPoint: '/mnt/x',
        fsType: 'ext4',
        deleted: false,
        truncated: sbDev === 0,
      }),
      symbol: (a) => `fn_${a.toString(16).slice(-2)}`,
    },
    ...over,
  };
}

test('processes: direct IO counts at both levels, ranked by disk bytes, with latency and files', () => {
  const r = buildIoReport(input());
  assert.deepEqual(
    r.processes.map((p) => `${p.comm}:${p.pid}:${p.owner}`),
    [
      'fio:100:process',
      'writer:200:process',
      'kworker/u4:1-flush-7:3:7:unknown',
      '(writeback):null:cgroup',
      'jbd2/loop3-8:9:process',
      'cat:300:process',
    ]
  );
  const fio = r.processes[0]!;
  assert.equal(fio.command, 'fio --name=w');
  assert.equal(fio.container?.id, WEB.id);
  assert.equal(fio.exited, false);
  assert.equal(fio.diskWriteBps, 20 * MiB);
  assert.equal(fio.writeBps, 20 * MiB, 'direct writes are also filesystem writes');
  assert.equal(fio.diskReadBps, 5 * MiB);
  assert.equal(fio.writeOps, 40);
  assert.equal(fio.q2cUs, 2600); // (40×3 ms + 10×1 ms) / 50
  assert.equal(fio.maxQ2cUs, 6000);
  assert.deepEqual(
    fio.files.map((f) => [f.path, f.direct, f.device, f.devNo, f.inode, f.kind]),
    [
      ['/mnt/x/f12', true, 'loop3', '7:3', 12, 'file'],
      ['/mnt/x/f13', true, 'loop3', '7:3', 13, 'file'],
    ]
  );
  assert.equal(fio.files[0]!.d2cUs, 2000);
  assert.equal(r.processes.find((p) => p.comm === 'jbd2/loop3-8')!.files[0]!.path, '/dev/loop3');
});

test('writeback: charged to the dirtier with the flusher named; unknown owners stay with the flusher, labelled; cgroup writeback', () => {
  const r = buildIoReport(input());
  const writer = r.processes.find((p) => p.pid === 200)!;
  assert.equal(writer.exited, true);
  assert.equal(writer.container?.id, DB.id, 'container from the recorded cgroup id');
  assert.equal(writer.writeback, true);
  assert.equal(writer.writeBps, 4 * MiB, 'pages dirtied');
  assert.equal(writer.diskWriteBps, 3 * MiB, 'written back for it');
  const f = writer.files[0]!;
  assert.deepEqual([f.path, f.writeback, f.chargedVia, f.direct], ['/mnt/x/f14', true, 'dirtier', false]);
  assert.deepEqual(f.submittedBy, [{ pid: 7, comm: 'kworker/u4:1' }]);
  const wb = r.processes.find((p) => p.owner === 'unknown')!;
  assert.equal(wb.writeback, true);
  assert.match(wb.label!, /owner unknown/);
  assert.deepEqual(
    wb.files.map((x) => [x.path, x.chargedVia, x.inode]),
    [['/mnt/x/f15', 'flusher', 15]]
  );
  const cg = r.processes.find((p) => p.owner === 'cgroup')!;
  assert.equal(cg.pid, null);
  assert.equal(cg.container?.id, DB.id);
  assert.equal(cg.files[0]!.chargedVia, 'cgroup');
});

test('scope: other disks and non-block filesystems are left out; a btrfs filesystem is in scope through its block IO', () => {
  const loop = buildIoReport(input());
  assert.ok(!loop.processes.some((p) => p.comm === 'db' || p.comm === 'shm'));
  assert.deepEqual(
    loop.devices.map((d) => d.device),
    ['loop3']
  );
  const vda = buildIoReport(input({ scope: new Set(['vda']) }));
  const db = vda.processes.find((p) => p.comm === 'db')!;
  assert.equal(db.readBps, Math.round((7 * 4096) / 2), 'page-cache reads of the btrfs file');
  assert.equal(db.diskReadBps, Math.round((5 * 4096) / 2));
  assert.equal(db.files.length, 1, 'fs and block records of one file merge');
  assert.equal(db.files[0]!.device, 'vda1');
  assert.ok(!vda.processes.some((p) => p.comm === 'shm' || p.comm === 'fio'));
  const all = buildIoReport(input({ scope: null }));
  assert.ok(all.processes.some((p) => p.comm === 'shm'));
  assert.deepEqual(
    all.devices.map((d) => d.device),
    ['loop3', 'vda'],
    'busiest first'
  );
});

test('containers total every process in scope; top-N limits only the process list', () => {
  const r = buildIoReport(input({ topProcesses: 1, topFiles: 1 }));
  assert.equal(r.processes.length, 1);
  assert.equal(r.processes[0]!.files.length, 1);
  assert.equal(r.processes[0]!.fileCount, 2);
  const web = r.containers.find((c) => c.container?.id === WEB.id)!;
  assert.equal(web.processes, 2, 'fio and cat');
  assert.equal(web.readBps, 5 * MiB + 2 * MiB);
  const db = r.containers.find((c) => c.container?.id === DB.id)!;
  assert.equal(db.processes, 2, 'the writer and the cgroup writeback');
  assert.equal(db.diskWriteBps, 3 * MiB + 1 * MiB);
  assert.ok(
    r.containers.some((c) => c.container === null),
    'host processes'
  );
  assert.equal(r.containers[0]!.container?.id, WEB.id, 'ranked by disk bytes');
});

test('devices, histograms and stalls', () => {
  const r = buildIoReport(input());
  const d = r.devices[0]!;
  assert.equal(d.diskstats?.writeAwaitMs, 14.75);
  assert.equal(d.traced.write.ios, 4);
  assert.equal(d.traced.write.q2cAvgUs, 14750);
  assert.equal(d.traced.write.d2cAvgUs, 7375);
  assert.equal(d.traced.write.queueAvgUs, 7375);
  assert.equal(d.traced.write.q2cMaxUs, 50000);
  assert.equal(d.traced.write.iops, 2);
  assert.ok(d.traced.write.q2cP99Us! >= 32768, 'p99 in the 50 ms bucket');
  assert.equal(d.traced.read.ios, 1);
  const h = r.histograms.find((x) => x.op === 'write')!;
  assert.equal(h.count, 4);
  assert.deepEqual(
    h.q2c.map((b) => [b.lowUs, b.count]),
    [
      [1024, 1],
      [2048, 2],
      [32768, 1],
    ]
  );
  assert.equal(r.histograms.length, 2);
  assert.equal(r.stallCount, 2);
  assert.deepEqual(
    r.stalls.map((s) => [s.pid, s.waitMs, s.stillWaiting, s.stack]),
    [
      [200, 900, true, ['fn_30']],
      [100, 250, false, ['fn_10', 'fn_20']],
    ]
  );
  assert.equal(r.stalls[0]!.container?.id, DB.id);
  assert.equal(r.stalls[1]!.container?.id, WEB.id);
});
