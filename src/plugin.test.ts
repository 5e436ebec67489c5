/**
 * @jest-environment-options {"customExportConditions": ["node", "require", "default"]}
 */
/**
 * Contracts between plugin.json files, provisioning and the frontend: plugin ids, nested plugin paths, the
 * datasource settings keys, the query JSON shape of every provisioned query, panel options, alert rule.
 */
import fs from 'fs';
import path from 'path';
import { parse } from 'yaml';

import { APP_ID, DATASOURCE_ID, PANEL_ID } from './constants';
import { DEFAULT_OPTIONS } from './panels/flamegraph/types';
import { QUERY_TYPES, VALUE_KINDS } from './datasource/types';

const root = path.resolve(__dirname, '..');
const read = (p: string) => fs.readFileSync(path.join(root, p), 'utf8');
const json = (p: string) => JSON.parse(read(p));
const yaml = (p: string) => parse(read(p));

const QUERY_KEYS = new Set(['refId', 'queryType', 'types', 'hosts', 'container', 'eventId', 'limit', 'datasource', 'hide']);
const ALERT_QUERY_KEYS = new Set([...QUERY_KEYS, 'intervalMs', 'maxDataPoints']);

type Target = Record<string, unknown>;

function checkQuery(t: Target, allowed = QUERY_KEYS) {
  expect(QUERY_TYPES).toContain(t.queryType);
  expect(Object.keys(t).filter((k) => !allowed.has(k))).toEqual([]);
  for (const k of ['types', 'hosts']) {
    if (t[k] !== undefined) {
      expect(Array.isArray(t[k])).toBe(true);
    }
  }
}

describe('plugin.json files', () => {
  const app = json('plugin.json');
  it('root plugin.json is the app, with no backend, and src/plugin.json is the same file', () => {
    expect(app).toMatchObject({ type: 'app', id: APP_ID, backend: false });
    expect(fs.realpathSync(path.join(root, 'src/plugin.json'))).toBe(path.join(root, 'plugin.json'));
  });

  it('includes the nested datasource and panel by path, and the pages', () => {
    const ds = app.includes.find((i: Target) => i.type === 'datasource');
    const panel = app.includes.find((i: Target) => i.type === 'panel');
    expect(ds.path).toBe('datasource/plugin.json');
    expect(panel.path).toBe('panels/flamegraph/plugin.json');
    expect(json(`src/${ds.path}`)).toMatchObject({
      id: DATASOURCE_ID,
      type: 'datasource',
      backend: true,
      alerting: true,
      annotations: true,
      executable: 'gpx_autotracing',
    });
    expect(json(`src/${panel.path}`)).toMatchObject({ id: PANEL_ID, type: 'panel' });
    const pages = app.includes.filter((i: Target) => i.type === 'page').map((i: Target) => i.path);
    expect(pages).toEqual([
      '/a/%PLUGIN_ID%/overview',
      '/a/%PLUGIN_ID%/events',
      '/a/%PLUGIN_ID%/agents',
      '/plugins/%PLUGIN_ID%',
    ]);
  });

  it('ids follow the plugin id pattern', () => {
    for (const id of [APP_ID, DATASOURCE_ID, PANEL_ID]) {
      expect(id).toMatch(/^[0-9a-z]+-([0-9a-z]+-)?(app|panel|datasource)$/);
    }
  });
});

describe('provisioning', () => {
  const datasources = yaml('provisioning/datasources/autotracing.yaml').datasources as Target[];
  const at = datasources.find((d) => d.type === DATASOURCE_ID)!;

  it('provisions one AutoTracing datasource with the contract settings', () => {
    expect(at.uid).toBe('autotracing');
    const jsonData = at.jsonData as Record<string, unknown>;
    expect(Object.keys(jsonData).filter((k) => !['agents', 'discovery', 'timeoutMs', 'concurrency'].includes(k))).toEqual([]);
    expect(jsonData.agents).toEqual([{ name: 'local', url: 'http://agent:19704' }]);
    expect(Object.keys(at.secureJsonData as object)).toEqual(['token']);
  });

  it('enables the app and points its pages at that datasource', () => {
    const apps = yaml('provisioning/plugins/apps.yaml').apps;
    expect(apps).toEqual([expect.objectContaining({ type: APP_ID, disabled: false, jsonData: { datasourceUid: at.uid } })]);
  });

  describe('dashboard', () => {
    const dash = json('provisioning/dashboards/autotracing-overview.json');
    const panels = dash.panels as Target[];
    const onAt = (ds: unknown) => (ds as Target | undefined)?.uid === at.uid;

    it('queries the datasource in the contract shape', () => {
      const targets = panels.flatMap((p) => (p.targets as Target[]).filter((t) => onAt(t.datasource ?? p.datasource)));
      expect(targets.length).toBeGreaterThanOrEqual(5);
      targets.forEach((t) => checkQuery(t));
      const types = new Set(targets.map((t) => t.queryType));
      expect([...types].sort()).toEqual(['counts', 'dstate', 'events', 'flamegraph', 'io']);
    });

    it('has a counts time series, an events table, a host CPU panel and a flame graph on $event', () => {
      const byTitle = (re: RegExp) => panels.find((p) => re.test(String(p.title)))!;
      expect(byTitle(/Captures per type/).type).toBe('timeseries');
      expect(byTitle(/^Events$/).type).toBe('table');
      expect(byTitle(/Host system CPU/).type).toBe('timeseries');
      const fg = byTitle(/Flame graph/);
      expect(fg.type).toBe(PANEL_ID);
      expect((fg.targets as Target[])[0]).toMatchObject({ queryType: 'flamegraph', eventId: '$event' });
      expect(Object.keys(fg.options as object).sort()).toEqual(Object.keys(DEFAULT_OPTIONS).sort());
    });

    it('overlays every event as an annotation', () => {
      const anno = dash.annotations.list.find((a: Target) => onAt(a.datasource));
      expect(anno.enable).toBe(true);
      checkQuery(anno.target);
      expect(anno.target.queryType).toBe('events');
    });

    it('has host and type variables from the datasource and an event variable', () => {
      const vars = dash.templating.list as Target[];
      for (const v of vars.filter((x) => onAt(x.datasource))) {
        expect(VALUE_KINDS).toContain((v.query as Target).kind);
      }
      expect(vars.map((v) => v.name)).toEqual(['host', 'type', 'event']);
    });
  });

  it('has an alert rule on counts through the datasource', () => {
    const rules = yaml('provisioning/alerting/autotracing.yaml').groups[0].rules as Target[];
    const data = rules[0].data as Target[];
    const query = data.find((d) => d.datasourceUid === at.uid)!;
    checkQuery(query.model as Target, ALERT_QUERY_KEYS);
    expect((query.model as Target).queryType).toBe('counts');
    expect(rules[0].condition).toBe('C');
  });
});
