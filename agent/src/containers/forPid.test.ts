import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FIXTURE_HOSTS, IDS } from '../../../test/fixtures/hosts/hosts';
import { detectCgroupLayout } from '../host/cgroupLayout';
import { parseProcCgroup } from '../host/process';
import { containerForPid, identifyFromLines, identifyPid } from './forPid';

const hosts = ['v1', 'v2', 'hybrid'] as const;

for (const host of hosts) {
  const root = FIXTURE_HOSTS[host];
  const layout = detectCgroupLayout(root);

  test(`${host}: processes map to their containers, pods and units`, () => {
    const c = (pid: number) => containerForPid(pid, { root, layout });
    // docker A: cgroupfs driver on v1, systemd driver elsewhere
    assert.equal(c(2101)?.id, IDS.dockerA);
    assert.equal(c(2101)?.runtime, 'docker');
    assert.equal(c(2102)?.id, IDS.dockerA);
    assert.equal(c(2200)?.id, IDS.dockerA, 'a zombie still has its cgroup');
    // containerd B in a burstable pod
    const b = identifyPid(3101, { root, layout });
    assert.equal(b?.identity?.ref.id, IDS.ctrB);
    assert.equal(b?.identity?.ref.runtime, 'containerd');
    assert.equal(b?.identity?.ref.qos, 'burstable');
    assert.equal(b?.identity?.podUid, IDS.podB);
    // containerd C with the cgroupfs driver
    assert.equal(c(4101)?.id, IDS.ctrC);
    assert.equal(c(4101)?.qos, 'besteffort');
    // CRI-O E and its conmon (pod level)
    assert.equal(c(5101)?.runtime, 'crio');
    assert.equal(c(5101)?.id, IDS.crioE);
    assert.deepEqual([c(5090)?.runtime, c(5090)?.id], ['kubepods', IDS.podE]);
    // systemd units and host processes
    assert.equal(c(801)?.id, 'sshd.service');
    assert.equal(c(1502)?.id, 'session-4.scope');
    assert.equal(c(18), null, 'kernel thread in the root cgroup');
    assert.equal(c(424242), null, 'no such process');
  });
}

test('hybrid: the cpu line wins over a 0:: line that only names the shim’s unit (docker cgroupfs driver)', () => {
  const root = FIXTURE_HOSTS.hybrid;
  const r = identifyPid(2301, { root });
  assert.equal(r?.hierarchy, 'cpu');
  assert.equal(r?.identity?.ref.id, IDS.dockerB);
  assert.equal(r?.identity?.ref.runtime, 'docker');
  assert.equal(r?.cgroupPath, `/docker/${IDS.dockerB}`);
});

test('v2 takes the 0:: line; hybrid uses the 0:: line when every v1 line is the root', () => {
  const v2 = identifyPid(1501, { root: FIXTURE_HOSTS.v2 });
  assert.equal(v2?.hierarchy, 'unified');
  assert.equal(v2?.cgroupPath, '/user.slice/user-1000.slice/session-4.scope');
  const lines = parseProcCgroup(
    `9:name=systemd:/\n2:cpuacct:/\n1:cpu:/\n0::/system.slice/docker-${IDS.dockerA}.scope\n`
  );
  const r = identifyFromLines(lines, 'hybrid');
  assert.equal(r.choice?.hierarchy, 'unified');
  assert.equal(r.identity?.ref.id, IDS.dockerA);
  // Host process on hybrid: the preferred (cpu) line is reported even though it names nothing.
  const host = identifyFromLines(parseProcCgroup('1:cpu:/\n0::/init.scope\n'), 'hybrid');
  assert.equal(host.identity?.ref.id, 'init.scope');
  const none = identifyFromLines(parseProcCgroup('1:cpu:/\n0::/\n'), 'hybrid');
  assert.equal(none.identity, null);
  assert.equal(none.choice?.hierarchy, 'cpu');
});

test('v1 without a cpu line falls back to name=systemd', () => {
  const r = identifyFromLines(parseProcCgroup('3:memory:/\n1:name=systemd:/system.slice/cron.service\n'), 'v1');
  assert.equal(r.choice?.hierarchy, 'name=systemd');
  assert.equal(r.identity?.ref.id, 'cron.service');
});
