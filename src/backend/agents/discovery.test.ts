import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_AGENT_PORT, Discovery, discoverAgents, parseDiscovery, type DnsLike } from './discovery';

function fakeDns(
  a: Record<string, string[]>,
  srv: Record<string, Array<{ name: string; port: number }>> = {}
): DnsLike & { calls: number } {
  const d = {
    calls: 0,
    async lookupAll(name: string) {
      d.calls++;
      if (!a[name]) throw Object.assign(new Error(`queryA ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return a[name]!.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
    async resolveSrv(name: string) {
      d.calls++;
      if (!srv[name]) throw new Error(`querySrv ENOTFOUND ${name}`);
      return srv[name]!.map((r, i) => ({ ...r, priority: 10, weight: i }));
    },
  };
  return d;
}

describe('DNS discovery', () => {
  it('parses [scheme://]name[:port]', () => {
    assert.deepEqual(parseDiscovery('agents.ns.svc'), {
      scheme: 'http',
      name: 'agents.ns.svc',
      port: null,
      srv: false,
    });
    assert.deepEqual(parseDiscovery('https://agents.ns.svc:9000/'), {
      scheme: 'https',
      name: 'agents.ns.svc',
      port: 9000,
      srv: false,
    });
    assert.deepEqual(parseDiscovery('_api._tcp.agents.ns.svc.cluster.local.'), {
      scheme: 'http',
      name: '_api._tcp.agents.ns.svc.cluster.local',
      port: null,
      srv: true,
    });
    assert.throws(() => parseDiscovery('http://x/y?z'), /not a DNS name/);
    assert.throws(() => parseDiscovery('agents:0'), /out of range/);
  });

  it('A/AAAA: one agent per address on the given port or 19704', async () => {
    const dns = fakeDns({ 'agents.ns.svc': ['10.0.0.1', 'fd00::2'] });
    assert.deepEqual(await discoverAgents('agents.ns.svc', dns), [
      { name: 'agents.ns.svc/10.0.0.1:19704', url: `http://10.0.0.1:${DEFAULT_AGENT_PORT}` },
      { name: 'agents.ns.svc/fd00::2:19704', url: 'http://[fd00::2]:19704' },
    ]);
    assert.deepEqual(
      (await discoverAgents('https://agents.ns.svc:443', dns)).map((a) => a.url),
      ['https://10.0.0.1', 'https://[fd00::2]']
    );
  });

  it('SRV: targets with their ports', async () => {
    const dns = fakeDns(
      {},
      {
        '_api._tcp.agents': [
          { name: 'node-1.agents.', port: 19704 },
          { name: 'node-2.agents', port: 19705 },
        ],
      }
    );
    assert.deepEqual(await discoverAgents('_api._tcp.agents', dns), [
      { name: 'node-1.agents:19704', url: 'http://node-1.agents:19704' },
      { name: 'node-2.agents:19705', url: 'http://node-2.agents:19705' },
    ]);
  });

  it('caches for 30 s and keeps the last good answer when DNS fails', async () => {
    let t = 0;
    const records: Record<string, string[]> = { a: ['10.0.0.1'] };
    const dns = fakeDns(records);
    const d = new Discovery('a', dns, () => t);
    assert.equal((await d.agents()).length, 1);
    assert.equal((await d.agents()).length, 1);
    assert.equal(dns.calls, 1);
    delete records.a;
    t = 31_000;
    assert.equal((await d.agents()).length, 1, 'stale answer kept');
    assert.match(d.error!, /ENOTFOUND/);
    t = 400_000;
    await assert.rejects(d.agents(), /DNS discovery of a failed/);
  });
});
