import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import {
  applyTracerPatch,
  compileDeviceFilter,
  ConfigError,
  ConfigSchema,
  defaultConfig,
  describeConfig,
  isLoopbackHost,
  loadConfig,
  parseConfigText,
  readConfig,
  reloadConfig,
  redactConfig,
  tracerThresholds,
  type AgentConfig,
  type ConfigResult,
} from './index';
import { TRACER_TYPES } from '../events/event';

const TOKEN_R = 'reader-token-0123456789abcdef';
const TOKEN_A = 'admin-token-0123456789abcdef';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'agent-config-'));
}

function errorsOf(r: ConfigResult): string[] {
  assert.equal(r.ok, false, 'expected the config to be rejected');
  return r.ok ? [] : r.errors;
}

function okConfig(r: ConfigResult): AgentConfig {
  if (!r.ok) assert.fail(`expected a valid config, got:\n${r.errors.join('\n')}`);
  return r.config;
}

test('no file: defaults, host name, ./data under the working directory, loopback API', () => {
  const cfg = defaultConfig({ cwd: '/srv/agent' });
  assert.equal(cfg.host, hostname());
  assert.equal(cfg.dataDir, '/srv/agent/data');
  assert.equal(cfg.api.listen, '127.0.0.1:19704');
  assert.deepEqual(cfg.api.tokens, { read: [], admin: [] });
  assert.equal(cfg.api.tokenFile, null);
  assert.deepEqual(cfg.api.tls, { cert: null, key: null });
  assert.equal(cfg.api.openHealth, true);
  assert.equal(cfg.api.openMetrics, true);
  assert.equal(cfg.store.retention, 7 * 86_400_000);
  assert.equal(cfg.store.maxSize, 2 ** 30);
  assert.ok(
    Value.Check(ConfigSchema, cfg),
    [...Value.Errors(ConfigSchema, cfg)].map((e) => `${e.path} ${e.message}`).join('; ')
  );
  // an empty file and an empty mapping mean the same
  assert.deepEqual(okConfig(parseConfigText('', null, { cwd: '/srv/agent' })), cfg);
  assert.deepEqual(okConfig(parseConfigText('{}\n', null, { cwd: '/srv/agent' })), cfg);
  assert.deepEqual(okConfig(parseConfigText('tracers:\napi:\n', null, { cwd: '/srv/agent' })), cfg);
});

test('every tracer has the common keys and every threshold, with Huatuo defaults at 1 s', () => {
  const t = defaultConfig().tracers;
  assert.deepEqual(Object.keys(t).sort(), [...TRACER_TYPES].sort());
  for (const type of TRACER_TYPES) {
    const c = t[type];
    assert.equal(c.enabled, true, type);
    assert.equal(c.interval, 1000, type);
    assert.equal(c.duration, 10_000, type);
    assert.ok(c.holdSamples >= 1, type);
    assert.ok(c.baselineWindow >= c.interval, type);
  }
  assert.equal(t.cpusys.cooldown, 1_800_000);
  assert.deepEqual(tracerThresholds(t.cpusys), { sysThreshold: 45, sysDeltaThreshold: 20, frequency: 99 });
  assert.deepEqual(tracerThresholds(t.cpuidle), {
    userThreshold: 75,
    userDeltaThreshold: 45,
    sysThreshold: 45,
    sysDeltaThreshold: 20,
    totalThreshold: 90,
    totalDeltaThreshold: 55,
    frequency: 99,
  });
  assert.equal(t.cpuidle.cooldown, 1_800_000);
  assert.equal(t.dload.dloadThreshold, 5);
  assert.ok(t.dload.knownIssues.length > 0);
  for (const k of t.dload.knownIssues) assert.doesNotThrow(() => new RegExp(k.regex), k.name);
  assert.ok(t.dload.knownIssues.some((k) => new RegExp(k.regex).test('wait_for_vfork_done+0x10')));
  const m = t.memburst;
  assert.equal(m.anonGrowthRatio, 2);
  assert.equal(m.anonFloorPercent, 70);
  for (const k of [
    'growthWindow',
    'anonGrowthRate',
    'psiSomeThreshold',
    'psiFullThreshold',
    'directReclaimThreshold',
    'allocStallThreshold',
  ] as const) {
    assert.equal(typeof m[k], 'number', k);
  }
  const io = t.iotracing;
  assert.equal(io.utilThreshold, 90);
  assert.equal(io.awaitThreshold, 100);
  assert.equal(io.nvmeReadThreshold, 2000 * 2 ** 20);
  assert.equal(io.nvmeWriteThreshold, 1500 * 2 ** 20);
  assert.equal(io.stallThreshold, 100);
  assert.deepEqual(io.includeDevices, []);
  assert.ok(Array.isArray(io.excludeDevices));
});

