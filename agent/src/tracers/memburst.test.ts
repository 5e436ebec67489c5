// The memburst capture without BPF: process RSS from a scripted source, the window history from the
// tracer's detail, and the live meminfo/vmstat (whatever they are) for the host snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProcRssRecord } from '../bpf/memalloc';
import { CgroupIdResolver } from '../bpf/cgroupIds';
import { captureMemburst, type GrowerRow } from './memburst/capture';
import { toSnapshot, type RssSource } from './memburst/rss';
import type { HostMemSample } from './memburst/rules';
import { readMeminfo } from '../host/meminfo';
import { makeTestEnv } from '../../../test/helpers/tracerEnv';
import type { CaptureContext } from '../capture/manager';

const MiB = 1 << 20;
// pids above PID_MAX_LIMIT (4194304) so /proc has nothing for them (commands stay null)
const rec = (pid: number, mib: number, comm: string): ProcRssRecord => ({
  pid,
  startTime: 7n,
  comm,
  cgV1: 0n,
  cgDfl: 0n,
  rssBytes: mib * MiB,
  anonBytes: mib * MiB,
  fileBytes: 0,
  shmemBytes: 0,
  swapBytes: 0,
});

test('capture: growers ranked by growth since the window start, known at the trigger, exited ones kept', async () => {
  const env = makeTestEnv();
  try {
    const host = (at: number): HostMemSample => ({ at, meminfo: readMeminfo()!, vmstat: null, psi: null });
    const start = toSnapshot([
      rec(4_200_001, 4096, 'steady'),
      rec(4_200_002, 100, 'grower'),
      rec(4_200_003, 10, 'leaker'),
    ]);
    const trig = toSnapshot([
      rec(4_200_001, 4096, 'steady'),
      rec(4_200_002, 900, 'grower'),
      rec(4_200_003, 300, 'leaker'),
    ]);
    let calls = 0;
    const rss: RssSource = {
      source: 'proc',
      sweep: () => {
        calls++;
        // the leaker exits during the capture; the grower keeps growing
        return calls === 1
          ? [rec(4_200_001, 4096, 'steady'), rec(4_200_002, 1500, 'grower'), rec(4_200_003, 600, 'leaker')]
          : [rec(4_200_001, 4090, 'steady'), rec(4_200_002, 2100, 'grower')];
      },
      close: () => {},
    };
    const degraded: string[] = [];
    const ctx: CaptureContext = {
      eventId: 'x',
      type: 'memburst',
      durationMs: 1200,
      signal: new AbortController().signal,
      log: env.log,
      degrade: (r) => degraded.push(r),
      wait: (ms) => new Promise((r) => setTimeout(() => r(true), ms)),
    };
    const out = await captureMemburst(ctx, env, {
      rss,
      resolver: new CgroupIdResolver('memory'),
      detail: {
        windowStart: { host: host(1000), snap: start },
        trigger: { host: host(2000), snap: trig },
        lastSeen: trig,
        readings: [],
      },
      samplePeriod: MiB,
      topProcesses: 3,
      growthWindowMs: 10_000,
      manual: true,
      alloc: false,
    });
    assert.deepEqual(degraded, []);
    assert.ok(calls >= 2, 'RSS tracked during the window');
    const top = out.data.topGrowers as GrowerRow[];
    assert.deepEqual(
      top.map((g) => [g.comm, g.rssDeltaBytes / MiB, g.rssDeltaAtTriggerBytes! / MiB, g.exited]),
      [
        ['grower', 2000, 800, false],
        ['leaker', 590, 290, true],
        ['steady', -6, 0, false],
      ]
    );
    assert.equal(top[0]!.rank, 1);
    assert.equal(top[0]!.command, null);
    assert.equal(out.data.alloc, null);
    assert.match(out.summary, /^manual memburst capture: top grower grower\[4200002\] \+2000 MiB \(now 2100 MiB\)$/);
    const mi = (out.data.host as { meminfo: { key: string }[] }).meminfo;
    assert.ok(mi.some((m) => m.key === 'MemTotal'));
  } finally {
    await env.close();
  }
});
