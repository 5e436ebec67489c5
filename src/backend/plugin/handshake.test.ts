import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StartupError, candidatePorts, handshakeLine, readStartupConfig } from './handshake';

describe('plugin start-up rules', () => {
  const ok = {
    grafana_plugin_type: 'datasource',
    PLUGIN_PROTOCOL_VERSIONS: '2',
    PLUGIN_MIN_PORT: '10000',
    PLUGIN_MAX_PORT: '10002',
  };

  it('needs the magic cookie', () => {
    assert.throws(() => readStartupConfig({}), StartupError);
    assert.throws(() => readStartupConfig({ ...ok, grafana_plugin_type: 'app' }), /not meant to be executed directly/);
  });

  it('needs protocol version 2 among those offered; none offered means 2', () => {
    assert.equal(readStartupConfig(ok).protocolVersion, 2);
    assert.equal(readStartupConfig({ ...ok, PLUGIN_PROTOCOL_VERSIONS: '1,2' }).protocolVersion, 2);
    assert.equal(readStartupConfig({ grafana_plugin_type: 'datasource' }).protocolVersion, 2);
    assert.throws(() => readStartupConfig({ ...ok, PLUGIN_PROTOCOL_VERSIONS: '1' }), /speaks version 2 only/);
    assert.throws(() => readStartupConfig({ ...ok, PLUGIN_PROTOCOL_VERSIONS: '12' }), /speaks version 2 only/);
  });

  it('tries the port range in order, or any port without one', () => {
    assert.deepEqual([...candidatePorts(readStartupConfig(ok))], [10000, 10001, 10002]);
    assert.deepEqual([...candidatePorts(readStartupConfig({ grafana_plugin_type: 'datasource' }))], [0]);
    assert.throws(() => readStartupConfig({ ...ok, PLUGIN_MIN_PORT: 'x' }), /PLUGIN_MIN_PORT must be a port number/);
    assert.throws(() => readStartupConfig({ ...ok, PLUGIN_MIN_PORT: '20000' }), /above PLUGIN_MAX_PORT/);
    assert.throws(() => readStartupConfig({ ...ok, PLUGIN_MAX_PORT: '70000' }), /at most 65535/);
  });

  it('handshake line', () => {
    assert.equal(handshakeLine(12345), '1|2|tcp|127.0.0.1:12345|grpc\n');
  });
});
