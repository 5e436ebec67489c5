// The server side of the browser test: an HTTP server on 127.0.0.1 that plays the parts of Grafana's server the
// plugin's frontend touches, backed by the REAL backend executable (spawned through test/backend/grafanaHost.ts):
//
//   /public/plugins/huatuo-autotracing-app/**        the built dist/ (module.js files, chunks, plugin.json, images)
//   /api/ds/query                                     → QueryData; Arrow frames → the JSON Grafana's server sends
//   /api/datasources/uid/<uid>/resources/<path>?…     → CallResource (code, headers, body passed through)
//   /harness/host.js                                  the browser host (host/host.tsx) bundled with the real
//                                                     react, @grafana/*, rxjs, lodash, d3, @emotion … by esbuild
//   any other GET                                     the page: boot data + host.js (the route decides what it renders)
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Plugin, build } from 'esbuild';
import type { DataSourceInstanceSettings } from '../../src/backend/plugin/messages';
import { dataQuery, type PluginProcess } from '../backend/grafanaHost';
import { queryDataToJSON } from './frameJson';
import { REPO } from './realStack';

export const APP_ID = 'huatuo-autotracing-app';
export const DIST = path.join(REPO, 'dist');
const PUBLIC_BASE = `public/plugins/${APP_ID}`;

/** Every AMD dependency of the built modules and chunks (`define([...], …)`), i.e. what the host must supply. */
export function distExternals(): { byFile: Record<string, string[]>; all: string[] } {
  const byFile: Record<string, string[]> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) {
        const m = /define\((\[[^\]]*\])/.exec(fs.readFileSync(p, 'utf8').slice(0, 4000));
        if (m) byFile[path.relative(DIST, p)] = JSON.parse(m[1]!) as string[];
      }
    }
  };
  walk(DIST);
  return { byFile, all: [...new Set(Object.values(byFile).flat())].sort() };
}

/** Stylesheets imported by packages (rc-picker, uPlot, monaco …) become <style> tags, as Grafana's bundle has them. */
const cssAsStyleTags: Plugin = {
  name: 'css-as-style-tags',
  setup(b) {
    b.onLoad({ filter: /\.css$/ }, (a) => ({
      loader: 'js',
      contents: `(function(){var s=document.createElement('style');s.textContent=${JSON.stringify(fs.readFileSync(a.path, 'utf8'))};document.head.appendChild(s);})();`,
    }));
  },
};

/**
 * esbuild gives a `.mjs` file that default-imports a CommonJS module Node's semantics (default = module.exports,
 * ignoring __esModule). @grafana/ui's published .mjs does `import Scrollbars from 'react-custom-scrollbars-2'`, a
 * CommonJS module with __esModule, and would get the exports object instead of the component. Grafana builds
 * @grafana/ui from its TypeScript source, where the default is exports.default; this plugin gives the .mjs files
 * that meaning too, by importing such modules through an ES wrapper.
 */
const esModuleInterop: Plugin = {
  name: 'esmodule-interop-for-mjs',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (a) => {
      if (!a.importer.endsWith('.mjs') || a.pluginData === 'inner') return undefined;
      const r = await b.resolve(a.path, {
        resolveDir: a.resolveDir,
        kind: a.kind,
        importer: a.importer,
        pluginData: 'inner',
      });
      if (r.errors.length || !/\.c?js$/.test(r.path)) return undefined;
      const head = fs.readFileSync(r.path, 'utf8');
      if (!head.includes('__esModule') || /^\s*(export|import)\s/m.test(head)) return undefined;
      return { path: r.path, namespace: 'cjs-interop' };
    });
    b.onLoad({ filter: /.*/, namespace: 'cjs-interop' }, (a) => ({
      loader: 'js',
      resolveDir: path.dirname(a.path),
      contents: `import * as ns from ${JSON.stringify(a.path)};\nexport * from ${JSON.stringify(a.path)};\nexport default ns.default;\n`,
    }));
  },
};

