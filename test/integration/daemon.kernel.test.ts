// The agent as a service, end to end: a real daemon process on a random port with a real database
// file, driven through the CLI and HTTP like a user would — captures, flame graphs in every format,
// auth, restart, SIGHUP reloads, SIGTERM and kill -9 in the middle of captures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { DOMParser } from '@xmldom/xmldom';
import { fromPprof } from '../../agent/src/profiles/pprof';
import type { AutotracingEvent } from '../../agent/src/events/event';
import type { NestedFlamegraph, TracersResponse } from '../../agent/src/api/schemas';
import { startDaemon, tempDir, writeConfig, READ_TOKEN } from '../helpers/daemon';
import { spinner } from '../helpers/workloads';

// detection is tested per tracer elsewhere; here captures are asked for, so results do not depend on load
const NO_DETECTION = `tracers:
  cpusys: { enabled: false }
  cpuidle: { enabled: false }
  dload: { enabled: false }
  memburst: { enabled: false }
  iotracing: { enabled: false }
`;

function integrity(dir: string): string {
  const db = new Database(path.join(dir, 'data', 'events.db'), { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

test('manual capture through the CLI → listed, shown, flame graph in all four formats; auth scopes; metrics', async () => {
  const dir = tempDir();
  writeConfig(dir, NO_DETECTION);
  const d = await startDaemon(dir);
  const spin = spinner(20);
  try {
    const t = await d.cli(['trigger', 'cpusys', '--duration', '2', '--wait', '--json']);
    assert.equal(t.code, 0, t.stderr);
    const ev = JSON.parse(t.stdout.toString()) as AutotracingEvent;
    assert.equal(ev.status, 'complete');
    assert.equal(ev.host, 'itest-host');
    assert.ok(ev.timeEnd - ev.time >= 2000);

    const list = await d.cli(['events', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    assert.ok((JSON.parse(list.stdout.toString()) as AutotracingEvent[]).some((e) => e.id === ev.id));
    const table = await d.cli(['events', 'list']);
    assert.match(table.stdout.toString(), new RegExp(ev.id));
    const show = await d.cli(['events', 'show', ev.id]);
    assert.match(show.stdout.toString(), /cpusys/);

    const folded = (await d.cli(['flamegraph', ev.id, '--format', 'folded'])).stdout.toString();
    assert.match(folded, /^spinner;.*autotracing_spin_leaf \d+$/m, 'the spinner stack is in the folded profile');
    const json = JSON.parse(
      (await d.cli(['flamegraph', ev.id, '--format', 'json'])).stdout.toString()
    ) as NestedFlamegraph;
    const rows = json.rows;
    assert.equal(rows.label[0], 'all');
    // every row's value = self + its children's values (children: next rows one level deeper until the level drops back)
    for (let i = 0; i < rows.label.length; i++) {
      let kids = 0;
      for (let j = i + 1; j < rows.label.length && rows.level[j]! > rows.level[i]!; j++)
        if (rows.level[j] === rows.level[i]! + 1) kids += rows.value[j]!;
      assert.equal(rows.value[i], rows.self[i]! + kids, `row ${i} ${rows.label[i]}`);
    }
    const pprofFile = path.join(dir, 'p.pb.gz');
    assert.equal((await d.cli(['flamegraph', ev.id, '--format', 'pprof', '--output', pprofFile])).code, 0);
    const pp = fromPprof(fs.readFileSync(pprofFile));
    assert.equal(pp.total, json.total);
    assert.ok(gunzipSync(fs.readFileSync(pprofFile)).length > 0);
    const svg = (await d.cli(['flamegraph', ev.id, '--format', 'svg'])).stdout.toString();
    const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
    assert.equal(doc.documentElement?.nodeName, 'svg');
    assert.match(svg, /autotracing_spin_leaf/);

    // auth: no token → 401, read token on an admin route → 403, read token reads
    assert.equal((await d.api('/api/v1/events', { token: null })).status, 401);
    assert.equal(
      (await d.api('/api/v1/captures', { method: 'POST', body: '{"type":"cpusys"}', token: READ_TOKEN })).status,
      403
    );
    assert.equal((await d.api('/api/v1/events', { token: READ_TOKEN })).status, 200);
    assert.equal((await d.api('/healthz', { token: null })).status, 200);

    const metrics = await (await d.api('/metrics', { token: null })).text();
    assert.match(metrics, /autotracing_captures_total\{[^}]*type="cpusys"[^}]*status="complete"[^}]*\} 1/);
    assert.match(metrics, /autotracing_store_events\{[^}]*\} 1/);
  } finally {
    await spin.stop();
    d.signal('SIGTERM');
    await d.waitExit();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGHUP: a bad config is rejected and the old one kept; a good one applies', async () => {
  const dir = tempDir();
  const file = writeConfig(dir, NO_DETECTION);
  const d = await startDaemon(dir);
  try {
    const threshold = async () =>
      (await d.json<TracersResponse>('/api/v1/tracers')).tracers.find((t) => t.type === 'cpusys')!.config.sysThreshold;
    assert.equal(await threshold(), 45);
    fs.appendFileSync(file, 'bogus_key: 1\n');
    d.signal('SIGHUP');
    const rejected = await d.waitLog((l) => /reload rejected/.test(String(l.msg)));
    assert.match(JSON.stringify(rejected.errors), /bogus_key/);
    assert.equal(await threshold(), 45);
    writeConfig(
      dir,
      NO_DETECTION.replace('cpusys: { enabled: false }', 'cpusys: { enabled: false, sysThreshold: 60 }')
    );
    d.signal('SIGHUP');
    await d.waitLog((l) => l.msg === 'config reloaded');
    assert.equal(await threshold(), 60);
  } finally {
    d.signal('SIGTERM');
    await d.waitExit();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM during a capture: it ends partial, the database closes clean, a restart keeps everything', async () => {
  const dir = tempDir();
  writeConfig(dir, NO_DETECTION);
  let d = await startDaemon(dir);
  try {
    const done = await d.capture({ type: 'cpusys', durationMs: 1000 });
    await d.finished(done, 20_000);
    const inFlight = await d.capture({ type: 'cpusys', durationMs: 30_000 });
    await new Promise((r) => setTimeout(r, 1500));
    d.signal('SIGTERM');
    assert.equal(await d.waitExit(), 0);
    assert.equal(integrity(dir), 'ok');
    d = await startDaemon(dir);
    const a = await d.json<AutotracingEvent>(`/api/v1/events/${done}`);
    assert.equal(a.status, 'complete');
    const b = await d.json<AutotracingEvent>(`/api/v1/events/${inFlight}`);
    assert.equal(b.status, 'partial');
    assert.match(b.error ?? '', /stopped/);
    assert.ok(b.timeEnd - b.time < 10_000, 'the capture was cut short, not run to its end');
  } finally {
    d.signal('SIGTERM');
    await d.waitExit().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('kill -9 during a burst of captures: integrity ok, every event reported complete is there', async () => {
  const dir = tempDir();
  writeConfig(dir, NO_DETECTION);
  let d = await startDaemon(dir);
  try {
    const reportedComplete = new Set<string>();
    const inFlight: string[] = [];
    for (let i = 0; i < 6; i++) {
      const id = await d.capture({ type: 'cpusys', durationMs: 300 });
      inFlight.push(id);
      const e = await d.finished(id, 20_000);
      if (e.status === 'complete') reportedComplete.add(id);
    }
    // two more in flight when the process dies
    inFlight.push(await d.capture({ type: 'cpusys', durationMs: 5000 }));
    inFlight.push(await d.capture({ type: 'cpusys', durationMs: 5000 }));
    await new Promise((r) => setTimeout(r, 700));
    d.signal('SIGKILL');
    await d.waitExit();
    assert.equal(integrity(dir), 'ok');
    d = await startDaemon(dir);
    for (const id of reportedComplete)
      assert.equal((await d.json<AutotracingEvent>(`/api/v1/events/${id}`)).status, 'complete', id);
    for (const id of inFlight.slice(-2)) {
      const e = await d.json<AutotracingEvent>(`/api/v1/events/${id}`);
      assert.equal(e.status, 'partial', `${id} was capturing when the agent died`);
    }
    assert.equal(reportedComplete.size, 6);
  } finally {
    d.signal('SIGTERM');
    await d.waitExit().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