test('a full file with units resolves to milliseconds and bytes', () => {
  const cfg = okConfig(
    parseConfigText(
      `host: node-7
dataDir: /var/lib/huatuo-agent
log: { level: debug }
api:
  listen: 0.0.0.0:19704
  tokens: { read: [${TOKEN_R}], admin: [${TOKEN_A}] }
  bodyLimit: 1MiB
  rateLimit: { max: 50, window: 10s }
store: { retention: 3d, maxSize: 512MiB }
capture: { maxConcurrent: 1, budgetPerHour: 2m }
tracers:
  cpusys: { sysThreshold: 30, interval: 500ms, cooldown: 1h30m }
  dload:
    knownIssues:
      - { name: nfs, regex: "nfs_\\\\w+" }
  memburst: { anonGrowthRate: 50MiB/s }
  iotracing: { awaitThreshold: 20ms, includeDevices: [nvme*, sd?], excludeDevices: [] }
`,
      '/etc/huatuo/agent.yaml'
    )
  );
  assert.equal(cfg.host, 'node-7');
  assert.equal(cfg.log.level, 'debug');
  assert.equal(cfg.api.bodyLimit, 2 ** 20);
  assert.deepEqual(cfg.api.rateLimit, { max: 50, window: 10_000 });
  assert.equal(cfg.store.retention, 3 * 86_400_000);
  assert.equal(cfg.store.maxSize, 512 * 2 ** 20);
  assert.equal(cfg.capture.budgetPerHour, 120_000);
  assert.equal(cfg.tracers.cpusys.sysThreshold, 30);
  assert.equal(cfg.tracers.cpusys.sysDeltaThreshold, 20, 'untouched keys keep defaults');
  assert.equal(cfg.tracers.cpusys.interval, 500);
  assert.equal(cfg.tracers.cpusys.cooldown, 5_400_000);
  assert.deepEqual(cfg.tracers.dload.knownIssues, [{ name: 'nfs', regex: 'nfs_\\w+' }]);
  assert.equal(cfg.tracers.memburst.anonGrowthRate, 50 * 2 ** 20);
  assert.equal(cfg.tracers.iotracing.awaitThreshold, 20);
  const dev = compileDeviceFilter(cfg.tracers.iotracing.includeDevices, cfg.tracers.iotracing.excludeDevices);
  assert.equal(dev('nvme0n1'), true);
  assert.equal(dev('sda'), true);
  assert.equal(dev('sda1'), false);
  assert.equal(dev('loop0'), false);
  assert.ok(Value.Check(ConfigSchema, cfg));
});

