/**
 * The handwritten fixtures must match the wire schemas exactly (TypeBox schemas of agent/src/, which the agent
 * validates against). Recorded fixtures will replace them; this test keeps either kind honest.
 */
import { Value } from '@sinclair/typebox/value';

import { EventSchema } from '../../agent/src/events/event';
import { InfoResponseSchema, NestedFlamegraphSchema, TracerStateSchema } from '../../agent/src/api/schemas';
import { fixtures } from './backend';

const errors = (schema: Parameters<typeof Value.Errors>[0], v: unknown) =>
  [...Value.Errors(schema, v)].map((e) => `${e.path}: ${e.message}`);

describe('fixtures match the schemas', () => {
  it.each(Object.entries(fixtures.event))('event %s is an EventSchema event', (_, event) => {
    expect(errors(EventSchema, event)).toEqual([]);
  });

  it('events.json holds schema events, an agent for each, newest first', () => {
    for (const e of fixtures.events.events) {
      expect(errors(EventSchema, e)).toEqual([]);
      expect(fixtures.events.agents[e.id]).toBeTruthy();
    }
    const times = fixtures.events.events.map((e) => e.time);
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it.each(Object.entries(fixtures.flamegraph))('flame graph %s is a NestedFlamegraph in pre-order', (_, fg) => {
    expect(errors(NestedFlamegraphSchema, fg)).toEqual([]);
    const { level, value, self } = fg.rows;
    expect(level[0]).toBe(0);
    expect(value[0]).toBe(fg.total);
    expect(self.reduce((a, b) => a + b, 0)).toBe(fg.total);
    for (let i = 1; i < level.length; i++) {
      expect(level[i]).toBeLessThanOrEqual(level[i - 1] + 1);
    }
  });

  it('flame graph refs in events agree with the flame graph fixtures', () => {
    const refs = (fixtures.event.cpusys.data.flamegraphs as Array<{ name: string; total: number }>) ?? [];
    for (const r of refs) {
      expect(fixtures.flamegraph[r.name].total).toBe(r.total);
    }
  });

  it('agents carry the agent info fields', () => {
    for (const a of fixtures.agents.agents.filter((x) => x.ok)) {
      const info = {
        host: a.host,
        version: a.version,
        kernel: a.kernel,
        node: a.node,
        startedAt: a.startedAt,
        capabilities: a.capabilities,
        tracers: a.tracers,
      };
      expect(errors(InfoResponseSchema, info)).toEqual([]);
      for (const t of a.tracers ?? []) {
        expect(errors(TracerStateSchema, t)).toEqual([]);
      }
    }
  });

  it('counts series are aligned with the buckets and labelled by host and type', () => {
    for (const s of fixtures.counts.series) {
      expect(s.values).toHaveLength(fixtures.counts.buckets.length);
      expect(Object.keys(s.labels).sort()).toEqual(['host', 'type']);
    }
  });
});
