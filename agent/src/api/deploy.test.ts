// deploy/ cannot be run here (no Docker, no Kubernetes, no systemd as PID 1). What can be checked is:
// the manifests parse and say what deploy/README.md promises, the configs pass the agent's own config
// loader, the three capability lists agree, and the unit passes `systemd-analyze verify`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseConfigText } from '../config';

/** The repository root, from agent/src/api (tsx) or build/agent/src/api (compiled). */
function repoRoot(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'deploy'))) return dir;
  }
  throw new Error('repository root not found');
}

const ROOT = repoRoot();
const DEPLOY = join(ROOT, 'deploy');
const CAPS = ['BPF', 'PERFMON', 'SYSLOG', 'SYS_PTRACE', 'DAC_READ_SEARCH', 'CHECKPOINT_RESTORE'];
const MAIN = '/opt/huatuo-agent/build/agent/src/cli/main.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => v as Obj;
const arr = (v: unknown): Obj[] => v as Obj[];

function yamlDocs(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const d of docs) {
    assert.deepEqual(
      d.errors.map((e) => e.message),
      [],
      `${file} parses`
    );
    assert.deepEqual(
      d.warnings.map((e) => e.message),
      [],
      `${file} without warnings`
    );
  }
  return docs.map((d) => d.toJS() as Obj);
}

function k8s(): Map<string, Obj> {
  const byKind = new Map<string, Obj>();
  for (const f of readdirSync(join(DEPLOY, 'kubernetes'))) {
    if (!f.endsWith('.yaml')) continue;
    for (const d of yamlDocs(join(DEPLOY, 'kubernetes', f))) byKind.set(String(d.kind), d);
  }
  return byKind;
}

const REAL_TOKENS = 'read: [read-token-0123456789abcdef]\nadmin: [admin-token-0123456789abcdef]\n';