test('unknown keys and bad values: every error at once, each naming the key path and the line', () => {
  const errs = errorsOf(
    parseConfigText(
      `tracers:
  cpusys:
    sysThreshold: abc
    sysThresold: 3
  cpuidle:
    totalThreshold: 150
    holdSamples: 2.5
  dload:
    knownIssues:
      - { name: ok, regex: "fine" }
      - { name: bad, regex: "(unclosed" }
  iotracing:
    includeDevices: ["sd[a]"]
  tracer9: {}
store:
  retention: soon
  maxSize: 10M
api:
  openHealth: "yes"
  tokens: { read: [short] }
colour: blue
`,
      '/etc/a.yaml'
    )
  );
  const expect = [
    /^tracers\.cpusys\.sysThreshold: expected a number between 0 and 100, got "abc" \(\/etc\/a\.yaml:3\)$/,
    /^tracers\.cpusys\.sysThresold: unknown key \(did you mean "sysThreshold"\?\) \(\/etc\/a\.yaml:4\)$/,
    /^tracers\.cpuidle\.totalThreshold: expected a number between 0 and 100, got 150/,
    /^tracers\.cpuidle\.holdSamples: expected an integer between 1 and 600, got 2\.5/,
    /^tracers\.dload\.knownIssues\[1\]\.regex: invalid regular expression "\(unclosed"/,
    /^tracers\.iotracing\.includeDevices\[0\]: expected a device name pattern/,
    /^tracers\.tracer9: unknown key \(expected one of: cpusys, cpuidle, dload, memburst, iotracing\)/,
    /^store\.retention: expected a duration like 500ms, 10s, 30m or 7d, got "soon"/,
    /^store\.maxSize: ambiguous size unit "M"/,
    /^api\.openHealth: expected true or false, got "yes"/,
    /^api\.tokens\.read\[0\]: a token must be/,
    /^colour: unknown key/,
  ];
  for (const re of expect)
    assert.ok(
      errs.some((e) => re.test(e)),
      `no error matches ${re}\n${errs.join('\n')}`
    );
  assert.equal(errs.length, expect.length, errs.join('\n'));
  assert.ok(!errs.some((e) => e.includes('short')), 'a bad token is never echoed');
});

