// The linux_arm64 backend (Graviton, Apple-silicon Docker): an aarch64 ELF carrying the very JavaScript
// the amd64 build runs, and, run under qemu-aarch64 (Debian's qemu-user with the cross glibc, installed
// by scripts/setup.sh --tests), the real plugin protocol: handshake, CheckHealth, QueryData, Shutdown.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ARM64_RUNNER, EXECUTABLE, EXECUTABLE_ARM64 } from '../../scripts/build-backend';
import { decodeFrame } from './decodeFrame';
import { FixtureAgent } from './fixtureAgent';
import { hostEvents } from './fixtures';
import { PluginProcess, dataQuery, dsSettings, ensureExecutable } from './grafanaHost';

const SEA_MAGIC = 0x0143da20; // node_sea.h kMagic: the start of the injected blob
const EM_AARCH64 = 183;
const EM_X86_64 = 62;
const TOKEN = 'arm64-token';

function elfMachine(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const h = Buffer.alloc(20);
    fs.readSync(fd, h, 0, 20, 0);
    assert.equal(h.subarray(0, 4).toString('latin1'), '\x7fELF', `${file} is an ELF file`);
    assert.equal(h[4], 2, '64-bit');
    return h.readUInt16LE(18);
  } finally {
    fs.closeSync(fd);
  }
}

/** The main script inside an executable's SEA blob: magic, flags, code path, then the code itself. */
function seaMainScript(file: string): string {
  const b = fs.readFileSync(file);
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(SEA_MAGIC);
  for (let i = b.indexOf(magic); i >= 0; i = b.indexOf(magic, i + 1)) {
    const pathLen = Number(b.readBigUInt64LE(i + 8));
    if (pathLen <= 0 || pathLen > 4096) continue;
    const codePath = b.subarray(i + 16, i + 16 + pathLen).toString('utf8');
    if (!codePath.endsWith('.cjs')) continue;
    const codeLen = Number(b.readBigUInt64LE(i + 16 + pathLen));
    const start = i + 24 + pathLen;
    if (codeLen <= 0 || start + codeLen > b.length) continue;
    return b.subarray(start, start + codeLen).toString('utf8');
  }
  throw new Error(`no SEA blob in ${file}`);
}

let agent: FixtureAgent;
let plugin: PluginProcess;
const now = Date.now();

before(async () => {
  await ensureExecutable();
  agent = await new FixtureAgent({
    host: 'host-arm',
    token: TOKEN,
    events: hostEvents('host-arm', now, 'a'),
    version: '0.1.0',
  }).start();
});

after(async () => {
  await plugin?.kill();
  await agent?.stop();
});

describe('linux_arm64 backend', () => {
  it('is an aarch64 ELF with the same bundle as the amd64 executable', () => {
    assert.equal(elfMachine(EXECUTABLE_ARM64), EM_AARCH64);
    assert.equal(elfMachine(EXECUTABLE), EM_X86_64);
    const arm = seaMainScript(EXECUTABLE_ARM64);
    assert.ok(arm.length > 100_000, `a whole bundle (${arm.length} bytes)`);
    assert.ok(arm === seaMainScript(EXECUTABLE), 'byte for byte the JavaScript the amd64 build runs');
    // the fuse postject flips, so Node starts the blob instead of its REPL
    assert.ok(fs.readFileSync(EXECUTABLE_ARM64).includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1'));
  });

  it(
    'under qemu-aarch64 speaks the plugin protocol: handshake, CheckHealth, QueryData, Shutdown',
    { timeout: 180_000 },
    async () => {
      assert.ok(fs.existsSync(`${ARM64_RUNNER[2]}/lib/ld-linux-aarch64.so.1`), 'the aarch64 glibc (libc6-arm64-cross)');
      plugin = await PluginProcess.start([...ARM64_RUNNER, EXECUTABLE_ARM64], undefined, 120_000);
      assert.match(plugin.handshakeLine, /^1\|2\|tcp\|127\.0\.0\.1:\d+\|grpc\n$/);
      const ds = dsSettings({ agents: [{ name: 'arm', url: agent.url }], token: TOKEN, timeoutMs: 10_000 });
      const h = await plugin.checkHealth(ds);
      assert.equal(h.status, 1, h.message);
      assert.match(h.message, /1 agent reachable and authorised/);
      const r = await plugin.queryData(ds, [dataQuery('A', { queryType: 'events' }, now - 3_600_000, now)]);
      assert.equal(r.responses.A!.error ?? '', '');
      const f = decodeFrame(r.responses.A!.frames[0]!);
      assert.equal(f.rows, agent.opts.events.length);
      const { code, answered } = await plugin.shutdown();
      assert.ok(answered, 'Shutdown answered');
      assert.equal(code, 0);
    }
  );
});
