import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentMetrics } from './metrics';
import { TRACER_TYPES } from '../events/event';

async function series(m: AgentMetrics, name: string): Promise<{ labels: Record<string, unknown>; value: number }[]> {
  const metric = m.registry.getSingleMetric(name);
  assert.ok(metric, name);
  return (await metric.get()).values.map((v) => ({ labels: v.labels, value: v.value }));
}

test('alertable counters exist at 0 before anything happened (increase() sees the first capture)', async () => {
  const m = new AgentMetrics(() => null, 'h1');
  const captures = await series(m, 'autotracing_captures_total');
  for (const type of TRACER_TYPES)
    for (const status of ['complete', 'partial', 'failed'])
      assert.ok(
        captures.some((s) => s.labels.type === type && s.labels.status === status && s.value === 0),
        `${type} ${status}`
      );
  assert.ok(!captures.some((s) => s.labels.status === 'capturing'), 'a running capture is not a final status');
  const refused = await series(m, 'autotracing_captures_refused_total');
  for (const reason of ['BUSY', 'BUDGET', 'COOLDOWN', 'UNAVAILABLE'])
    assert.ok(
      refused.some((s) => s.labels.type === 'cpusys' && s.labels.reason === reason && s.value === 0),
      reason
    );
  const triggers = await series(m, 'autotracing_triggers_total');
  assert.deepEqual(triggers.map((s) => s.labels.type).sort(), [...TRACER_TYPES].sort());
  assert.ok(triggers.every((s) => s.value === 0));
  // the text a scrape gets carries them, with the host label
  const text = await m.registry.metrics();
  assert.match(text, /^autotracing_captures_total\{type="memburst",status="complete",host="h1"\} 0$/m);
  assert.match(text, /^autotracing_capture_duration_seconds_count\{host="h1",type="dload"\} 0$/m);
  // and counting still counts
  m.captures.inc({ type: 'cpusys', status: 'complete' });
  assert.match(
    await m.registry.metrics(),
    /^autotracing_captures_total\{type="cpusys",status="complete",host="h1"\} 1$/m
  );
});
