/**
 * The browser side of the browser test: a minimal stand-in for Grafana's frontend that loads the BUILT plugin
 * modules (dist/**\/module.js, AMD) the way Grafana 12 does, and renders them with the REAL packages Grafana
 * would supply. Bundled by esbuild (test/browser/harness.ts) into one IIFE; the page sets
 * window.grafanaBootData before it runs, as Grafana's index.html does.
 *
 * Loading, as in grafana/public/app/features/plugins/loader/ (systemjs.ts, sharedDependencies.ts, utils.ts,
 * systemjsHooks.ts):
 * - SystemJS 6 with the AMD and named-register extras;
 * - every shared dependency is registered as `package:<name>` and an import map sends the bare name there,
 *   so `define(["react", "@grafana/ui", …])` in a plugin gets this page's single copy;
 * - modules are fetched (shouldFetch) and AMD sources wrapped to call window.__grafana_amd_define, as
 *   Grafana does to keep SystemJS's define apart from other AMD loaders;
 * - `module` (webpack's `amd-module` external) is SystemJS's AMD module object: its `uri` is the module's URL,
 *   from which the plugin's webpack runtime derives its public path and loads its lazy chunks (<script>, JSONP).
 *
 * What Grafana's app would provide and this page provides in a smaller form: BackendSrv (fetch to the test's
 * HTTP server, which answers /api/ds/query and /api/datasources/uid/<uid>/resources/* from the real backend
 * executable), DataSourceSrv, TemplateSrv, the router (react-router v6 BrowserRouter; Grafana uses v5 with
 * the v5-compat router), the panel chrome and the app page chrome (PluginPage renders its fallback).
 */
import * as emotionCss from '@emotion/css';
import * as emotionReact from '@emotion/react';
import * as grafanaData from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import * as grafanaUI from '@grafana/ui';
import * as d3 from 'd3';
import * as lodash from 'lodash';
import React from 'react';
import * as ReactAll from 'react';
import * as ReactDOM from 'react-dom';
import * as ReactDOMClient from 'react-dom/client';
import * as jsxRuntime from 'react/jsx-runtime';
import * as jsxDevRuntime from 'react/jsx-dev-runtime';
import * as reactRouter from 'react-router';
import * as reactRouterDom from 'react-router-dom';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';

import {
  type AppPlugin,
  type AppPluginMeta,
  type DataFrame,
  type DataQueryRequest,
  type DataSourceApi,
  type DataSourceInstanceSettings,
  type DataSourcePlugin,
  type PanelPlugin,
  type PanelProps,
  CoreApp,
  EventBusSrv,
  LoadingState,
  PluginContextProvider,
  ThemeContext,
  applyFieldOverrides,
  dateTime,
} from '@grafana/data';
import {
  type BackendSrv,
  type BackendSrvRequest,
  type FetchResponse,
  config,
  setBackendSrv,
  setDataSourceSrv,
  setTemplateSrv,
} from '@grafana/runtime';
import { GlobalStyles, PanelChrome, PortalContainer } from '@grafana/ui';
import { Observable, lastValueFrom } from 'rxjs';

// after every library (see the file)
import './systemjs';

type SystemJSLike = {
  set(id: string, mod: unknown): void;
  has(id: string): boolean;
  import(id: string): Promise<Record<string, unknown>>;
  addImportMap(map: { imports: Record<string, string> }): void;
  constructor: { prototype: Record<string, unknown> };
};
declare global {
  interface Window {
    System: SystemJSLike;
    __grafana_amd_define?: unknown;
    define?: unknown;
    grafanaBootData: unknown;
    __host: typeof host;
    __hostErrors: string[];
  }
}
const SystemJS = window.System;

// --- shared dependencies (Grafana's sharedDependenciesMap, for the packages this repository installs) ---
const grafanaUIWithLegacy: Record<string, unknown> = {
  ...grafanaUI,
  // Grafana: "Help the 6.4 to 6.5 migration"
  PanelPlugin: grafanaData.PanelPlugin,
  DataSourcePlugin: grafanaData.DataSourcePlugin,
  AppPlugin: grafanaData.AppPlugin,
  DataSourceApi: grafanaData.DataSourceApi,
};
export const SHARED: Record<string, unknown> = {
  '@emotion/css': emotionCss,
  '@emotion/react': emotionReact,
  '@grafana/data': grafanaData,
  '@grafana/runtime': grafanaRuntime,
  '@grafana/ui': grafanaUIWithLegacy,
  d3,
  emotion: emotionCss,
  lodash: { ...lodash, __useDefault: true },
  react: ReactAll,
  'react/jsx-runtime': jsxRuntime,
  'react/jsx-dev-runtime': jsxDevRuntime,
  'react-dom': ReactDOM,
  'react-dom/client': ReactDOMClient,
  'react-router-dom': reactRouterDom,
  // Grafana exposes react-router-dom-v5-compat here, which re-exports react-router v6
  'react-router': reactRouter,
  rxjs,
  'rxjs/operators': rxjsOperators,
};
const imports: Record<string, string> = {};
for (const [name, mod] of Object.entries(SHARED)) {
  SystemJS.set(`package:${name}`, mod);
  imports[name] = `package:${name}`;
}
SystemJS.addImportMap({ imports });

