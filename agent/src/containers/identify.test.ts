import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroupRef, identify, identifyCgroup, normalizeCgroupPath } from './identify';

const ID = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ID2 = '4e7d912fd6788b3f2fa2968e1e1f2e737bab4bd782c6f906952f5870492ce4a2';
const UID = '8c3b3e4a-1c5e-4f8f-9d1e-2b7a6f0c9e11';
const UID_ = UID.replace(/-/g, '_');

interface Want {
  kind: 'container' | 'pod' | 'unit';
  id: string;
  runtime: string;
  qos?: string | null;
  podUid?: string | null;
}

const CASES: Array<[string, Want | null]> = [
  // docker
  [`/docker/${ID}`, { kind: 'container', id: ID, runtime: 'docker' }],
  [`/system.slice/docker-${ID}.scope`, { kind: 'container', id: ID, runtime: 'docker' }],
  // containerd under kubepods, systemd driver
  [
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    { kind: 'container', id: ID, runtime: 'containerd', qos: 'burstable', podUid: UID },
  ],
  [
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    { kind: 'container', id: ID, runtime: 'containerd', qos: 'besteffort', podUid: UID },
  ],
  [
    `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    { kind: 'container', id: ID, runtime: 'containerd', qos: 'guaranteed', podUid: UID },
  ],
  // containerd under kubepods, cgroupfs driver
  [
    `/kubepods/burstable/pod${UID}/${ID}`,
    { kind: 'container', id: ID, runtime: 'containerd', qos: 'burstable', podUid: UID },
  ],
  [
    `/kubepods/besteffort/pod${UID}/${ID}`,
    { kind: 'container', id: ID, runtime: 'containerd', qos: 'besteffort', podUid: UID },
  ],
  [`/kubepods/pod${UID}/${ID}`, { kind: 'container', id: ID, runtime: 'containerd', qos: 'guaranteed', podUid: UID }],
  // CRI-O (systemd and cgroupfs drivers); its conmon scope belongs to the pod, not to the container
  [
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope`,
    { kind: 'container', id: ID, runtime: 'crio', qos: 'besteffort', podUid: UID },
  ],
  [
    `/kubepods/burstable/pod${UID}/crio-${ID}`,
    { kind: 'container', id: ID, runtime: 'crio', qos: 'burstable', podUid: UID },
  ],
  [
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-conmon-${ID}.scope`,
    { kind: 'pod', id: UID, runtime: 'kubepods', qos: 'besteffort', podUid: UID },
  ],
  // podman, rootful and rootless; its conmon is not the container
  [`/machine.slice/libpod-${ID}.scope`, { kind: 'container', id: ID, runtime: 'podman' }],
  [
    `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`,
    { kind: 'container', id: ID, runtime: 'podman' },
  ],
  [`/machine.slice/libpod-conmon-${ID}.scope`, { kind: 'unit', id: `libpod-conmon-${ID}.scope`, runtime: 'systemd' }],
  // pod-level cgroups
  [
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`,
    { kind: 'pod', id: UID, runtime: 'kubepods', qos: 'burstable', podUid: UID },
  ],
  [`/kubepods/pod${UID}`, { kind: 'pod', id: UID, runtime: 'kubepods', qos: 'guaranteed', podUid: UID }],
  // static pods have a 32-hex uid (a hash), no dashes
  [
    `/kubepods/burstable/podd41d8cd98f00b204e9800998ecf8427e/${ID}`,
    { kind: 'container', id: ID, runtime: 'containerd', qos: 'burstable', podUid: 'd41d8cd98f00b204e9800998ecf8427e' },
  ],
  // kind / k3s-in-docker: --cgroup-root puts the kubelet's slices under kubelet.slice; innermost container wins
  [
    `/docker/${ID2}/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    { kind: 'container', id: ID, runtime: 'containerd', qos: 'besteffort', podUid: UID },
  ],
  [`/docker/${ID2}/system.slice/containerd.service`, { kind: 'container', id: ID2, runtime: 'docker' }],
  [`/docker/${ID2}/docker/${ID}`, { kind: 'container', id: ID, runtime: 'docker' }],
  // systemd units
  ['/system.slice/sshd.service', { kind: 'unit', id: 'sshd.service', runtime: 'systemd' }],
  ['/user.slice/user-1000.slice/session-4.scope', { kind: 'unit', id: 'session-4.scope', runtime: 'systemd' }],
  [
    '/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-4242.scope',
    { kind: 'unit', id: 'app-gnome-firefox-4242.scope', runtime: 'systemd' },
  ],
  ['/init.scope', { kind: 'unit', id: 'init.scope', runtime: 'systemd' }],
  // a bare 64-hex id under an unknown parent: a container whose runtime the path does not tell
  [`/custom-parent/${ID}`, { kind: 'container', id: ID, runtime: 'cgroup' }],
  // not containers
  ['/', null],
  ['', null],
  ['/system.slice', null],
  ['/user.slice/user-1000.slice', null],
  ['/kubepods.slice', null],
  ['/kubepods.slice/kubepods-burstable.slice', null],
  ['/kubepods/burstable', null],
  ['/docker', null],
  ['/docker/abc123', null],
  [`/docker/${ID.toUpperCase()}`, null],
  [`/pod${UID}/${ID.slice(1)}`, null],
  ['/process_api/29837f7358850dcef0c7ec1c51f6caf6', null],
];

for (const [path, want] of CASES) {
  test(`identify ${path || '(empty)'}`, () => {
    const got = identifyCgroup(path);
    if (want === null) {
      assert.equal(got, null);
      assert.equal(identify(path), null);
      return;
    }
    assert.ok(got, 'recognised');
    assert.equal(got.kind, want.kind);
    assert.equal(got.podUid, want.podUid ?? null);
    assert.deepEqual(got.ref, {
      id: want.id,
      name: null,
      runtime: want.runtime,
      pod: null,
      namespace: null,
      qos: want.qos ?? null,
      cgroup: normalizeCgroupPath(path),
    });
    assert.deepEqual(identify(path), got.ref);
  });
}

test('trailing and doubled slashes do not matter', () => {
  assert.equal(identify(`//docker//${ID}/`)?.id, ID);
  assert.equal(identify(`//docker//${ID}/`)?.cgroup, `/docker/${ID}`);
});

test('cgroupRef labels unknown non-root cgroups generically', () => {
  assert.deepEqual(cgroupRef('/process_api/x'), {
    id: '/process_api/x',
    name: null,
    runtime: 'cgroup',
    pod: null,
    namespace: null,
    qos: null,
    cgroup: '/process_api/x',
  });
  assert.equal(cgroupRef('/'), null);
  assert.equal(cgroupRef(`/docker/${ID}`)?.runtime, 'docker');
});

test('paths seen from a private cgroup namespace (a pod on a v2 node) lose their leading ups', () => {
  const id = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
  const ref = identify(
    `/../../kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/cri-containerd-${id}.scope`
  );
  assert.equal(ref?.id, id);
  assert.equal(
    ref?.cgroup,
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/cri-containerd-${id}.scope`
  );
});