test('loadConfig throws a ConfigError listing the errors', () => {
  const dir = tmp();
  try {
    const f = join(dir, 'agent.yaml');
    writeFileSync(f, 'tracers: { cpusys: { duration: forever } }\n');
    assert.throws(
      () => loadConfig(f),
      (e: unknown) =>
        e instanceof ConfigError && e.errors.length === 1 && /tracers\.cpusys\.duration/.test(e.message) && e.file === f
    );
    assert.throws(
      () => loadConfig(join(dir, 'missing.yaml')),
      (e: unknown) => e instanceof ConfigError && /cannot read: ENOENT/.test(e.message)
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('YAML syntax errors and duplicate keys name the file and line', () => {
  const e1 = errorsOf(parseConfigText('api:\n  listen: [unclosed\n', '/x.yaml'));
  assert.match(e1[0]!, /^\/x\.yaml: .*line/);
  const e2 = errorsOf(parseConfigText('host: a\nhost: b\n', '/x.yaml'));
  assert.match(e2[0]!, /unique/i);
  const e3 = errorsOf(parseConfigText('- just\n- a list\n', '/x.yaml'));
  assert.match(e3[0]!, /^\(top level\): expected a mapping/);
});

test('durations need units; sizes accept bytes; ranges are enforced with units in the message', () => {
  assert.match(
    errorsOf(parseConfigText('tracers: { cpusys: { cooldown: 30 } }', null))[0]!,
    /cooldown: a duration needs a unit .*"30s"/
  );
  assert.equal(okConfig(parseConfigText('tracers: { cpusys: { cooldown: 0 } }', null)).tracers.cpusys.cooldown, 0);
  assert.equal(okConfig(parseConfigText('store: { maxSize: 10485760 }', null)).store.maxSize, 10 * 2 ** 20);
  assert.match(
    errorsOf(parseConfigText('tracers: { cpusys: { interval: 10ms } }', null))[0]!,
    /interval: expected a duration between 100ms and 1h, got 10ms/
  );
  assert.match(
    errorsOf(parseConfigText('store: { maxSize: 1KiB }', null))[0]!,
    /store\.maxSize: expected a size of at least 1MiB, got 1KiB/
  );
  assert.match(
    errorsOf(parseConfigText('tracers: { memburst: { anonGrowthRate: 5GiB } }', null))[0]!,
    /anonGrowthRate: expected a rate like 100MiB\/s/
  );
});

test('no tokens: only loopback listen addresses', () => {
  for (const ok of ['127.0.0.1:19704', '127.1.2.3:0', 'localhost:8080', '[::1]:19704']) {
    okConfig(parseConfigText(`api: { listen: "${ok}" }`, null));
  }
  for (const wide of ['0.0.0.0:19704', '[::]:19704', '10.0.0.5:19704', 'agent.example.com:19704']) {
    const errs = errorsOf(parseConfigText(`api: { listen: "${wide}" }`, null));
    assert.equal(errs.length, 1, errs.join('\n'));
    assert.match(errs[0]!, /^api\.listen: .* is not a loopback address, and no tokens are configured: .*api\.tokens/);
  }
  okConfig(parseConfigText(`api: { listen: "0.0.0.0:19704", tokens: { read: [${TOKEN_R}] } }`, null));
  okConfig(parseConfigText(`api: { listen: "0.0.0.0:19704", tokens: { admin: [${TOKEN_A}] } }`, null));
  for (const bad of ['19704', ':19704', '127.0.0.1', '127.0.0.1:99999', '[zz]:1', '300.1.1.1:80']) {
    assert.match(errorsOf(parseConfigText(`api: { listen: "${bad}" }`, null))[0]!, /^api\.listen: /, bad);
  }
  assert.equal(isLoopbackHost('::ffff:127.0.0.1'), true);
  assert.equal(isLoopbackHost('0:0:0:0:0:0:0:1'), true);
  assert.equal(isLoopbackHost('128.0.0.1'), false);
});

test('token file: loaded relative to the config file, validated, exclusive with inline tokens', () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'tokens.yaml'), `read: [${TOKEN_R}]\nadmin: [${TOKEN_A}]\n`, { mode: 0o600 });
    const f = join(dir, 'agent.yaml');
    writeFileSync(f, 'api: { listen: "0.0.0.0:0", tokenFile: tokens.yaml }\ndataDir: state\n');
    const r = readConfig(f);
    const cfg = okConfig(r);
    assert.deepEqual(cfg.api.tokens, { read: [TOKEN_R], admin: [TOKEN_A] });
    assert.equal(cfg.api.tokenFile, join(dir, 'tokens.yaml'));
    assert.equal(cfg.dataDir, join(dir, 'state'), 'paths in a file are relative to the file');
    assert.deepEqual(r.ok && r.warnings, []);
    // redaction for logs
    assert.deepEqual(redactConfig(cfg).api.tokens, { read: 1, admin: 1 });
    assert.ok(!JSON.stringify(redactConfig(cfg)).includes(TOKEN_A));

    chmodSync(join(dir, 'tokens.yaml'), 0o644);
    const r2 = readConfig(f);
    assert.ok(r2.ok && r2.warnings.some((w) => /readable by group or others/.test(w)));

    writeFileSync(join(dir, 'tokens.yaml'), `read: [${TOKEN_R}]\nwrite: [x]\nadmin: ["has space in it 123456"]\n`, {
      mode: 0o600,
    });
    const errs = errorsOf(readConfig(f));
    assert.ok(
      errs.some((e) => e.startsWith(`api.tokenFile: ${join(dir, 'tokens.yaml')}: write: unknown key`)),
      errs.join('\n')
    );
    assert.ok(
      errs.some((e) => /admin\[0\]: a token must be/.test(e)),
      errs.join('\n')
    );
    assert.ok(!errs.some((e) => e.includes('has space')), 'token values are never shown');

    rmSync(join(dir, 'tokens.yaml'));
    assert.match(errorsOf(readConfig(f))[0]!, /^api\.tokenFile: .*tokens\.yaml: cannot read: ENOENT/);

    writeFileSync(f, `api: { tokenFile: tokens.yaml, tokens: { read: [${TOKEN_R}] } }\n`);
    assert.match(errorsOf(readConfig(f))[0]!, /^api\.tokens: set either api\.tokens or api\.tokenFile, not both/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TLS: both or neither, files must be readable', () => {
  assert.match(
    errorsOf(parseConfigText('api: { tls: { cert: /a.pem } }', null))[0]!,
    /^api\.tls: set both cert and key/
  );
  assert.match(
    errorsOf(parseConfigText('api: { tls: { cert: /nonexistent/a.pem, key: /nonexistent/k.pem } }', null))[0]!,
    /^api\.tls\.cert: cannot read/
  );
});

test('cross-key rules', () => {
  assert.match(
    errorsOf(parseConfigText('tracers: { cpusys: { interval: 10s, baselineWindow: 5s } }', null))[0]!,
    /^tracers\.cpusys\.baselineWindow: must be at least the sampling interval/
  );
  assert.match(
    errorsOf(parseConfigText('capture: { budgetPerHour: 5s }', null)).join('\n'),
    /tracers\.cpusys\.duration: 10s is longer than capture\.budgetPerHour \(5s\)/
  );
  okConfig(
    parseConfigText(
      'capture: { budgetPerHour: 5s }\ntracers: { cpusys: {enabled: false}, cpuidle: {enabled: false}, dload: {enabled: false}, memburst: {enabled: false}, iotracing: {enabled: false} }',
      null
    )
  );
  assert.match(
    errorsOf(parseConfigText('api: { defaultPageSize: 500, maxPageSize: 100 }', null))[0]!,
    /^api\.defaultPageSize: must not exceed/
  );
});

test('reload: a good file gives the new config and what changed; a bad one gives errors only', () => {
  const dir = tmp();
  try {
    const f = join(dir, 'agent.yaml');
    writeFileSync(f, 'tracers: { cpusys: { sysThreshold: 50 } }\n');
    const first = loadConfig(f);
    const frozen = structuredClone(first);

    writeFileSync(f, 'tracers: { cpusys: { sysThreshold: 60 } }\napi: { listen: "127.0.0.1:19999" }\n');
    const good = reloadConfig(f, first);
    assert.ok(good.ok);
    assert.equal(good.config.tracers.cpusys.sysThreshold, 60);
    assert.deepEqual(good.changed, ['api.listen', 'tracers.cpusys.sysThreshold']);
    assert.deepEqual(good.restartRequired, ['api.listen']);

    writeFileSync(f, 'tracers: { cpusys: { sysThreshold: 600 } }\n');
    const bad = reloadConfig(f, first);
    assert.equal(bad.ok, false);
    assert.ok(
      !bad.ok &&
        bad.errors.length === 1 &&
        /tracers\.cpusys\.sysThreshold: expected a number between 0 and 100, got 600/.test(bad.errors[0]!)
    );
    assert.ok(!('config' in bad), 'a failed reload carries no config');
    assert.deepEqual(first, frozen, 'the running config is untouched');

    rmSync(f);
    const gone = reloadConfig(f, first);
    assert.ok(!gone.ok && /cannot read: ENOENT/.test(gone.errors[0]!));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tracer patch (PATCH /api/v1/tracers/:type)', () => {
  const cfg = defaultConfig();
  const r = applyTracerPatch(cfg, 'cpusys', { enabled: false, sysThreshold: 60, cooldown: '10m' });
  assert.ok(r.ok);
  assert.equal(r.config.tracers.cpusys.enabled, false);
  assert.equal(r.config.tracers.cpusys.sysThreshold, 60);
  assert.equal(r.config.tracers.cpusys.cooldown, 600_000);
  assert.equal(r.config.tracers.cpusys.sysDeltaThreshold, 20);
  assert.equal(cfg.tracers.cpusys.sysThreshold, 45, 'the original is not modified');
  const ms = applyTracerPatch(cfg, 'iotracing', { awaitThreshold: 250 });
  assert.ok(ms.ok && ms.config.tracers.iotracing.awaitThreshold === 250, 'numbers are milliseconds in a patch');
  const bad = applyTracerPatch(cfg, 'cpuidle', { totalThreshold: -1, bogus: 1 });
  assert.ok(!bad.ok);
  assert.deepEqual(bad.errors.map((e) => e.split(':')[0]).sort(), [
    'tracers.cpuidle.bogus',
    'tracers.cpuidle.totalThreshold',
  ]);
  const cross = applyTracerPatch(cfg, 'dload', { baselineWindow: '1s', interval: '2s' });
  assert.ok(!cross.ok && /tracers\.dload\.baselineWindow/.test(cross.errors[0]!));
  assert.ok(!applyTracerPatch(cfg, 'dload', null).ok);
});

test('README lists every key with its default', () => {
  // the README stays in the source tree when the test runs compiled from build/
  const readme = readFileSync(join(__dirname.replace(/\/build\/agent\//, '/agent/'), 'README.md'), 'utf8');
  for (const k of describeConfig()) {
    const row = `| \`${k.key}\` | ${k.default} |`;
    assert.ok(readme.includes(row), `README.md lacks the row ${row}`);
  }
});
