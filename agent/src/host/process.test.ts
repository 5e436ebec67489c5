import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURE_HOSTS } from '../../../test/fixtures/hosts/hosts';
import {
  displayCommand,
  listPids,
  listThreads,
  pageSize,
  parseCmdline,
  parsePidStat,
  parseProcCgroup,
  readPidCgroup,
  readPidCmdline,
  readPidStat,
  readPidStatus,
  readPidWchan,
  readProcessInfo,
} from './process';

const V1 = FIXTURE_HOSTS.v1;

test('stat: comm with spaces and parentheses is parsed from the last ")"', () => {
  const s = readPidStat(1502, V1);
  assert.ok(s);
  assert.equal(s.comm, 'a) (b c');
  assert.equal(s.state, 'R');
  assert.equal(s.ppid, 1501);
  assert.equal(s.utime, 4321);
  assert.equal(s.stime, 765);
  assert.equal(s.numThreads, 1);
  assert.equal(s.rssPages, 3802);
  assert.equal(s.processor, 3);
  assert.equal(s.starttime, 25);
  assert.equal(readPidStat(1402, V1)?.comm, '(sd-pam)');
  const odd = parsePidStat('77 ()) ) S 1 77 77 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 99 0 0');
  assert.equal(odd?.comm, ')) ');
  assert.equal(odd?.utime, 5);
  assert.equal(odd?.processor, null, 'short lines have no processor field');
  assert.equal(parsePidStat(''), null);
  assert.equal(parsePidStat('12 (x'), null);
});

test('stat of threads and a D-state task; wchan', () => {
  assert.deepEqual(listThreads(3101, V1), [3101, 3102, 3103]);
  const t = readPidStat(3101, V1, 3103);
  assert.equal(t?.pid, 3103);
  assert.equal(t?.state, 'D');
  assert.equal(t?.comm, 'C2 CompilerThre');
  assert.equal(t?.blkioTicks, 240);
  assert.equal(readPidWchan(3101, V1, 3103), 'folio_wait_bit_common');
  assert.equal(readPidStat(3101, V1)?.numThreads, 3);
  assert.equal(readPidWchan(1502, V1), null, 'a running task has no wchan ("0")');
  assert.equal(readPidWchan(4101, V1), 'io_schedule');
});

test('status: kB values in bytes, threads, uid, innermost NSpid; kernel threads and zombies have no Vm lines', () => {
  const s = readPidStatus(3101, V1);
  assert.ok(s);
  assert.equal(s.name, 'java');
  assert.equal(s.vmRSS, 262144 * 4096);
  assert.equal((s.rssAnon ?? 0) + (s.rssFile ?? 0), s.vmRSS);
  assert.equal(s.vmSwap, 0);
  assert.equal(s.threads, 3);
  assert.equal(s.nsPid, 1, 'pid 1 inside its container');
  assert.equal(s.ppid, 3090);
  const bash = readPidStatus(1501, V1);
  assert.deepEqual(bash?.uid, [1000, 1000, 1000, 1000]);
  const kworker = readPidStatus(18, V1);
  assert.equal(kworker?.vmRSS, null);
  assert.equal(kworker?.raw.Kthread, 1);
  assert.equal(readPidStatus(2200, V1)?.state, 'Z');
  assert.equal(readPidStatus(2200, V1)?.vmRSS, null);
});

test('cmdline: NUL-separated argv and a display string; kernel threads show [comm]', () => {
  assert.deepEqual(readPidCmdline(1502, V1), ['./a) (b c', '--flag', 'two words']);
  assert.deepEqual(readPidCmdline(18, V1), []);
  assert.deepEqual(parseCmdline('a\0b'), ['a', 'b'], 'no trailing NUL (setproctitle)');
  assert.deepEqual(parseCmdline('a\0\0b\0'), ['a', '', 'b']);
  assert.equal(displayCommand(['java', '-jar', 'x.jar'], 'java'), 'java -jar x.jar');
  assert.equal(displayCommand([], 'kworker/0:1H'), '[kworker/0:1H]');
  assert.equal(displayCommand(['x'.repeat(100)], 'x', 10).length, 10);
  const info = readProcessInfo(18, V1);
  assert.equal(info?.command, '[kworker/0:1H-kblockd]');
});