// Grafana fetches plugin modules and wraps AMD sources (systemjsHooks.ts: decorateSystemJSFetch)
const proto = SystemJS.constructor.prototype;
const systemFetch = proto.fetch as (url: string, opts?: RequestInit) => Promise<Response>;
proto.shouldFetch = () => true;
proto.fetch = async function (url: string, opts?: RequestInit) {
  const res = await systemFetch.call(this, url, opts);
  if (!/^(text|application)\/(x-)?javascript/.test(res.headers.get('content-type') ?? '')) {
    return res;
  }
  const source = await res.text();
  const wrapped = /define\(/.test(source) ? `(function(define) {\n${source}\n})(window.__grafana_amd_define);` : source;
  return new Response(new Blob([wrapped], { type: 'text/javascript' }));
};

// --- the services Grafana's app sets up ---

// Grafana registers its option editors at boot (public/app/core/components/OptionsUI/registry.tsx) and panel
// option builders look them up by id. The options pane is not shown here: each id gets an editor that renders
// nothing, enough for PanelPlugin.setPanelOptions to build and give its defaults.
const NO_EDITOR = () => null;
grafanaData.standardEditorsRegistry.setInit(() =>
  ['boolean', 'color', 'dashboard-uid', 'field-name', 'multi-select', 'number', 'radio', 'select', 'slider', 'strings', 'text', 'timezone', 'unit'].map(
    (id) => ({ id, name: id, description: '', editor: NO_EDITOR })
  )
);
window.__hostErrors = [];

function toQuery(params: BackendSrvRequest['params']): string {
  if (!params) {
    return '';
  }
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params as Record<string, unknown>)) {
    if (v === undefined || v === null) {
      continue;
    }
    for (const item of Array.isArray(v) ? v : [v]) {
      q.append(k, String(item));
    }
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** BackendSrv.fetch as Grafana's behaves for what plugins use: params, JSON bodies, responseType, FetchError. */
function fetchObservable<T>(options: BackendSrvRequest): Observable<FetchResponse<T>> {
  return new Observable((subscriber) => {
    const ctrl = new AbortController();
    (async () => {
      const url = `${options.url}${toQuery(options.params)}`;
      const headers: Record<string, string> = { ...(options.headers as Record<string, string>) };
      let body: BodyInit | undefined;
      if (options.data !== undefined) {
        body = typeof options.data === 'string' ? options.data : JSON.stringify(options.data);
        headers['Content-Type'] = headers['Content-Type'] ?? 'application/json';
      }
      const res = await fetch(url, { method: options.method ?? 'GET', headers, body, signal: ctrl.signal });
      let data: unknown;
      if (options.responseType === 'blob') {
        data = await res.blob();
      } else if (options.responseType === 'arraybuffer') {
        data = await res.arrayBuffer();
      } else {
        const text = await res.text();
        try {
          data = options.responseType === 'text' ? text : text ? JSON.parse(text) : text;
        } catch {
          data = text;
        }
      }
      const response = {
        data: data as T,
        status: res.status,
        statusText: res.statusText,
        ok: res.ok,
        headers: res.headers,
        redirected: res.redirected,
        type: res.type,
        url: res.url,
        config: options,
      } as FetchResponse<T>;
      if (!res.ok) {
        // Grafana's FetchError
        subscriber.error({ status: res.status, statusText: res.statusText, data, config: options });
        return;
      }
      subscriber.next(response);
      subscriber.complete();
    })().catch((e: unknown) => subscriber.error(e));
    return () => ctrl.abort();
  });
}

const backendSrv = {
  fetch: fetchObservable,
  request: <T,>(o: BackendSrvRequest) => lastValueFrom(fetchObservable<T>(o)).then((r) => r.data),
  datasourceRequest: <T,>(o: BackendSrvRequest) => lastValueFrom(fetchObservable<T>(o)),
  get: <T,>(url: string, params?: BackendSrvRequest['params']) => lastValueFrom(fetchObservable<T>({ url, params })).then((r) => r.data),
  post: <T,>(url: string, data?: unknown) => lastValueFrom(fetchObservable<T>({ url, method: 'POST', data })).then((r) => r.data),
  put: <T,>(url: string, data?: unknown) => lastValueFrom(fetchObservable<T>({ url, method: 'PUT', data })).then((r) => r.data),
  patch: <T,>(url: string, data?: unknown) => lastValueFrom(fetchObservable<T>({ url, method: 'PATCH', data })).then((r) => r.data),
  delete: <T,>(url: string) => lastValueFrom(fetchObservable<T>({ url, method: 'DELETE' })).then((r) => r.data),
  resolveCancelerIfExists: () => undefined,
};
setBackendSrv(backendSrv as unknown as BackendSrv);

setTemplateSrv({
  getVariables: () => [],
  replace: (target?: string) => target ?? '',
  containsTemplate: () => false,
  updateTimeRange: () => undefined,
} as unknown as Parameters<typeof setTemplateSrv>[0]);

type Boot = {
  settings: { datasources: Record<string, DataSourceInstanceSettings>; apps: Record<string, { path: string }> };
};
const boot = window.grafanaBootData as Boot;
const dsList = (): DataSourceInstanceSettings[] => Object.values(boot.settings.datasources);

/** Grafana's importPluginModule: SystemJS.import of public/plugins/<id>/module.js. */
export async function importPluginModule(modulePath: string): Promise<Record<string, unknown>> {
  return SystemJS.import(`/${modulePath.replace(/^\//, '')}`);
}

const dsInstances = new Map<string, Promise<DataSourceApi>>();
async function loadDatasource(settings: DataSourceInstanceSettings): Promise<DataSourceApi> {
  const mod = await importPluginModule(settings.meta.module);
  const dsPlugin = mod.plugin as DataSourcePlugin;
  const DataSourceClass = dsPlugin.DataSourceClass as unknown as new (s: DataSourceInstanceSettings) => DataSourceApi;
  const instance = new DataSourceClass(settings);
  instance.components = dsPlugin.components;
  instance.meta = settings.meta;
  return instance;
}

function findSettings(ref: unknown): DataSourceInstanceSettings | undefined {
  if (!ref) {
    return dsList().find((d) => d.isDefault) ?? dsList()[0];
  }
  const key = typeof ref === 'string' ? ref : ((ref as { uid?: string }).uid ?? '');
  return dsList().find((d) => d.uid === key || d.name === key);
}

setDataSourceSrv({
  getList: (filters: { pluginId?: string; type?: string } = {}) =>
    dsList().filter((d) => (!filters.pluginId || d.meta.id === filters.pluginId) && (!filters.type || d.type === filters.type)),
  getInstanceSettings: (ref: unknown) => findSettings(ref),
  get: (ref: unknown) => {
    const s = findSettings(ref);
    if (!s) {
      return Promise.reject(new Error(`Datasource ${JSON.stringify(ref)} was not found`));
    }
    if (!dsInstances.has(s.uid)) {
      dsInstances.set(s.uid, loadDatasource(s));
    }
    return dsInstances.get(s.uid)!;
  },
  reload: () => undefined,
  registerRuntimeDataSource: () => undefined,
} as unknown as Parameters<typeof setDataSourceSrv>[0]);

// --- rendering ---
function Shell({ children }: { children: React.ReactNode }) {
  return (
    <ThemeContext.Provider value={config.theme2}>
      <GlobalStyles />
      {children}
      {/* where @grafana/ui's Portal puts tooltips and menus, as Grafana's AppWrapper renders it */}
      <PortalContainer />
    </ThemeContext.Provider>
  );
}

function reportError(e: unknown) {
  const msg = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
  window.__hostErrors.push(msg);
  const el = document.createElement('pre');
  el.setAttribute('data-testid', 'host-error');
  el.textContent = msg;
  document.body.appendChild(el);
}

class Boundary extends React.Component<{ children: React.ReactNode }, { error?: Error }> {
  state: { error?: Error } = {};
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  componentDidCatch(error: Error) {
    reportError(error);
  }
  render() {
    return this.state.error ? <div data-testid="render-error">{String(this.state.error)}</div> : this.props.children;
  }
}

export interface PanelArgs {
  /** the panel's plugin.json (from dist/) plus module / baseUrl as Grafana computes them */
  panelMeta: { id: string; name: string; module: string; baseUrl: string; info: unknown };
  datasourceUid: string;
  query: Record<string, unknown>;
  from: number;
  to: number;
  title: string;
  width: number;
  height: number;
}

/**
 * A dashboard panel: the datasource plugin's query() (DataSourceWithBackend → POST /api/ds/query → the
 * backend's QueryData), field overrides as Grafana's PanelQueryRunner applies them, then the panel plugin's
 * component with the props Grafana's PanelStateWrapper passes, inside @grafana/ui's PanelChrome.
 */
async function renderPanel(root: HTMLElement, args: PanelArgs): Promise<{ frames: number; fields: string[] }> {
  const mod = await importPluginModule(args.panelMeta.module);
  const plugin = mod.plugin as PanelPlugin;
  plugin.meta = { ...(plugin.meta ?? {}), ...(args.panelMeta as unknown as PanelPlugin['meta']) };
  const ds = await grafanaRuntime.getDataSourceSrv().get({ uid: args.datasourceUid });
  const timeRange = { from: dateTime(args.from), to: dateTime(args.to), raw: { from: dateTime(args.from), to: dateTime(args.to) } };
  const target = { refId: 'A', datasource: { uid: ds.uid, type: ds.type }, ...args.query };
  const request = {
    app: CoreApp.Dashboard,
    requestId: 'Q100',
    timezone: 'browser',
    range: timeRange,
    interval: '1s',
    intervalMs: 1000,
    maxDataPoints: 1000,
    targets: [target],
    scopedVars: {},
    startTime: Date.now(),
    panelId: 1,
    panelPluginId: args.panelMeta.id,
    dashboardUID: 'browser-test',
  } as unknown as DataQueryRequest;
  const response = await lastValueFrom(ds.query(request) as Observable<{ data: DataFrame[]; error?: { message?: string } }>);
  if (response.error) {
    throw new Error(`query failed: ${response.error.message}`);
  }
  // a new panel's options: the defaults of the plugin's option builders (Grafana's getPanelOptionsWithDefaults)
  const options = lodash.cloneDeep(plugin.defaults) as Record<string, unknown>;
  const fieldConfig = { defaults: {}, overrides: [] };
  const replaceVariables = (s: string) => s;
  const series = applyFieldOverrides({
    data: response.data,
    fieldConfig,
    fieldConfigRegistry: plugin.fieldConfigRegistry,
    replaceVariables,
    theme: config.theme2,
    timeZone: 'browser',
  });
  const Panel = plugin.panel as React.ComponentType<PanelProps>;
  const eventBus = new EventBusSrv();
  ReactDOMClient.createRoot(root).render(
    <Shell>
      <div style={{ padding: 16, width: args.width, height: args.height }}>
        <PanelChrome title={args.title} width={args.width} height={args.height}>
          {(innerWidth: number, innerHeight: number) => (
            <Boundary>
              <Panel
                id={1}
                data={{ state: LoadingState.Done, series, timeRange, request }}
                timeRange={timeRange}
                timeZone="browser"
                options={options}
                fieldConfig={fieldConfig}
                transparent={false}
                width={innerWidth}
                height={innerHeight}
                renderCounter={1}
                title={args.title}
                eventBus={eventBus}
                onOptionsChange={() => undefined}
                onFieldConfigChange={() => undefined}
                replaceVariables={replaceVariables}
                onChangeTimeRange={() => undefined}
              />
            </Boundary>
          )}
        </PanelChrome>
      </div>
    </Shell>
  );
  return { frames: series.length, fields: series[0]?.fields.map((f) => f.name) ?? [] };
}

export interface AppArgs {
  appMeta: AppPluginMeta;
}

/** The app's root page at /a/<app id>/*, as Grafana's AppRootPage mounts it. */
async function renderApp(root: HTMLElement, args: AppArgs): Promise<void> {
  const mod = await importPluginModule(args.appMeta.module);
  const plugin = mod.plugin as AppPlugin;
  plugin.init(args.appMeta);
  plugin.meta = args.appMeta;
  const Root = plugin.root!;
  const basename = `/a/${args.appMeta.id}`;
  const { BrowserRouter, Routes, Route, useLocation } = reactRouterDom;
  function AppRootPage() {
    const location = useLocation();
    return (
      <PluginContextProvider meta={args.appMeta}>
        <Root
          meta={args.appMeta}
          basename={basename}
          path={location.pathname}
          query={Object.fromEntries(new URLSearchParams(location.search))}
          onNavChanged={() => undefined}
        />
      </PluginContextProvider>
    );
  }
  ReactDOMClient.createRoot(root).render(
    <Shell>
      <BrowserRouter>
        <div style={{ padding: 16 }}>
          <Boundary>
            <Routes>
              <Route path="/a/:pluginId/*" element={<AppRootPage />} />
            </Routes>
          </Boundary>
        </div>
      </BrowserRouter>
    </Shell>
  );
}

const host = {
  renderPanel: (args: PanelArgs) =>
    renderPanel(document.getElementById('root')!, args).catch((e) => {
      reportError(e);
      throw e;
    }),
  renderApp: (args: AppArgs) =>
    renderApp(document.getElementById('root')!, args).catch((e) => {
      reportError(e);
      throw e;
    }),
  /** what each bare name resolves to, for the test's check that every external of dist/ is supplied */
  shared: () => Object.keys(SHARED),
};
window.__host = host;
