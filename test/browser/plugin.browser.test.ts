// The plugin in a real browser, on data from a real agent:
//
//   node --import tsx --test test/browser/*.test.ts          (as root; ~1 min)
//
// A real agent daemon captures a cpusys flame graph while `stress-ng --open` keeps the kernel busy; the real
// datasource backend executable is spawned and driven like Grafana does (test/backend/grafanaHost.ts); an HTTP
// server (harness.ts) serves the BUILT dist/ and answers the frontend's /api/ds/query and resource calls from
// that backend; headless Chromium (Debian's /usr/bin/chromium through playwright-core) opens a page whose host
// (host/host.tsx) loads dist/**/module.js with SystemJS + AMD as Grafana does, with the externals supplied by
// the real packages from node_modules. Asserted is what a user sees; screenshots go to test/artifacts/browser/.
//
// Needs: root (the agent loads BPF programs), `npm run -s build` (dist/ with the backend executable),
// chromium, stress-ng — all of which `scripts/setup.sh --tests` provides.
import * as assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import type { AutotracingEvent, NestedFlamegraph } from '../../agent/src/api/schemas';
import type { DataSourceInstanceSettings } from '../../src/backend/plugin/messages';
import type { PluginProcess } from '../backend/grafanaHost';
import { APP_ID, DIST, Harness, buildHost, distExternals, pluginMeta } from './harness';
import { workload } from '../helpers/workloads';
import { REPO, RealAgent, Workload, openStorm, startBackend } from './realStack';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO, 'test', 'artifacts', 'browser');
const CAPTURE_MS = 3000;
const FROM_SOURCE = __filename.endsWith('.ts');
const skip = !FROM_SOURCE
  ? 'run from source: node --import tsx --test test/browser/*.test.ts (not the compiled copy in build/)'
  : process.getuid?.() !== 0
    ? 'needs root: the real agent loads BPF programs'
    : false;

let agent: RealAgent | undefined;
let storm: Workload | undefined;
let plugin: PluginProcess | undefined;
let ds: DataSourceInstanceSettings;
let harness: Harness | undefined;
let context: BrowserContext | undefined;
let userDataDir = '';
let event: AutotracingEvent;
let nested: NestedFlamegraph;
const pageErrors: string[] = [];
const others: Record<string, AutotracingEvent> = {};
const cleanups: Array<() => Promise<void>> = [];
const QUIET = { interval: '1h', baselineWindow: '1h' };
const OTHER_WORKLOADS: Record<string, () => Workload> = {
  // vfork parents in uninterruptible sleep
  dload: () => new Workload(workload('dstate'), ['4', '8']),
  // 768 MiB at 300 MiB/s
  memburst: () => new Workload(workload('memgrow'), ['768', '300', '8']),
  // buffered writes and reads of a file
  iotracing: () =>
    new Workload('stress-ng', [
      '--hdd',
      '1',
      '--hdd-bytes',
      '128M',
      '--temp-path',
      os.tmpdir(),
      '--timeout',
      '30s',
      '--quiet',
    ]),
};