/** Loads a config text with its token file replaced by `tokens` in a temp dir. */
function loadWithTokens(text: string, tokenFile: string, tokens: string): ReturnType<typeof parseConfigText> {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-cfg-'));
  try {
    const tf = join(dir, 'tokens.yaml');
    writeFileSync(tf, tokens, { mode: 0o600 });
    assert.ok(text.includes(tokenFile), `config names ${tokenFile}`);
    return parseConfigText(text.replace(tokenFile, tf), join(dir, 'agent.yaml'), { hostname: () => 'node-a' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('every Kubernetes manifest parses; the kustomization names existing files', () => {
  const kinds = k8s();
  for (const k of ['Namespace', 'ConfigMap', 'Secret', 'ServiceAccount', 'DaemonSet', 'Service', 'Kustomization'])
    assert.ok(kinds.has(k), k);
  for (const r of kinds.get('Kustomization')!.resources as string[])
    assert.ok(existsSync(join(DEPLOY, 'kubernetes', r)), r);
  assert.ok(
    !(kinds.get('Kustomization')!.resources as string[]).some((r) => r.includes('secret')),
    'the token secret is not re-applied over real tokens'
  );
});

test('DaemonSet: host PID, the host mounts, the capability set, probes, limits', () => {
  const kinds = k8s();
  const ds = kinds.get('DaemonSet')!;
  const spec = obj(obj(obj(ds.spec).template).spec);
  assert.equal(spec.hostPID, true);
  assert.equal(spec.automountServiceAccountToken, false);
  assert.equal(spec.serviceAccountName, obj(kinds.get('ServiceAccount')!.metadata).name);
  const c = arr(spec.containers)[0]!;
  const sc = obj(c.securityContext);
  assert.equal(sc.privileged, false);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.deepEqual(obj(sc.capabilities).drop, ['ALL']);
  assert.deepEqual([...(obj(sc.capabilities).add as string[])].sort(), [...CAPS].sort());
  const volumes = new Map(arr(spec.volumes).map((v) => [String(v.name), v]));
  const mounts = new Map(arr(c.volumeMounts).map((m) => [String(m.mountPath), m]));
  for (const p of ['/sys/kernel/btf', '/sys/kernel/tracing', '/sys/fs/cgroup']) {
    const m = mounts.get(p);
    assert.ok(m, `${p} mounted`);
    assert.equal(m.readOnly, true, `${p} read-only`);
    assert.equal(obj(volumes.get(String(m.name))!.hostPath).path, p, `${p} from the host`);
  }
  assert.equal(
    obj(volumes.get(String(mounts.get('/var/lib/huatuo-agent')!.name))!.hostPath).path,
    '/var/lib/huatuo-agent'
  );
  const port = arr(c.ports)[0]!;
  assert.equal(port.containerPort, 19704);
  assert.equal(obj(obj(c.readinessProbe).httpGet).path, '/readyz');
  assert.equal(obj(obj(c.livenessProbe).httpGet).path, '/healthz');
  assert.equal(obj(obj(c.readinessProbe).httpGet).port, port.name);
  const res = obj(c.resources);
  assert.ok(obj(res.limits).memory && obj(res.limits).cpu && obj(res.requests).memory && obj(res.requests).cpu);
  assert.match(
    (c.command as string[]).join(' '),
    new RegExp(`^node .*${MAIN} run --config /etc/huatuo-agent/agent.yaml$`)
  );
  const env = (c.env as Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }>) ?? [];
  assert.equal(
    env.find((e) => e.name === 'AUTOTRACING_HOST')?.valueFrom?.fieldRef?.fieldPath,
    'spec.nodeName',
    'events carry the node name'
  );
});

test('headless Service selects the DaemonSet pods on the API port', () => {
  const kinds = k8s();
  const svc = obj(kinds.get('Service')!.spec);
  assert.equal(svc.clusterIP, 'None');
  const labels = obj(obj(obj(obj(kinds.get('DaemonSet')!.spec).template).metadata).labels);
  for (const [k, v] of Object.entries(obj(svc.selector))) assert.equal(labels[k], v);
  const p = arr(svc.ports)[0]!;
  assert.equal(p.port, 19704);
  assert.equal(p.name, 'api');
});

test('the ConfigMap config passes the agent config loader (and refuses the placeholder tokens)', () => {
  const kinds = k8s();
  const text = String(obj(kinds.get('ConfigMap')!.data)['agent.yaml']);
  const secretTokens = String(obj(kinds.get('Secret')!.stringData)['tokens.yaml']);
  const placeholder = loadWithTokens(text, '/etc/huatuo-agent/tokens/tokens.yaml', secretTokens);
  assert.equal(placeholder.ok, false, 'placeholder tokens are refused');
  assert.ok(!placeholder.ok && placeholder.errors.some((e) => e.includes('api.tokenFile')));
  // the DaemonSet sets AUTOTRACING_HOST to the node name; `host: auto` takes it
  process.env.AUTOTRACING_HOST = 'worker-3';
  let r: ReturnType<typeof loadWithTokens>;
  try {
    r = loadWithTokens(text, '/etc/huatuo-agent/tokens/tokens.yaml', REAL_TOKENS);
  } finally {
    delete process.env.AUTOTRACING_HOST;
  }
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  assert.equal(r.config.host, 'worker-3');
  assert.equal(r.config.api.listen, '0.0.0.0:19704');
  assert.equal(r.config.dataDir, '/var/lib/huatuo-agent');
  assert.equal(r.config.api.openHealth, true);
});

test('deploy/config/agent.yaml passes the loader with a token file like tokens.example.yaml', () => {
  const text = readFileSync(join(DEPLOY, 'config', 'agent.yaml'), 'utf8');
  const example = readFileSync(join(DEPLOY, 'config', 'tokens.example.yaml'), 'utf8');
  assert.equal(loadWithTokens(text, '/etc/huatuo-agent/tokens.yaml', example).ok, false, 'placeholders refused');
  const r = loadWithTokens(text, '/etc/huatuo-agent/tokens.yaml', REAL_TOKENS);
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  assert.equal(r.config.host, 'node-a');
  assert.equal(r.config.dataDir, '/var/lib/huatuo-agent');
});

function unitDirectives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('[')) continue;
    const i = line.indexOf('=');
    assert.ok(i > 0, `unit line "${line}" is key=value`);
    const k = line.slice(0, i);
    out.set(k, [...(out.get(k) ?? []), line.slice(i + 1)]);
  }
  return out;
}

