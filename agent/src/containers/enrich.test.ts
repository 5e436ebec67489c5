import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ContainerRef } from '../events/event';
import { DockerClient, parseDockerContainers } from './docker';
import { ContainerEnricher } from './enrich';
import { identify } from './identify';
import { KubeletClient, parseKubeletPods } from './kubelet';

const DOCKER_ID = '4e7d912fd6788b3f2fa2968e1e1f2e737bab4bd782c6f906952f5870492ce4a2';
const K8S_ID = '34ddcac91f4bceefc4e58377d402dc325255d7df7870b24136275c8ebcc12af4';
const POD_UID = '8c3b3e4a-1c5e-4f8f-9d1e-2b7a6f0c9e11';

const DOCKER_BODY = [
  {
    Id: DOCKER_ID,
    Names: ['/web-1'],
    Image: 'nginx:1.27',
    State: 'running',
    Labels: { 'com.docker.compose.service': 'web' },
  },
  {
    Id: K8S_ID,
    Names: ['/k8s_api_api-7d9c_shop_8c3b3e4a_0'],
    Image: 'registry.local/api@sha256:abc',
    State: 'running',
    Labels: {
      'io.kubernetes.container.name': 'api',
      'io.kubernetes.pod.name': 'api-7d9c',
      'io.kubernetes.pod.namespace': 'shop',
      'io.kubernetes.pod.uid': POD_UID,
    },
  },
  { Names: ['/no-id'] },
];

