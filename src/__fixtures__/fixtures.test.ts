/**
 * The recorded fixtures must match the wire schemas (TypeBox schemas of agent/src/, which the agent validates
 * against), and the recorded query answers must read as the frontend reads them: this keeps a re-recording honest.
 */
import { Value } from '@sinclair/typebox/value';
import { type DataQueryResponse, FieldType } from '@grafana/data';
import { toDataQueryResponse } from '@grafana/runtime';

import { EventSchema } from '../../agent/src/events/event';
import { InfoResponseSchema, NestedFlamegraphSchema, TracerStateSchema } from '../../agent/src/api/schemas';
import { isNestedSetFrame, rowsFromFrame } from '../panels/flamegraph/frame';
import { allEvents, fixtures } from './backend';
import queryCounts from './query-counts.json';
import queryEvents from './query-events.json';
import queryFlamegraph from './query-flamegraph.json';

const errors = (schema: Parameters<typeof Value.Errors>[0], v: unknown) =>
  [...Value.Errors(schema, v)].map((e) => `${e.path}: ${e.message}`);

const TYPES = ['cpusys', 'cpuidle', 'dload', 'memburst', 'iotracing'];

describe('recorded fixtures match the schemas', () => {
  it('holds a capture of every tracer type, each complete', () => {
    expect(Object.keys(fixtures.event)).toEqual(TYPES);
    for (const [type, e] of Object.entries(fixtures.event)) {
      expect(e.type).toBe(type);
      expect(e.status).toBe('complete');
    }
    expect(fixtures.recorded.kernel).toBeTruthy();
  });

  it.each(allEvents.map((e) => [`${e.type} ${e.id}`, e]))('event %s is an EventSchema event', (_, event) => {
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

  const graphs = Object.entries(fixtures.flamegraphs).flatMap(([id, byProfile]) =>
    Object.entries(byProfile).map(([profile, fg]) => [`${id}/${profile}`, fg] as const)
  );
  it.each(graphs)('flame graph %s is a NestedFlamegraph in pre-order', (_, fg) => {
    expect(errors(NestedFlamegraphSchema, fg)).toEqual([]);
    const { level, value, self } = fg.rows;
    expect(level[0]).toBe(0);
    expect(value[0]).toBe(fg.total);
    expect(self.reduce((a, b) => a + b, 0)).toBe(fg.total);
    for (let i = 1; i < level.length; i++) {
      expect(level[i]).toBeLessThanOrEqual(level[i - 1] + 1);
    }
  });

  it('flame graph refs in events agree with the recorded flame graphs (all but "before", recorded for cpusys only)', () => {
    for (const e of allEvents) {
      for (const r of (e.data.flamegraphs ?? []) as Array<{ name: string; total: number }>) {
        if (r.name !== 'before' || e.id === fixtures.event.cpusys.id) {
          expect(fixtures.flamegraphs[e.id][r.name].total).toBe(r.total);
        }
      }
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

describe('recorded query answers (POST /api/ds/query JSON) read as the frontend reads them', () => {
  const read = (rec: { response: unknown }): DataQueryResponse =>
    toDataQueryResponse({ data: rec.response } as Parameters<typeof toDataQueryResponse>[0]);

  it('flamegraph: a nested-set frame the panel turns into rows', () => {
    const res = read(queryFlamegraph);
    const frame = res.data.find(isNestedSetFrame);
    expect(frame).toBeDefined();
    const rows = rowsFromFrame(frame!);
    const cpu = fixtures.flamegraph.cpu;
    expect(rows.label).toEqual(cpu.rows.label);
    expect(rows.value).toEqual(cpu.rows.value);
    expect(rows.kind).toEqual(cpu.rows.kind);
  });

  it('events: a table with id, time and type', () => {
    const frame = read(queryEvents).data[0];
    const names = frame.fields.map((f: { name: string }) => f.name);
    expect(names).toEqual(expect.arrayContaining(['id', 'time', 'type']));
    expect(frame.fields.find((f: { name: string }) => f.name === 'time').type).toBe(FieldType.time);
  });

  it('counts: timeseries-multi frames labelled by host and type', () => {
    const frames = read(queryCounts).data;
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) {
      expect(f.meta?.type).toBe('timeseries-multi');
      const value = f.fields.find((x: { type: string }) => x.type === FieldType.number);
      expect(Object.keys(value.labels ?? {}).sort()).toEqual(['host', 'type']);
    }
  });
});