test('systemd unit: the capability set, the hardening that would break the agent left out', () => {
  const text = readFileSync(join(DEPLOY, 'systemd', 'huatuo-agent.service'), 'utf8');
  assert.deepEqual(
    text
      .split('\n')
      .filter((l) => l.startsWith('['))
      .map((l) => l.trim()),
    ['[Unit]', '[Service]', '[Install]']
  );
  const d = unitDirectives(text);
  const one = (k: string): string | undefined => d.get(k)?.[0];
  assert.deepEqual(one('CapabilityBoundingSet')!.split(/\s+/).sort(), CAPS.map((c) => `CAP_${c}`).sort());
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('LimitMEMLOCK'), 'infinity');
  assert.equal(one('ProtectSystem'), 'strict');
  for (const k of ['ProtectKernelLogs', 'MemoryDenyWriteExecute', 'ProtectProc', 'ProcSubset', 'PrivateTmp'])
    assert.ok(!d.has(k), `${k} is not set`);
  assert.ok(one('ExecStart')!.includes(`${MAIN} run --config /etc/huatuo-agent/agent.yaml`));
  assert.equal(`/var/lib/${one('StateDirectory')}`, '/var/lib/huatuo-agent');
  assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
});

test('systemd-analyze verify accepts the unit', (t) => {
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) return t.skip('systemd-analyze not found');
  const dir = mkdtempSync(join(tmpdir(), 'deploy-unit-'));
  try {
    // the unit names /usr/bin/node; verify checks that the executable exists, so point it at this node
    const unit = readFileSync(join(DEPLOY, 'systemd', 'huatuo-agent.service'), 'utf8').replace(
      /^ExecStart=\/usr\/bin\/node /m,
      `ExecStart=${process.execPath} `
    );
    const file = join(dir, 'huatuo-agent.service');
    writeFileSync(file, unit);
    const r = spawnSync('systemd-analyze', ['verify', file], {
      encoding: 'utf8',
      env: { ...process.env, SYSTEMD_LOG_LEVEL: 'notice' },
    });
    const mine = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.includes('huatuo-agent.service'));
    assert.deepEqual(mine, [], 'no complaint about the unit');
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('README, Dockerfile and the manifests agree on capabilities and paths', () => {
  const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
  for (const c of CAPS) {
    assert.ok(readme.includes(`\`CAP_${c}\``), `README explains CAP_${c}`);
    assert.ok(readme.includes(`--cap-add ${c}`), `docker run adds ${c}`);
  }
  assert.ok(readme.includes('--cap-drop ALL'));
  const docker = readFileSync(join(DEPLOY, 'docker', 'Dockerfile'), 'utf8');
  assert.match(docker, /^ARG NODE_IMAGE=node:20\.\d+-bookworm$/m);
  assert.match(docker, /^FROM \$\{NODE_IMAGE\} AS build$/m);
  assert.match(docker, /^FROM .*bookworm-slim AS runtime$/m);
  // what agent/src/bpf/native.ts looks for under the repository root (package.json + agent/)
  for (const p of ['./agent/native/build/Release/autotracing.node', './build/bpf/', './build/agent', './package.json'])
    assert.ok(docker.includes(p), `image has ${p}`);
  assert.ok(docker.includes(MAIN), 'entrypoint is the CLI');
  // the Dockerfile's own runtime package list covers every bare import of the agent's non-test code
  const keep = /const keep = \[([^\]]+)\]/
    .exec(docker.replace(/\\\n/g, ''))![1]!
    .match(/"([^"]+)"/g)!
    .map((s) => s.slice(1, -1));
  const out = execFileSync(
    'git',
    [
      '-C',
      ROOT,
      'grep',
      '-h',
      '-o',
      '-E',
      "from '[^.][^']*'",
      '--',
      'agent/src/*.ts',
      ':!agent/src/**/*.test.ts',
      ':!agent/src/*/testAgent.ts',
      ':!agent/src/*/testkit.ts',
    ],
    { encoding: 'utf8' }
  );
  const imports = new Set(
    out
      .split('\n')
      .map((l) => /from '([^']+)'/.exec(l)?.[1])
      .filter((s): s is string => !!s && !s.startsWith('node:'))
      .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!))
  );
  for (const m of imports) assert.ok(keep.includes(m), `the image installs ${m}`);
});