let dir = '';
let socketPath = '';
let server: http.Server;
let hits = 0;
let mode: 'ok' | 'hang' | 'error' = 'ok';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'docker-sock-'));
  socketPath = join(dir, 'docker.sock');
  server = http.createServer((req, res) => {
    hits++;
    if (mode === 'hang') return; // never answers
    if (mode === 'error' || req.url !== '/containers/json') {
      res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"message":"boom"}');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(DOCKER_BODY));
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

test('parses /containers/json', () => {
  const m = parseDockerContainers(DOCKER_BODY);
  assert.equal(m.size, 2);
  assert.deepEqual(m.get(DOCKER_ID), {
    id: DOCKER_ID,
    name: 'web-1',
    image: 'nginx:1.27',
    state: 'running',
    labels: { 'com.docker.compose.service': 'web' },
  });
  assert.throws(() => parseDockerContainers({ message: 'x' }));
});

test('docker over a unix socket: names, and Kubernetes labels for pod and namespace', async () => {
  mode = 'ok';
  const enricher = new ContainerEnricher({ docker: { socketPath } });
  const plain = identify(`/system.slice/docker-${DOCKER_ID}.scope`) as ContainerRef;
  // A CRI-dockerd container seen through a cgroupfs kubepods path: the path alone guesses containerd.
  const k8s = identify(`/kubepods/burstable/pod${POD_UID}/${K8S_ID}`) as ContainerRef;
  assert.equal(k8s.runtime, 'containerd');
  const unknown = identify(`/docker/${'f'.repeat(64)}`) as ContainerRef;
  const { refs, reasons } = await enricher.enrich([plain, k8s, unknown]);
  assert.deepEqual(reasons, []);
  assert.deepEqual(refs[0], { ...plain, name: 'web-1' });
  assert.deepEqual(refs[1], { ...k8s, runtime: 'docker', name: 'api', pod: 'api-7d9c', namespace: 'shop' });
  assert.deepEqual(refs[2], unknown, 'a container docker does not know stays as it was');
  assert.equal(await enricher.enrichOne(null), null);
});

test('docker results are cached for the TTL, then refetched', async () => {
  mode = 'ok';
  let now = 1_000_000;
  const client = new DockerClient({ socketPath, ttlMs: 5000, now: () => now });
  const before = hits;
  const [a, b] = await Promise.all([client.containers(), client.containers()]);
  assert.ok(a.ok && b.ok);
  assert.equal(hits - before, 1, 'concurrent callers share one request');
  now += 4000;
  await client.containers();
  assert.equal(hits - before, 1, 'still fresh');
  now += 2000;
  await client.containers();
  assert.equal(hits - before, 2, 'stale → refetched');
});

test('docker failures are reasons, never exceptions: missing socket, HTTP error, timeout', async () => {
  const missing = await new DockerClient({ socketPath: join(dir, 'nope.sock') }).containers();
  assert.equal(missing.ok, false);
  assert.match(missing.ok ? '' : missing.reason, /ENOENT/);

  mode = 'error';
  const err = await new DockerClient({ socketPath }).containers();
  assert.match(err.ok ? '' : err.reason, /HTTP 500/);

  mode = 'hang';
  const t0 = Date.now();
  const slow = await new DockerClient({ socketPath, timeoutMs: 150 }).containers();
  assert.match(slow.ok ? '' : slow.reason, /timeout after 150 ms/);
  assert.ok(Date.now() - t0 < 1000, 'gave up quickly');

  const logs: string[] = [];
  const enricher = new ContainerEnricher({ docker: { socketPath, timeoutMs: 100 }, log: (m) => logs.push(m) });
  const ref = identify(`/docker/${DOCKER_ID}`) as ContainerRef;
  const r = await enricher.enrich([ref]);
  assert.deepEqual(r.refs, [ref]);
  assert.equal(r.reasons.length, 1);
  assert.equal(logs.length, 1);
  mode = 'ok';
});

test('no sources: refs unchanged, no reasons', async () => {
  const ref = identify(`/docker/${DOCKER_ID}`) as ContainerRef;
  const r = await new ContainerEnricher({ docker: false }).enrich([ref]);
  assert.deepEqual(r, { refs: [ref], reasons: [] });
});

const POD_LIST = {
  kind: 'PodList',
  apiVersion: 'v1',
  items: [
    {
      metadata: { name: 'api-7d9c', namespace: 'shop', uid: POD_UID },
      status: {
        qosClass: 'Burstable',
        containerStatuses: [{ name: 'api', containerID: `containerd://${K8S_ID}` }],
        initContainerStatuses: [{ name: 'migrate', containerID: `containerd://${'a'.repeat(64)}` }],
      },
    },
    {
      metadata: { name: 'cache-0', namespace: 'shop', uid: '0d5f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b' },
      status: {
        qosClass: 'BestEffort',
        containerStatuses: [{ name: 'redis', containerID: `cri-o://${'b'.repeat(64)}` }, { name: 'pending' }],
      },
    },
  ],
};

test('parses the kubelet pod list', () => {
  const p = parseKubeletPods(POD_LIST);
  assert.equal(p.pods.size, 2);
  assert.equal(p.containers.size, 3);
  assert.deepEqual(p.containers.get('b'.repeat(64))?.runtime, 'crio');
  assert.equal(p.containers.get('a'.repeat(64))?.name, 'migrate');
  assert.equal(p.pods.get(POD_UID)?.qos, 'burstable');
});

test('kubelet: bearer token from a file, pod and container names applied', async () => {
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 's3cret\n');
  let auth: string | undefined;
  const kubelet = http.createServer((req, res) => {
    auth = req.headers.authorization;
    if (req.url !== '/pods') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(POD_LIST));
  });
  await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(kubelet.address() as AddressInfo).port}/pods`;
    const enricher = new ContainerEnricher({ docker: false, kubelet: { url, tokenFile } });
    const ctr = identify(
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID.replace(/-/g, '_')}.slice/cri-containerd-${K8S_ID}.scope`
    ) as ContainerRef;
    const pod = identify(`/kubepods/burstable/pod${POD_UID}`) as ContainerRef;
    const { refs, reasons } = await enricher.enrich([ctr, pod]);
    assert.deepEqual(reasons, []);
    assert.equal(auth, 'Bearer s3cret');
    assert.deepEqual(refs[0], { ...ctr, name: 'api', pod: 'api-7d9c', namespace: 'shop' });
    assert.deepEqual(refs[1], { ...pod, name: 'api-7d9c', pod: 'api-7d9c', namespace: 'shop' });

    const bad = await new KubeletClient({ url: url.replace('/pods', '/nope'), tokenFile: null }).pods();
    assert.match(bad.ok ? '' : bad.reason, /HTTP 404/);
    const noToken = await new KubeletClient({ url, tokenFile: join(dir, 'missing-token') }).pods();
    assert.match(noToken.ok ? '' : noToken.reason, /ENOENT/);
  } finally {
    kubelet.closeAllConnections();
    await new Promise((r) => kubelet.close(r));
  }
});
