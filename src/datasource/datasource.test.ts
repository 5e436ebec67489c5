import {
  CoreApp,
  type DataFrame,
  type DataQueryRequest,
  type DataSourceInstanceSettings,
  FieldType,
  type ScopedVars,
  createDataFrame,
  dateTime,
} from '@grafana/data';
import {
  type BackendSrv,
  type TemplateSrv,
  setBackendSrv,
  setTemplateSrv,
  toDataQueryResponse,
} from '@grafana/runtime';
import { firstValueFrom, lastValueFrom } from 'rxjs';

import { DS_UID, fakeBackendSrv, fixtures } from '../__fixtures__/backend';
import queryEvents from '../__fixtures__/query-events.json';
import { AutotracingDataSource, eventsToAnnotations, interpolateList, variableKind } from './datasource';
import type { AutotracingOptions, AutotracingQuery } from './types';

const settings = {
  id: 1,
  uid: DS_UID,
  type: 'huatuo-autotracing-datasource',
  name: 'AutoTracing',
  access: 'proxy',
  jsonData: { agents: [{ name: 'node-a', url: 'http://10.0.0.11:19704' }] },
  meta: { id: 'huatuo-autotracing-datasource' },
  readOnly: false,
} as unknown as DataSourceInstanceSettings<AutotracingOptions>;

/** A template service with $host = [node-a, node-b], $type = cpusys, $event = 01ABC. */
function templateSrv(): TemplateSrv {
  const vars: Record<string, string[]> = { host: ['node-a', 'node-b'], type: ['cpusys'], event: ['01ABC'], all: ['*'] };
  return {
    getVariables: () => [],
    replace: (target?: string, _scoped?: ScopedVars, format?: string | Function) =>
      (target ?? '').replace(/\$(\w+)/g, (m, name: string) =>
        vars[name] ? (format === 'csv' ? vars[name].join(',') : vars[name].join(',')) : m
      ),
    containsTemplate: (t?: string) => Boolean(t?.includes('$')),
    updateTimeRange: () => undefined,
  } as unknown as TemplateSrv;
}

function eventsFrame(): DataFrame {
  const ev = fixtures.events.events;
  return createDataFrame({
    name: 'events',
    refId: 'A',
    fields: [
      { name: 'time', type: FieldType.time, values: ev.map((e) => e.time) },
      { name: 'timeEnd', type: FieldType.time, values: ev.map((e) => e.timeEnd) },
      { name: 'id', type: FieldType.string, values: ev.map((e) => e.id) },
      { name: 'type', type: FieldType.string, values: ev.map((e) => e.type) },
      { name: 'host', type: FieldType.string, values: ev.map((e) => e.host) },
      {
        name: 'container',
        type: FieldType.string,
        values: ev.map((e) => (e.container ? (e.container.name ?? e.container.id.slice(0, 12)) : '')),
      },
      { name: 'summary', type: FieldType.string, values: ev.map((e) => e.summary) },
      { name: 'agent', type: FieldType.string, values: ev.map((e) => fixtures.events.agents[e.id]) },
    ],
  });
}