test('/proc/PID/cgroup: v1 lines with co-mounted controllers, v2 0:: line', () => {
  const v1 = readPidCgroup(2101, V1);
  assert.ok(v1);
  const cpu = v1.find((l) => l.controllers.includes('cpu'));
  assert.deepEqual(cpu?.controllers, ['cpuacct', 'cpu']);
  assert.equal(cpu?.hierarchyId, 2);
  assert.match(cpu?.path ?? '', /^\/docker\/[0-9a-f]{64}$/);
  assert.deepEqual(v1.find((l) => l.hierarchyId === 1)?.controllers, ['name=systemd']);
  const v2 = readPidCgroup(1501, FIXTURE_HOSTS.v2);
  assert.deepEqual(v2, [{ hierarchyId: 0, controllers: [], path: '/user.slice/user-1000.slice/session-4.scope' }]);
  // A path may contain ':' (only the first two separate fields).
  assert.deepEqual(parseProcCgroup('0::/a:b\n'), [{ hierarchyId: 0, controllers: [], path: '/a:b' }]);
});

test('pid listing and missing processes read as null', () => {
  assert.deepEqual(listPids(V1), [1, 18, 801, 901, 1402, 1501, 1502, 2101, 2102, 2200, 3101, 4101, 5090, 5101]);
  assert.equal(readPidStat(99999, V1), null);
  assert.equal(readPidStatus(99999, V1), null);
  assert.equal(readPidCmdline(99999, V1), null);
  assert.equal(readPidCgroup(99999, V1), null);
  assert.equal(listThreads(99999, V1), null);
  assert.equal(readProcessInfo(99999, V1), null);
});

test('live: this process', () => {
  const s = readPidStat(process.pid);
  assert.ok(s);
  assert.equal(s.ppid, process.ppid);
  assert.ok(s.numThreads > 1, 'node runs worker threads');
  const threads = listThreads(process.pid);
  assert.ok(threads?.includes(process.pid));
  const st = readPidStatus(process.pid);
  assert.ok(st?.vmRSS);
  // stat's rss pages and status' VmRSS describe the same thing (they may move a little between reads).
  const rssFromStat = s.rssPages * pageSize();
  assert.ok(Math.abs(rssFromStat - st.vmRSS) / st.vmRSS < 0.2, `${rssFromStat} vs ${st.vmRSS}`);
  assert.deepEqual(readPidCmdline(process.pid), [process.execPath, ...process.execArgv, ...process.argv.slice(1)]);
  assert.ok(readPidCgroup(process.pid)?.length);
  assert.ok(listPids().includes(process.pid));
});

test('live: a real comm with spaces and parentheses, and a process that exits is skipped, not thrown', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'proc-test-'));
  const exe = join(dir, 's) (x y');
  copyFileSync('/bin/sleep', exe);
  const child = spawn(exe, ['30'], { stdio: 'ignore' });
  try {
    const pid = child.pid as number;
    let s = readPidStat(pid);
    for (let i = 0; i < 100 && (s?.comm !== 's) (x y' || s.state !== 'S'); i++) {
      await new Promise((r) => setTimeout(r, 10));
      s = readPidStat(pid);
    }
    assert.equal(s?.comm, 's) (x y');
    assert.equal(s?.state, 'S', 'sleep(1) sleeps');
    assert.deepEqual(readPidCmdline(pid), [exe, '30']);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    // Reaped: every reader gives null, and a sweep over all pids still completes.
    assert.equal(readPidStat(pid), null);
    assert.equal(readPidStatus(pid), null);
    assert.equal(readProcessInfo(pid), null);
    const infos = listPids().map((p) => readProcessInfo(p));
    assert.ok(infos.some((i) => i?.pid === process.pid));
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