/** What host/host.tsx puts on the page's window (this file is Node code, without the DOM's types). */
interface HostWindow {
  __host: {
    shared(): string[];
    renderPanel(args: unknown): Promise<{ frames: number; fields: string[] }>;
    renderApp(args: { appMeta: Record<string, unknown> }): Promise<void>;
  };
  document: { elementFromPoint(x: number, y: number): { tagName: string } | null };
}
interface Canvas2D {
  width: number;
  height: number;
  getContext(
    kind: '2d'
  ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
const consoleErrors: string[] = [];

/** A frame's label as the panel shows it in kind mode (src/panels/flamegraph/frame.ts kindLabel: tag + look-alikes). */
function kindModeLabel(label: string, kind: string | undefined): string {
  const tags: Record<string, string> = { kernel: 'k', user: 'u', jit: 'j', process: 'proc', unknown: '?' };
  const name = label.replace(/\./g, '\u2024').replace(/\//g, '\u2215').replace(/:/g, '\u2236');
  return `${tags[kind ?? ''] ?? '?'}. ${name}`;
}

/** Symbols as the top table names them (it sums self over equal labels), most self first. */
function symbolsBySelf(fg: NestedFlamegraph): string[] {
  const self = new Map<string, number>();
  fg.rows.label.forEach((l, i) => {
    if (i === 0) return;
    const shown = kindModeLabel(l, fg.rows.kind?.[i]);
    self.set(shown, (self.get(shown) ?? 0) + fg.rows.self[i]!);
  });
  return [...self.entries()].sort((a, b) => b[1] - a[1]).map(([name]) => name);
}

/** The symbol with the most self time/samples. */
function hottestSymbol(fg: NestedFlamegraph): string {
  return symbolsBySelf(fg)[0]!;
}

/** The process with the most samples in the capture's evidence (data.topProcesses). */
function topProcess(e: AutotracingEvent): { comm: string; pid: number } {
  const procs = (e.data.topProcesses ?? []) as Array<{ comm: string; pid: number; samples: number }>;
  const top = [...procs].sort((a, b) => b.samples - a.samples)[0];
  assert.ok(top, 'the capture lists the processes on CPU');
  return top;
}

/** The kernel function with the most self samples in the capture, as the top table would name it. */
function topKernelFunction(fg: NestedFlamegraph): { name: string; self: number } {
  const self = new Map<string, number>();
  fg.rows.label.forEach((l, i) => {
    // kind mode shows names with look-alikes for . / : — pick a name that has none, so the text is the same
    if (fg.rows.kind?.[i] === 'kernel' && !/[./:]/.test(l)) self.set(l, (self.get(l) ?? 0) + fg.rows.self[i]!);
  });
  const [name, n] = [...self.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  return { name, self: n };
}

async function newPage(name: string): Promise<Page> {
  const page = await context!.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${name}: ${m.text()}`);
  });
  return page;
}

/** Runs the checks; the page's screenshot is saved whether they pass or not. */
async function withShot(page: Page, file: string, checks: () => Promise<void>): Promise<void> {
  try {
    await checks();
  } finally {
    await shot(page, file).catch(() => undefined);
    await page.close();
  }
}

async function shot(page: Page, file: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, file), fullPage: true });
}

describe('the built plugin in Chromium, on a real agent', { skip, timeout: 150_000 }, () => {
  before(async () => {
    assert.ok(
      fs.existsSync(path.join(DIST, 'module.js')) &&
        fs.existsSync(path.join(DIST, 'datasource', 'gpx_autotracing_linux_amd64')),
      'dist/ is not built: npm run -s build'
    );
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (scripts/setup.sh --tests)`);
    // quiet detectors: the only capture is the one asked for
    agent = await new RealAgent({
      host: 'browser-test-host',
      // detectors sample once an hour: the only captures are the ones asked for
      tracers: {
        cpusys: QUIET,
        cpuidle: QUIET,
        dload: QUIET,
        memburst: { ...QUIET, growthWindow: '1h' },
        iotracing: QUIET,
      },
    }).start();
    // the browser bundle first: esbuild would otherwise be on CPU beside the workload during the capture
    const host = await buildHost();
    storm = openStorm(1);
    const captured = (async () => {
      await new Promise((r) => setTimeout(r, 500));
      const r = await agent!.capture('cpusys', { durationMs: CAPTURE_MS });
      assert.equal(r.status, 202, `POST /api/v1/captures: ${r.text}`);
      const e = await agent!.waitForEvent(r.body.id!);
      await storm!.stop();
      return e;
    })();
    // the backend starts while the agent captures (kept as soon as it runs, so that after() stops it)
    const backend = startBackend(agent).then((b) => {
      plugin = b.plugin;
      ds = b.ds;
    });
    const [e] = await Promise.all([captured, backend]);
    event = e;
    // one capture of each other type, each with a workload that gives it something to show
    for (const [type, start] of Object.entries(OTHER_WORKLOADS)) {
      const w = start();
      cleanups.push(() => w.stop());
      await new Promise((r) => setTimeout(r, 800));
      const r = await agent.capture(type, { durationMs: CAPTURE_MS });
      assert.equal(r.status, 202, `POST /api/v1/captures ${type}: ${r.text}`);
      others[type] = await agent.waitForEvent(r.body.id!);
      await w.stop();
    }
    nested = await agent.get<NestedFlamegraph>(`/api/v1/events/${event.id}/flamegraph?format=nested`);
    harness = await new Harness(plugin!, ds, host.code).start();
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autotracing-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 1000 },
      timezoneId: 'UTC',
      locale: 'en-US',
    });
  });

  after(async () => {
    for (const c of cleanups) await c();
    await context?.close().catch(() => undefined);
    await harness?.stop();
    await plugin?.shutdown().catch(() => plugin?.kill());
    await storm?.stop();
    await agent?.stop();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  it('the capture is a real one: complete, with kernel stacks of the workload', () => {
    assert.equal(event.status, 'complete', `${event.status}: ${event.error}`);
    assert.ok(nested.total > 0 && nested.rows.label.includes('stress-ng-open'), 'stress-ng-open is in the flame graph');
    assert.ok(topKernelFunction(nested).name, 'the flame graph has kernel frames');
  });

  it("every AMD dependency of dist/ is supplied by the real packages (or is SystemJS's `module`)", async () => {
    const page = await newPage('externals');
    await page.goto(`${harness!.url}/harness/externals`);
    const shared = await page.evaluate(() => (globalThis as unknown as HostWindow).__host.shared());
    const missing = distExternals().all.filter((d) => d !== 'module' && !shared.includes(d));
    assert.deepEqual(missing, [], `dist/ needs externals the host does not supply: ${missing.join(', ')}`);
    await page.close();
  });

  it('flame-graph panel: query through the datasource, trigger header, kind legend, top table, drawn canvas', async () => {
    const page = await newPage('panel');
    await withShot(page, 'panel.png', async () => {
      await page.goto(`${harness!.url}/d/browser-test/flame-graph`);
      const info = await page.evaluate((args) => (globalThis as unknown as HostWindow).__host.renderPanel(args), {
        panelMeta: pluginMeta('panels/flamegraph'),
        datasourceUid: ds.uid,
        query: { queryType: 'flamegraph', eventId: event.id },
        from: event.time - 3_600_000,
        to: event.timeEnd + 60_000,
        title: 'Flame graph',
        width: 1300,
        height: 900,
      });
      assert.deepEqual(
        info.fields.slice(0, 4),
        ['label', 'level', 'value', 'self'],
        'the backend sent a nested-set frame'
      );

      const panel = page.getByTestId('flamegraph-panel');
      await panel.waitFor({ state: 'visible', timeout: 15_000 });
      // header: why the capture happened, where, who was on CPU
      await assert.doesNotReject(
        page.getByTestId('trigger-reason').getByText(event.trigger.reason).waitFor({ timeout: 10_000 })
      );
      assert.match(await page.getByTestId('event-header').innerText(), /browser-test-host/);
      const busiest = topProcess(event);
      assert.match(
        await page.getByTestId('process-context').innerText(),
        new RegExp(`^processes: ${busiest.comm} \\(${busiest.pid}\\) \\d+%`)
      );
      assert.match(await page.getByTestId('kind-legend').innerText(), /kernel \d+%/);

      // the top table @grafana/flamegraph renders beside the graph (sorted by self; its rows are virtualised, so only
      // the first ones exist): the hottest symbol, and the hottest kernel function when it ranks among the first ten
      const ranked = symbolsBySelf(nested);
      const cellOf = (name: string) => page.getByRole('cell', { name, exact: true }).first();
      await assert.doesNotReject(
        cellOf(ranked[0]!).waitFor({ state: 'visible', timeout: 10_000 }),
        `top table has no row for ${ranked[0]}`
      );
      const kernelTop = `k. ${topKernelFunction(nested).name}`;
      const rank = ranked.indexOf(kernelTop);
      if (rank >= 0 && rank < 10) {
        await assert.doesNotReject(
          cellOf(kernelTop).waitFor({ state: 'visible', timeout: 5000 }),
          `top table has no row for ${kernelTop}`
        );
      }

      // the flame graph canvas is drawn: sized, not one flat colour, and not hidden (what is at its top is the canvas)
      const canvas = page.locator('canvas[data-testid="flameGraph"]');
      await canvas.waitFor({ state: 'visible' });
      const box = (await canvas.boundingBox())!;
      const atRoot = await page.evaluate(
        ([x, y]) => (globalThis as unknown as HostWindow).document.elementFromPoint(x!, y!)?.tagName ?? null,
        [box.x + box.width / 2, box.y + 8]
      );
      assert.equal(atRoot, 'CANVAS', `the flame graph's root bar is covered or clipped (box ${JSON.stringify(box)})`);
      const drawn = await canvas.evaluate<{ w: number; h: number; colours: number }, Canvas2D>((c) => {
        const ctx = c.getContext('2d');
        if (!ctx || !c.width || !c.height) return { w: c.width, h: c.height, colours: 0 };
        const d = ctx.getImageData(0, 0, c.width, Math.min(c.height, 200)).data;
        const colours = new Set<number>();
        for (let i = 0; i < d.length; i += 16) colours.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
        return { w: c.width, h: c.height, colours: colours.size };
      });
      assert.ok(
        drawn.w > 300 && drawn.h > 50 && drawn.colours > 5,
        `flame graph canvas looks empty: ${JSON.stringify(drawn)}`
      );

      // hovering the root bar shows @grafana/flamegraph's tooltip (in Grafana's portal container): all samples
      await page.mouse.move(box.x + box.width / 2, box.y + 8);
      const tooltip = page.locator('#grafana-portal-container').getByText(/Total:/);
      await assert.doesNotReject(tooltip.waitFor({ state: 'visible', timeout: 5000 }), 'no tooltip over the root bar');
      const tip = await page.locator('#grafana-portal-container').innerText();
      assert.match(tip, new RegExp(`^${nested.rows.label[0]}`), tip);
      assert.match(tip, new RegExp(`Samples: ${nested.total}\\b`), tip);
    });
  });

  it('event detail page: header, summary, processes on CPU, the flame graph, via the resource routes', async () => {
    const page = await newPage('event-detail');
    await withShot(page, 'event-detail.png', async () => {
      await page.goto(`${harness!.url}/a/${APP_ID}/events/${event.id}?ds=${ds.uid}`);
      await page.evaluate((appMeta) => (globalThis as unknown as HostWindow).__host.renderApp({ appMeta }), {
        ...pluginMeta(''),
        enabled: true,
        pinned: true,
        jsonData: {},
      } as Record<string, unknown>);

      await page.getByTestId('event-detail-page').waitFor({ state: 'visible', timeout: 15_000 });
      await assert.doesNotReject(
        page.getByTestId('trigger-reason').getByText(event.trigger.reason).waitFor({ timeout: 10_000 })
      );
      assert.equal((await page.getByTestId('event-summary').innerText()).trim(), event.summary);
      // the agent that holds the event, from the backend's X-Autotracing-Agent header
      await assert.doesNotReject(page.getByText('agent local', { exact: false }).first().waitFor({ timeout: 5000 }));

      const procs = page.getByTestId('cpu-processes');
      await procs.waitFor({ state: 'visible' });
      // sorted by samples, the busiest first; the workload is among them
      const busiest = topProcess(event);
      assert.match(
        await procs.getByRole('row').nth(1).innerText(),
        new RegExp(`^${busiest.comm} \\(${busiest.pid}\\)`)
      );
      await assert.doesNotReject(
        procs.getByRole('row').filter({ hasText: 'stress-ng-open' }).first().waitFor({ timeout: 2000 }),
        'stress-ng-open row'
      );
      assert.ok(
        (await page.getByTestId('flamegraph-area').boundingBox())!.height >= 600,
        'the flame graph area has its height'
      );

      await page.getByTestId('capture-flamegraph').waitFor({ state: 'visible', timeout: 10_000 });
      // the top table is sorted by self: the hottest symbol of the capture is in its first row
      const hottest = hottestSymbol(nested);
      const firstRow = page.getByRole('row').filter({ has: page.getByRole('cell', { name: hottest, exact: true }) });
      await assert.doesNotReject(
        firstRow.first().waitFor({ state: 'visible', timeout: 10_000 }),
        `top table has no row for ${hottest}`
      );

      // the calls went where Grafana would send them, and the plugin's files were all found
      const resourceCalls = harness!.calls.filter((c) => c.url.startsWith(`/api/datasources/uid/${ds.uid}/resources/`));
      assert.ok(
        resourceCalls.some((c) => c.url.includes(`/resources/events/${event.id}/flamegraph`) && c.status === 200),
        'flame graph fetched through CallResource'
      );
      assert.deepEqual(
        harness!.calls.filter((c) => c.status === 404),
        [],
        'no 404s'
      );
    });
  });

  /** Opens an event's page in the app and waits for the page and its header. */
  async function openEvent(page: Page, e: AutotracingEvent): Promise<void> {
    await page.goto(`${harness!.url}/a/${APP_ID}/events/${e.id}?ds=${ds.uid}`);
    await page.evaluate((appMeta) => (globalThis as unknown as HostWindow).__host.renderApp({ appMeta }), {
      ...pluginMeta(''),
      enabled: true,
      pinned: true,
      jsonData: {},
    } as Record<string, unknown>);
    await page.getByTestId('event-detail-page').waitFor({ state: 'visible', timeout: 15_000 });
    await page.getByTestId('trigger-reason').getByText(e.trigger.reason).waitFor({ timeout: 10_000 });
  }

  it('dload event page: stuck tasks grouped by stack, named after the wait site; the off-CPU flame graph', async () => {
    const e = others.dload!;
    const page = await newPage('dload');
    await withShot(page, 'event-dload.png', async () => {
      await openEvent(page, e);
      const section = page.getByTestId('stuck-tasks');
      await section.waitFor({ state: 'visible' });
      assert.match(await section.innerText(), /dstate/);
      const groups = e.data.stackGroups as Array<{ count: number; stack: string[] }>;
      assert.ok(groups.length > 0, 'the capture grouped the stuck tasks');
      // the agent sends stacks outermost first; the page names a group after its innermost frame
      assert.match(
        await page.getByTestId('stack-group').first().innerText(),
        new RegExp(`${groups[0]!.count} tasks? in ${groups[0]!.stack.at(-1)}`)
      );
      const fg = page.getByTestId('flamegraph-section');
      await fg.waitFor({ state: 'visible' });
      assert.match(await fg.innerText(), /Off-CPU/);
      await page.locator('canvas[data-testid="flameGraph"]').waitFor({ state: 'visible', timeout: 10_000 });
    });
  });

  it('memburst event page: the top growers, the allocation flame graph', async () => {
    const e = others.memburst!;
    const page = await newPage('memburst');
    await withShot(page, 'event-memburst.png', async () => {
      await openEvent(page, e);
      const section = page.getByTestId('memory-growers');
      await section.waitFor({ state: 'visible' });
      assert.match(await section.innerText(), /memgrow/);
      assert.match(await page.getByTestId('flamegraph-section').innerText(), /allocations/i);
      await page.locator('canvas[data-testid="flameGraph"]').waitFor({ state: 'visible', timeout: 10_000 });
    });
  });

  it('iotracing event page: the device, latency histogram, IO by process and file', async () => {
    const e = others.iotracing!;
    // the page shows the busiest device: the one with the most traced bytes (others' IO may be busier than ours)
    type Dev = { device: string; traced?: { read?: { bytes: number }; write?: { bytes: number } } };
    const moved = (x: Dev) => (x.traced?.read?.bytes ?? 0) + (x.traced?.write?.bytes ?? 0);
    const dev = [...((e.data.devices ?? []) as Dev[])].sort((a, b) => moved(b) - moved(a))[0];
    const page = await newPage('iotracing');
    await withShot(page, 'event-iotracing.png', async () => {
      await openEvent(page, e);
      assert.ok(dev, 'the capture lists its devices');
      await page.getByTestId('io-device').waitFor({ state: 'visible' });
      assert.match(await page.getByTestId('io-device').innerText(), new RegExp(`Device ${dev.device}`));
      await page.getByTestId('io-latency').waitFor({ state: 'visible' });
      assert.match(await page.getByTestId('io-processes').innerText(), /stress-ng-hdd/);
    });
  });

  it('no uncaught errors in the pages', () => {
    assert.deepEqual(
      pageErrors,
      [],
      `page errors:\n${pageErrors.join('\n')}\nconsole errors:\n${consoleErrors.join('\n')}`
    );
  });
});
