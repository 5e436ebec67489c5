import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, hclogTimestamp } from './log';

describe('backend log lines', () => {
  it('@timestamp has the six fractional digits go-plugin parses, from the sub-millisecond clock', () => {
    assert.equal(hclogTimestamp(Date.UTC(2026, 11, 7, 23, 5, 9, 123) + 0.4567), '2026-12-07T23:05:09.123456Z');
    assert.equal(hclogTimestamp(Date.UTC(2026, 0, 1, 0, 0, 0, 0)), '2026-01-01T00:00:00.000000Z');
  });

  it("writes hclog's keys and fields, one JSON line each, below the level dropped", () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', write: (l) => lines.push(l) });
    log.debug('not shown');
    log.child({ agent: 'a' }).error('agent failed', { err: new Error('ECONNREFUSED') });
    assert.equal(lines.length, 1);
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(rec['@level'], 'error');
    assert.equal(rec['@message'], 'agent failed');
    assert.equal(rec['@module'], 'plugin.huatuo-autotracing-datasource');
    assert.match(String(rec['@timestamp']), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    assert.equal(rec.agent, 'a');
    assert.equal(rec.err, 'ECONNREFUSED');
  });
});