/** esbuild: host/host.tsx with every dependency bundled (production React, as Grafana ships). ~2–5 s. */
export async function buildHost(): Promise<{ code: string; ms: number; bytes: number }> {
  const t0 = Date.now();
  const r = await build({
    entryPoints: [path.join(__dirname, 'host', 'host.tsx')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    minify: false,
    sourcemap: false,
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': JSON.stringify(process.env.HOST_NODE_ENV ?? 'production'), global: 'globalThis' },
    loader: { '.svg': 'text', '.woff': 'empty', '.woff2': 'empty', '.ttf': 'empty', '.png': 'empty' },
    logLevel: 'silent',
    absWorkingDir: REPO,
    plugins: [cssAsStyleTags, esModuleInterop],
  });
  const code = r.outputFiles[0]!.text;
  return { code, ms: Date.now() - t0, bytes: code.length };
}

function readJson<T>(p: string): T {
  return JSON.parse(fs.readFileSync(p, 'utf8')) as T;
}

type PluginJson = { id: string; name: string; type: string; info: Record<string, unknown>; [k: string]: unknown };

/** plugin.json of dist/ (or a nested one) + what Grafana adds: module, baseUrl. */
export function pluginMeta(rel: string): PluginJson & { module: string; baseUrl: string } {
  const json = readJson<PluginJson>(path.join(DIST, rel, 'plugin.json'));
  const base = rel ? `${PUBLIC_BASE}/${rel}` : PUBLIC_BASE;
  return { ...json, module: `${base}/module.js`, baseUrl: base };
}

/** window.grafanaBootData: what Grafana's index.html puts there (trimmed to what plugins read). */
export function bootData(ds: DataSourceInstanceSettings) {
  const dsMeta = pluginMeta('datasource');
  const app = pluginMeta('');
  const jsonData = JSON.parse(Buffer.from(ds.jsonData).toString()) as Record<string, unknown>;
  return {
    settings: {
      appSubUrl: '',
      buildInfo: { version: '12.4.2', commit: 'browser-test', env: 'production', edition: 'Open Source' },
      featureToggles: {},
      defaultDatasource: ds.name,
      datasources: {
        [ds.name]: {
          id: ds.id,
          uid: ds.uid,
          name: ds.name,
          type: dsMeta.id,
          meta: dsMeta,
          jsonData,
          access: 'proxy',
          url: `/api/datasources/proxy/uid/${ds.uid}`,
          readOnly: false,
          isDefault: true,
        },
      },
      apps: {
        [APP_ID]: {
          id: APP_ID,
          path: app.module,
          version: String((app.info as { version?: string }).version ?? ''),
          preload: false,
        },
      },
      panels: {},
    },
    user: {
      isSignedIn: true,
      id: 1,
      login: 'admin',
      name: 'admin',
      orgId: 1,
      orgName: 'Main Org.',
      orgRole: 'Admin',
      isGrafanaAdmin: true,
      theme: 'dark',
      timezone: 'browser',
      weekStart: 'browser',
      locale: 'en-US',
      language: 'en-US',
      regionalFormat: 'en-US',
      permissions: {},
    },
    navTree: [],
    assets: { dark: '', light: '' },
  };
}

const TYPES: Record<string, string> = {
  '.js': 'application/javascript; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.md': 'text/markdown',
  '.map': 'application/json',
  '.txt': 'text/plain',
};

export interface HarnessCall {
  method: string;
  url: string;
  status: number;
}

export class Harness {
  url = '';
  readonly calls: HarnessCall[] = [];
  private server: http.Server | null = null;

  constructor(
    private readonly plugin: PluginProcess,
    private readonly ds: DataSourceInstanceSettings,
    private readonly hostJs: string
  ) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(e.stack ?? e));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private send(
    res: http.ServerResponse,
    req: http.IncomingMessage,
    status: number,
    type: string,
    body: string | Buffer,
    extra: Record<string, string> = {}
  ) {
    this.calls.push({ method: req.method ?? 'GET', url: req.url ?? '', status });
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...extra });
    res.end(body);
  }

  private async body(req: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://harness.invalid');
    const p = decodeURIComponent(u.pathname);
    if (p.startsWith(`/${PUBLIC_BASE}/`)) {
      const file = path.resolve(DIST, p.slice(PUBLIC_BASE.length + 2));
      if (!file.startsWith(DIST + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
        return this.send(res, req, 404, 'text/plain', 'not found');
      }
      return this.send(res, req, 200, TYPES[path.extname(file)] ?? 'application/octet-stream', fs.readFileSync(file));
    }
    if (p === '/harness/host.js') return this.send(res, req, 200, TYPES['.js']!, this.hostJs);
    if (p === '/api/ds/query' && req.method === 'POST') {
      // Grafana's server: parse the queries, QueryData on the datasource's backend, frames → JSON
      const body = JSON.parse((await this.body(req)).toString()) as {
        queries: Array<Record<string, unknown>>;
        from: string;
        to: string;
      };
      const from = Number(body.from);
      const to = Number(body.to);
      const queries = body.queries.map((q) =>
        dataQuery(String(q.refId), q, from, to, {
          maxDataPoints: Number(q.maxDataPoints ?? 1000),
          intervalMS: Number(q.intervalMs ?? 1000),
        })
      );
      const resp = await this.plugin.queryData(this.ds, queries);
      const json = queryDataToJSON(resp);
      const failed = Object.values(json.results).find((r) => r.status >= 400);
      return this.send(res, req, failed ? failed.status : 200, 'application/json', JSON.stringify(json));
    }
    const m = /^\/api\/datasources\/uid\/([^/]+)\/resources\/(.*)$/.exec(u.pathname);
    if (m) {
      if (m[1] !== this.ds.uid)
        return this.send(res, req, 404, 'application/json', JSON.stringify({ message: 'Data source not found' }));
      const r = await this.plugin.callResource(this.ds, m[2]!, u.search.slice(1), req.method ?? 'GET');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.headers))
        if (k !== 'content-length' && v[0] !== undefined) headers[k] = v[0];
      return this.send(res, req, r.code, headers['content-type'] ?? 'application/octet-stream', r.body, headers);
    }
    if (p.startsWith('/api/'))
      return this.send(res, req, 404, 'application/json', JSON.stringify({ message: `not served by the test: ${p}` }));
    if (req.method !== 'GET') return this.send(res, req, 405, 'text/plain', 'method not allowed');
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AutoTracing browser test</title>
<script>window.grafanaBootData = ${JSON.stringify(bootData(this.ds)).replace(/</g, '\\u003c')};</script>
<script src="/harness/host.js"></script>
</head><body class="theme-dark"><div id="root"></div></body></html>`;
    return this.send(res, req, 200, 'text/html; charset=utf-8', html);
  }
}
