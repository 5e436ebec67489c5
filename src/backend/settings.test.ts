import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DataSourceInstanceSettings } from './plugin/messages';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_TIMEOUT_MS,
  SettingsError,
  normaliseAgentUrl,
  parseSettings,
  settingsFingerprint,
} from './settings';

function s(
  json: unknown,
  secure: Record<string, string> = {},
  extra: Partial<DataSourceInstanceSettings> = {}
): DataSourceInstanceSettings {
  return {
    id: 1,
    name: 'ds',
    url: '',
    user: '',
    database: '',
    basicAuthEnabled: false,
    basicAuthUser: '',
    jsonData: Buffer.from(typeof json === 'string' ? json : JSON.stringify(json)),
    decryptedSecureJsonData: secure,
    lastUpdatedMS: 5,
    uid: 'u1',
    apiVersion: '',
    ...extra,
  };
}

describe('datasource settings', () => {
  it('reads agents, discovery, timeout, concurrency and the token', () => {
    const p = parseSettings(
      s(
        {
          agents: [{ name: 'a', url: 'http://h1:19704/' }, { url: 'h2:19704' }],
          discovery: 'agents.ns.svc',
          timeoutMs: 800,
          concurrency: '4',
        },
        { token: 'tk' }
      )
    );
    assert.deepEqual(p.agents, [
      { name: 'a', url: 'http://h1:19704' },
      { name: 'h2:19704', url: 'http://h2:19704' },
    ]);
    assert.equal(p.discovery, 'agents.ns.svc');
    assert.equal(p.timeoutMs, 800);
    assert.equal(p.concurrency, 4);
    assert.equal(p.token, 'tk');
  });

  it('has defaults for an empty jsonData', () => {
    const p = parseSettings(s(''));
    assert.deepEqual(p.agents, []);
    assert.equal(p.timeoutMs, DEFAULT_TIMEOUT_MS);
    assert.equal(p.concurrency, DEFAULT_CONCURRENCY);
    assert.equal(p.token, null);
  });

  it('rejects bad values with the key in the message', () => {
    assert.throws(() => parseSettings(s('{nope')), /jsonData is not valid JSON/);
    assert.throws(() => parseSettings(s({ agents: 'x' })), /jsonData.agents must be a list/);
    assert.throws(() => parseSettings(s({ agents: [{ name: 'a' }] })), /agents\[0\].url is missing/);
    assert.throws(() => parseSettings(s({ timeoutMs: -1 })), /jsonData.timeoutMs must be a positive number/);
    assert.throws(() => parseSettings(s({ discovery: 5 })), SettingsError);
  });

  it('agent URLs are base URLs without credentials, path or query', () => {
    assert.equal(normaliseAgentUrl('https://h:1/'), 'https://h:1');
    assert.equal(normaliseAgentUrl('[::1]:19704'), 'http://[::1]:19704');
    assert.throws(() => normaliseAgentUrl('http://u:p@h'), /credentials/);
    assert.throws(() => normaliseAgentUrl('http://h/api'), /without path/);
    assert.throws(() => normaliseAgentUrl('file:///etc/passwd'), /http/);
  });

  it('fingerprint changes with settings, secure data and update time', () => {
    const a = settingsFingerprint(s({ agents: [] }, { token: 'a' }));
    assert.equal(a, settingsFingerprint(s({ agents: [] }, { token: 'a' })));
    assert.notEqual(a, settingsFingerprint(s({ agents: [] }, { token: 'b' })));
    assert.notEqual(a, settingsFingerprint(s({ agents: [], timeoutMs: 1 }, { token: 'a' })));
    assert.notEqual(a, settingsFingerprint(s({ agents: [] }, { token: 'a' }, { lastUpdatedMS: 6 })));
  });
});
