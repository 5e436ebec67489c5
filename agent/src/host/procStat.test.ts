import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { test } from 'node:test';
import { FIXTURE_HOSTS } from '../../../test/fixtures/hosts/hosts';
import { cpuTimesPercent, parseProcStat, procStatPercent, readProcStat, type CpuTimes } from './procStat';

const zero: CpuTimes = {
  user: 0,
  nice: 0,
  system: 0,
  idle: 0,
  iowait: 0,
  irq: 0,
  softirq: 0,
  steal: 0,
  guest: 0,
  guestNice: 0,
};
const t = (o: Partial<CpuTimes>): CpuTimes => ({ ...zero, ...o });

test('parses the fixture /proc/stat: total, per CPU, counters', () => {
  const s = readProcStat(FIXTURE_HOSTS.v1);
  assert.equal(s.cpus.size, 4);
  assert.deepEqual([...s.cpus.keys()], [0, 1, 2, 3]);
  // The aggregate line is the sum of the per-CPU lines.
  const sumSystem = [...s.cpus.values()].reduce((a, c) => a + c.system, 0);
  assert.equal(s.total.system, sumSystem);
  assert.equal(s.total.user, 22857);
  assert.equal(s.ctxt, 761790);
  assert.equal(s.btime, 1795896887);
  assert.equal(s.procsRunning, 3);
  assert.equal(s.procsBlocked, 1);
  assert.equal(s.processes, 8895);
});

test('old kernels with fewer columns leave the missing counters at 0', () => {
  const s = parseProcStat('cpu  10 0 20 300 4 0 1\ncpu0 10 0 20 300 4 0 1\nctxt 5\n');
  assert.equal(s.total.softirq, 1);
  assert.equal(s.total.steal, 0);
  assert.equal(s.total.guestNice, 0);
  assert.equal(s.btime, null);
});

test('a /proc/stat without the aggregate line is an error', () => {
  assert.throws(() => parseProcStat('intr 1 2\nctxt 3\n'), /no aggregate/);
});

test("sys% is Huatuo's 100·Δsystem/Δtotal over the first eight counters (guest is not added again)", () => {
  const prev = t({ user: 1000, system: 500, idle: 8000, iowait: 100, irq: 10, softirq: 20, steal: 5, guest: 300 });
  // +200 user (of which 100 guest), +300 system, +450 idle, +20 iowait, +10 irq, +15 softirq, +5 steal = 1000 ticks
  const cur = t({ user: 1200, system: 800, idle: 8450, iowait: 120, irq: 20, softirq: 35, steal: 10, guest: 400 });
  const p = cpuTimesPercent(prev, cur);
  assert.ok(p);
  assert.equal(p.ticks, 1000);
  assert.equal(p.system, 30);
  assert.equal(p.user, 20);
  assert.equal(p.idle, 45);
  assert.equal(p.iowait, 2);
  assert.equal(p.irq, 1);
  assert.equal(p.softirq, 1.5);
  assert.equal(p.steal, 0.5);
  assert.equal(p.busy, 53);
});

test('no elapsed time or a counter going backwards gives null; a backwards iowait is tolerated', () => {
  const a = t({ user: 10, system: 10, idle: 80, iowait: 50 });
  assert.equal(cpuTimesPercent(a, a), null);
  assert.equal(cpuTimesPercent(a, t({ user: 5, system: 20, idle: 200 })), null);
  const p = cpuTimesPercent(a, t({ user: 20, system: 20, idle: 160, iowait: 40 }));
  assert.ok(p);
  assert.equal(p.ticks, 100);
  assert.equal(p.iowait, 0);
  assert.equal(p.idle, 80);
});

test('procStatPercent gives per-CPU shares for CPUs present in both samples, and ctxt/s', () => {
  const prev = parseProcStat('cpu 0 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\nctxt 100\n');
  const cur = parseProcStat(
    'cpu 50 0 100 50 0 0 0 0 0 0\ncpu0 0 0 100 0 0 0 0 0 0 0\ncpu2 50 0 0 50 0 0 0 0 0 0\nctxt 600\n'
  );
  const p = procStatPercent(prev, cur, 500);
  assert.equal(p.total?.system, 50);
  assert.deepEqual([...p.cpus.keys()], [0]);
  assert.equal(p.cpus.get(0)?.system, 100);
  assert.equal(p.ctxtPerSec, 1000);
});

test('live /proc/stat: one line per online CPU, and shares of two samples add up to 100', async () => {
  const a = readProcStat();
  assert.equal(a.cpus.size, cpus().length);
  assert.ok(a.btime !== null && a.btime > 1e9);
  const end = Date.now() + 60;
  while (Date.now() < end) {
    /* burn ~60 ms so some ticks pass */
  }
  await new Promise((r) => setTimeout(r, 30));
  const b = readProcStat();
  assert.ok(b.ctxt !== null && a.ctxt !== null && b.ctxt >= a.ctxt);
  const p = cpuTimesPercent(a.total, b.total);
  assert.ok(p, 'ticks should have elapsed');
  const sum = p.user + p.nice + p.system + p.idle + p.iowait + p.irq + p.softirq + p.steal;
  assert.ok(Math.abs(sum - 100) < 1e-9, `sum ${sum}`);
  assert.ok(p.user + p.system > 0, 'the busy loop used CPU');
});