describe('AutotracingDataSource', () => {
  let ds: AutotracingDataSource;
  beforeEach(() => {
    setTemplateSrv(templateSrv());
    setBackendSrv(fakeBackendSrv().srv as unknown as BackendSrv);
    ds = new AutotracingDataSource(settings);
  });

  it('defaults to an events query', () => {
    expect(ds.getDefaultQuery(CoreApp.Dashboard)).toEqual({ queryType: 'events', limit: 100 });
  });

  it('interpolates variables into the contract query shape', () => {
    const q: AutotracingQuery = {
      refId: 'A',
      queryType: 'flamegraph',
      types: ['$type', 'dload'],
      hosts: ['$host'],
      container: ' web ',
      eventId: '$event',
    };
    expect(ds.applyTemplateVariables(q, {})).toEqual({
      refId: 'A',
      queryType: 'flamegraph',
      types: ['cpusys', 'dload'],
      hosts: ['node-a', 'node-b'],
      container: 'web',
      eventId: '01ABC',
    });
  });

  it('drops empty filters and "all" values, and repairs an unknown query type', () => {
    const q = {
      refId: 'A',
      queryType: 'bogus',
      hosts: ['$all'],
      types: [],
      container: '',
    } as unknown as AutotracingQuery;
    expect(ds.applyTemplateVariables(q, {})).toEqual({ refId: 'A', queryType: 'events' });
  });

  it('skips hidden queries', () => {
    expect(ds.filterQuery({ refId: 'A', queryType: 'events', hide: true })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', queryType: 'counts' })).toBe(true);
  });

  it('links event ids to the app event page', () => {
    const linked = ds.addEventLinks(eventsFrame());
    const id = linked.fields.find((f) => f.name === 'id');
    expect(id?.config.links?.[0].url).toBe(
      `/a/huatuo-autotracing-app/events/\${__value.raw}?ds=${DS_UID}&agent=\${__data.fields.agent}`
    );
    const tasks = createDataFrame({ fields: [{ name: 'eventId', type: FieldType.string, values: ['x'] }] });
    expect(ds.addEventLinks(tasks).fields[0].config.links).toHaveLength(1);
    const other = createDataFrame({ fields: [{ name: 'id', type: FieldType.string, values: ['x'] }] });
    expect(ds.addEventLinks(other).fields[0].config.links).toBeUndefined();
  });

  it('answers variable queries through the resources', async () => {
    const host = fixtures.agents.agents[0].host!;
    expect(await ds.metricFindQuery('hosts')).toEqual([{ text: host, value: host }]);
    expect((await ds.metricFindQuery({ refId: 'v', kind: 'types' })).map((v) => v.text)).toContain('iotracing');
    expect(await ds.metricFindQuery('nonsense')).toEqual([]);
  });

  it('offers a custom variable support that returns text/value frames', async () => {
    const request = {
      targets: [{ refId: 'v', kind: 'containers' }],
      range: { from: dateTime(1000), to: dateTime(2000), raw: { from: 'now-1h', to: 'now' } },
    } as unknown as DataQueryRequest<{ refId: string; kind: 'containers' }>;
    const variables = ds.variables as unknown as {
      query: (r: typeof request) => import('rxjs').Observable<{ data: DataFrame[] }>;
    };
    const res = await lastValueFrom(variables.query(request));
    expect(res.data[0].fields.map((f) => f.name)).toEqual(['text', 'value']);
    const ids = [
      ...new Set(fixtures.events.events.filter((e) => e.container).map((e) => e.container!.id.slice(0, 12))),
    ].sort();
    expect(res.data[0].fields[0].values).toEqual(ids);
  });

  describe('annotations', () => {
    it("turns the real backend's events frame (recorded QueryData) into regions with its title, text and tags", async () => {
      const frames = toDataQueryResponse({ data: queryEvents.response } as Parameters<
        typeof toDataQueryResponse
      >[0]).data;
      const anns = await firstValueFrom(ds.annotations.processEvents!({} as never, frames));
      expect(anns).toHaveLength(fixtures.events.events.length);
      const e = fixtures.event.dload;
      const a = anns!.find((x) => x.id === e.id)!;
      expect(a).toMatchObject({ time: e.time, timeEnd: e.timeEnd, isRegion: true, title: `dload on ${e.host}` });
      expect(a.tags).toEqual(['dload', e.host]);
      expect(a.text).toContain(e.summary);
    });

    it('always asks for events', () => {
      const q = ds.annotations.prepareQuery?.({
        enable: true,
        name: 'captures',
        iconColor: 'red',
        target: { refId: 'X', queryType: 'counts', hosts: ['node-a'] },
      });
      expect(q).toEqual({ refId: 'X', queryType: 'events', limit: 500, hosts: ['node-a'] });
    });

    it('turns every event into a region tagged with type, host and container', async () => {
      const anns = await firstValueFrom(ds.annotations.processEvents!({} as never, [eventsFrame()]));
      expect(anns).toHaveLength(fixtures.events.events.length);
      const cpu = anns!.find((a) => a.id === fixtures.event.cpusys.id)!;
      expect(cpu).toMatchObject({
        time: fixtures.event.cpusys.time,
        timeEnd: fixtures.event.cpusys.timeEnd,
        isRegion: true,
        title: `cpusys on ${fixtures.event.cpusys.host}`,
        text: fixtures.event.cpusys.summary,
        tags: ['cpusys', fixtures.event.cpusys.host],
      });
      const e = fixtures.event.cpuidle;
      const short = e.container!.id.slice(0, 12);
      const idle = anns!.find((a) => a.id === e.id)!;
      expect(idle.tags).toEqual(['cpuidle', e.host, short]);
      expect(idle.title).toBe(`cpuidle on ${e.host} (${short})`);
    });
  });
});

describe('eventsToAnnotations', () => {
  it("prefers the backend's title/text/tags fields", () => {
    const frame = createDataFrame({
      fields: [
        { name: 'time', type: FieldType.time, values: [1000] },
        { name: 'timeEnd', type: FieldType.time, values: [1000] },
        { name: 'title', type: FieldType.string, values: ['T'] },
        { name: 'text', type: FieldType.string, values: ['X'] },
        { name: 'tags', type: FieldType.string, values: ['a, b'] },
      ],
    });
    expect(eventsToAnnotations([frame])).toEqual([
      {
        id: undefined,
        time: 1000,
        timeEnd: undefined,
        isRegion: false,
        title: 'T',
        text: 'X',
        tags: ['a', 'b'],
        color: undefined,
      },
    ]);
  });

  it('ignores frames without time', () => {
    expect(eventsToAnnotations([createDataFrame({ fields: [{ name: 'x', values: [1] }] })])).toEqual([]);
  });
});

describe('helpers', () => {
  beforeEach(() => setTemplateSrv(templateSrv()));
  it('expands multi-value variables', () => {
    expect(interpolateList(['$host', 'node-a', ''], {})).toEqual(['node-a', 'node-b']);
    expect(interpolateList(undefined, {})).toBeUndefined();
  });
  it('knows the variable kinds', () => {
    expect(variableKind(' Hosts ')).toBe('hosts');
    expect(variableKind({ refId: 'x', kind: 'containers' })).toBe('containers');
    expect(variableKind('pods')).toBeUndefined();
  });
});
