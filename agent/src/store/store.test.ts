import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import {
  decodeCursor,
  encodeCursor,
  INTERRUPTED_ERROR,
  LATEST_VERSION,
  openStore,
  StoreError,
  storePath,
  type Store,
} from './index';
import type { AutotracingEvent } from '../events/event';
import { container, profileBytesFor, sampleEvent } from './testkit';

const root = mkdtempSync(join(tmpdir(), 'agent-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
function freshFile(): string {
  return storePath(join(root, `db${dirs++}`));
}

const T0 = Date.UTC(2026, 0, 1);

function storeError(code: string): (e: unknown) => boolean {
  return (e: unknown) => e instanceof StoreError && e.code === code;
}

function collect(
  store: Store,
  q: Parameters<Store['listEvents']>[0],
  between?: (page: number) => void
): AutotracingEvent[] {
  const all: AutotracingEvent[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page++) {
    const r = store.listEvents({ ...q, cursor });
    all.push(...r.events);
    if (!r.nextCursor) return all;
    cursor = r.nextCursor;
    between?.(page);
  }
  throw new Error('pagination did not end');
}

test('open: WAL, synchronous FULL, foreign keys, incremental auto-vacuum, migrations recorded, private file', () => {
  const file = freshFile();
  const s = openStore(file);
  try {
    assert.equal(s.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(s.db.pragma('synchronous', { simple: true }), 2);
    assert.equal(s.db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(s.db.pragma('auto_vacuum', { simple: true }), 2);
    assert.equal(s.schemaVersion, LATEST_VERSION);
    const m = s.db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as {
      version: number;
    }[];
    assert.deepEqual(
      m.map((r) => r.version),
      Array.from({ length: LATEST_VERSION }, (_, i) => i + 1)
    );
    assert.equal(statSync(file).mode & 0o077, 0, 'the database is not readable by others');
  } finally {
    s.close();
  }
});

test('insert, get, update, complete with profiles in one transaction', () => {
  const s = openStore(freshFile());
  try {
    const c = container(1);
    const e = s.insertEvent(sampleEvent({ time: T0, i: 1, container: c, type: 'cpuidle' }));
    assert.match(e.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(e.status, 'capturing');
    assert.equal(e.timeEnd, T0);
    assert.deepEqual(s.getEvent(e.id), e);
    assert.equal(s.getEvent('01ARZ3NDEKTSV4RRFFQ69G5FAV'), null);

    const u = s.updateEvent(e.id, { data: { context: { pid: 42 } }, summary: 'still capturing' });
    assert.deepEqual(u.data, { i: 1, context: { pid: 42 } }, 'data is merged one level deep');

    const cpu = profileBytesFor('cpu', 200_000);
    const pprof = gzipSync(randomBytes(5000));
    const done = s.completeEvent(
      e.id,
      { status: 'complete', summary: 'app-1 spent 80% in sys', data: { top: ['a'] }, timeEnd: T0 + 10_000 },
      [
        { name: 'cpu', title: 'On-CPU', unit: 'samples', total: 990, stacks: 120, blob: cpu },
        { name: 'raw', unit: 'count', total: 1, stacks: 1, blob: pprof },
      ]
    );
    assert.equal(done.status, 'complete');
    assert.equal(done.timeEnd, T0 + 10_000);
    assert.deepEqual(done.data.flamegraphs, [
      { name: 'cpu', title: 'On-CPU', unit: 'samples', total: 990, stacks: 120 },
      { name: 'raw', title: 'raw', unit: 'count', total: 1, stacks: 1 },
    ]);
    assert.deepEqual(s.getEvent(e.id), done);
    assert.deepEqual(s.getProfile(e.id, 'cpu'), cpu);
    assert.deepEqual(s.getProfile(e.id, 'raw'), pprof);
    assert.equal(s.getProfile(e.id, 'nope'), null);
    const infos = s.listProfiles(e.id);
    assert.equal(infos.find((p) => p.name === 'cpu')?.codec, 'br');
    assert.ok(infos.find((p) => p.name === 'cpu')!.storedBytes < cpu.length / 2, 'profiles are compressed');
    assert.equal(infos.find((p) => p.name === 'raw')?.codec, 'none', 'already-compressed blobs are stored as they are');

    // a failing completion leaves nothing half-written
    assert.throws(
      () =>
        s.completeEvent(e.id, { status: 'failed', summary: '' }, [
          { name: 'Bad Name', unit: 'samples', total: 1, stacks: 1, blob: cpu },
        ]),
      storeError('BAD_ARGUMENT')
    );
    assert.deepEqual(s.getEvent(e.id), done);
    assert.throws(
      () => s.completeEvent(e.id, { status: 'complete', data: { flamegraphs: 'not a list' }, timeEnd: Number.NaN }),
      storeError('INVALID_EVENT')
    );
    assert.deepEqual(s.getEvent(e.id), done);

    const failed = s.insertEvent(sampleEvent({ time: T0 + 1, i: 2 }));
    const f = s.completeEvent(failed.id, { status: 'failed', error: 'perf_event_open: EACCES' });
    assert.equal(f.error, 'perf_event_open: EACCES');
    assert.equal(s.completeEvent(failed.id, { status: 'partial', error: null }).error, undefined);

    assert.throws(() => s.insertEvent({ ...sampleEvent({ time: T0, i: 3 }), id: e.id }), storeError('CONFLICT'));
    assert.throws(
      () => s.insertEvent({ ...sampleEvent({ time: T0, i: 3 }), type: 'nosuch' as 'cpusys' }),
      storeError('INVALID_EVENT')
    );
    assert.throws(() => s.updateEvent('01ARZ3NDEKTSV4RRFFQ69G5FAV', { summary: 'x' }), storeError('NOT_FOUND'));
  } finally {
    s.close();
  }
});

test('deleting an event deletes its profiles (foreign key cascade)', () => {
  const s = openStore(freshFile());
  try {
    const e = s.insertEvent(sampleEvent({ time: T0, i: 1 }));
    s.completeEvent(e.id, { status: 'complete' }, [
      { name: 'cpu', unit: 'samples', total: 1, stacks: 1, blob: profileBytesFor('x', 1000) },
    ]);
    s.db.prepare('DELETE FROM events WHERE id = ?').run(e.id);
    assert.equal((s.db.prepare('SELECT count(*) AS n FROM profiles').get() as { n: number }).n, 0);
  } finally {
    s.close();
  }
});

function seed(s: Store, n: number): AutotracingEvent[] {
  const out: AutotracingEvent[] = [];
  s.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      // few distinct times, so many rows tie on time and the id decides the order
      const c = i % 4 === 0 ? null : container(i % 7);
      out.push(
        s.insertEvent({
          ...sampleEvent({
            time: T0 + Math.floor(i / 10) * 60_000,
            i,
            container: c,
            host: i % 2 ? 'node-1' : 'node-2',
          }),
          status: 'complete',
        })
      );
    }
  })();
  return out;
}

function newestFirst(a: AutotracingEvent, b: AutotracingEvent): number {
  return b.time - a.time || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

test('filters: types, time range (inclusive), container by id, id prefix, name and pod, host', () => {
  const s = openStore(freshFile());
  try {
    const all = seed(s, 300);
    const check = (
      q: Parameters<Store['listEvents']>[0],
      pred: (e: AutotracingEvent) => boolean,
      label: string
    ): void => {
      const got = collect(s, { ...q, limit: 37 }).map((e) => e.id);
      const want = all
        .filter(pred)
        .sort(newestFirst)
        .map((e) => e.id);
      assert.ok(want.length > 0, `${label}: the fixture has matches`);
      assert.deepEqual(got, want, label);
    };
    check({}, () => true, 'no filter');
    check({ types: ['dload'] }, (e) => e.type === 'dload', 'one type');
    check(
      { types: ['dload', 'cpusys', 'iotracing'] },
      (e) => ['dload', 'cpusys', 'iotracing'].includes(e.type),
      'three types'
    );
    const from = T0 + 5 * 60_000;
    const to = T0 + 12 * 60_000;
    check({ from, to }, (e) => e.time >= from && e.time <= to, 'time range');
    const c3 = container(3);
    check({ container: c3.id }, (e) => e.container?.id === c3.id, 'container id');
    check(
      { container: c3.id.slice(0, 12) },
      (e) => e.container?.id.startsWith(c3.id.slice(0, 12)) ?? false,
      'id prefix'
    );
    check({ container: 'app-3' }, (e) => e.container?.name === 'app-3', 'container name');
    check({ container: 'pod-5' }, (e) => e.container?.pod === 'pod-5', 'pod name');
    check(
      { container: 'app-3', types: ['cpusys', 'memburst'], from, to },
      (e) => e.container?.name === 'app-3' && ['cpusys', 'memburst'].includes(e.type) && e.time >= from && e.time <= to,
      'combined'
    );
    check({ host: 'node-2' }, (e) => e.host === 'node-2', 'host');
    assert.deepEqual(s.listEvents({ container: 'no-such-container' }), { events: [], nextCursor: null });
    assert.deepEqual(s.hosts(), ['node-1', 'node-2']);
    const cs = s.containers();
    assert.equal(cs.length, 7);
    assert.equal(cs.find((c) => c.id === c3.id)?.name, 'app-3');
    assert.equal(cs.find((c) => c.id === c3.id)?.events, all.filter((e) => e.container?.id === c3.id).length);

    assert.throws(() => s.listEvents({ types: ['cpusys', 'bogus'] }), storeError('BAD_ARGUMENT'));
    assert.throws(() => s.listEvents({ from: 10, to: 5 }), storeError('BAD_RANGE'));
    assert.throws(() => s.listEvents({ from: 1.5 }), storeError('BAD_RANGE'));
    assert.throws(() => s.listEvents({ limit: 0 }), storeError('BAD_ARGUMENT'));
    assert.throws(() => s.listEvents({ limit: 1e9 }), storeError('BAD_ARGUMENT'));
    // SQL-looking input is just a value
    assert.deepEqual(s.listEvents({ container: "x' OR 1=1 --", host: "'; DROP TABLE events; --" }).events, []);
    assert.equal(s.stats().events, 300);
  } finally {
    s.close();
  }
});

test('pagination over 1000+ rows never repeats or skips while another connection inserts between pages', () => {
  const file = freshFile();
  const s = openStore(file);
  const writer = openStore(file, { recover: false });
  try {
    const initial = seed(s, 1200);
    let added = 0;
    const inserted: AutotracingEvent[] = [];
    for (const q of [
      { limit: 50 },
      { limit: 33, types: ['cpusys', 'dload'] },
      { limit: 40, container: 'app-2' },
    ] as const) {
      const got = collect(s, q, (page) => {
        // new rows: newer than everything, tied with rows already returned, and older than the cursor
        const times = [
          T0 + 10_000 * 60_000 + page,
          T0 + Math.floor((1200 - page * 40) / 10) * 60_000,
          T0 + (page % 5) * 60_000,
        ];
        for (const time of times) {
          inserted.push(
            writer.insertEvent({
              ...sampleEvent({ time, i: 5000 + added++, container: container(2), type: 'cpusys' }),
              status: 'complete',
            })
          );
        }
      });
      const ids = got.map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, `${JSON.stringify(q)}: no row twice`);
      for (let i = 1; i < got.length; i++)
        assert.ok(newestFirst(got[i - 1]!, got[i]!) < 0, `${JSON.stringify(q)}: strictly newest first at ${i}`);
      const seen = new Set(ids);
      const matches = (e: AutotracingEvent): boolean =>
        ('types' in q ? (q.types as readonly string[]).includes(e.type) : true) &&
        ('container' in q ? e.container?.name === q.container : true);
      const missing = initial.filter((e) => matches(e) && !seen.has(e.id));
      assert.deepEqual(missing, [], `${JSON.stringify(q)}: every row present at the start is returned`);
      assert.ok(got.length >= initial.filter(matches).length);
    }
    assert.ok(added > 40, 'the other writer really inserted rows in between');
    assert.ok(collect(s, { limit: 1000 }).length === 1200 + added);
  } finally {
    writer.close();
    s.close();
  }
});

test('cursors are opaque base64url; malformed ones raise BAD_CURSOR', () => {
  const s = openStore(freshFile());
  try {
    seed(s, 30);
    const r = s.listEvents({ limit: 10 });
    assert.match(r.nextCursor!, /^[A-Za-z0-9_-]+$/);
    const k = decodeCursor(r.nextCursor!);
    assert.equal(encodeCursor(k), r.nextCursor);
    const good = Buffer.from(r.nextCursor!, 'base64url').toString();
    for (const bad of [
      'garbage!',
      'abc',
      Buffer.from('v1:abc:01ARZ3NDEKTSV4RRFFQ69G5FAV').toString('base64url'),
      Buffer.from('v2:1:01ARZ3NDEKTSV4RRFFQ69G5FAV').toString('base64url'),
      Buffer.from(good.replace(/:[0-9A-Z]+$/, ':lowercase')).toString('base64url'),
      Buffer.from(`${good}x`).toString('base64url'),
      Buffer.from('v1:99999999999999999:01ARZ3NDEKTSV4RRFFQ69G5FAV').toString('base64url'),
      `${r.nextCursor}=`,
      'x'.repeat(600),
    ]) {
      assert.throws(() => s.listEvents({ cursor: bad }), storeError('BAD_CURSOR'), bad);
    }
  } finally {
    s.close();
  }
});

test('counts by type and by container match the rows, buckets aligned to the step', () => {
  const s = openStore(freshFile());
  try {
    const all = seed(s, 500);
    const step = 7 * 60_000;
    const from = T0 + 3 * 60_000 + 1234;
    const to = T0 + 40 * 60_000;
    for (const by of ['type', 'container'] as const) {
      for (const extra of [{}, { types: ['cpusys', 'dload'] }, { container: 'app-4' }] as const) {
        const r = s.counts({ from, to, stepMs: step, by, ...extra });
        assert.ok(
          r.buckets.every((b) => b % step === 0),
          'aligned'
        );
        assert.ok(r.buckets[0]! <= from && r.buckets[0]! + step > from);
        assert.ok(r.buckets[r.buckets.length - 1]! <= to && r.buckets[r.buckets.length - 1]! + step > to);
        const want = new Map<string, number[]>();
        for (const e of all) {
          if (e.time < from || e.time > to) continue;
          if ('types' in extra && !(extra.types as readonly string[]).includes(e.type)) continue;
          if ('container' in extra && e.container?.name !== extra.container) continue;
          const key = by === 'type' ? e.type : (e.container?.id ?? '');
          const v = want.get(key) ?? new Array<number>(r.buckets.length).fill(0);
          v[Math.floor((e.time - r.buckets[0]!) / step)]! += 1;
          want.set(key, v);
        }
        const got = new Map(r.series.map((x) => [x.key, x.values]));
        assert.deepEqual(got, want, `${by} ${JSON.stringify(extra)}`);
        const total = r.series.reduce((a, x) => a + x.values.reduce((p, q) => p + q, 0), 0);
        assert.ok(total > 0);
        if (by === 'container') {
          assert.ok(r.series.some((x) => x.labels.container === 'host') || 'container' in extra);
          assert.ok(r.series.filter((x) => x.key !== '').every((x) => /^app-\d$/.test(x.labels.container_name ?? '')));
        } else {
          assert.ok(r.series.every((x) => x.labels.type === x.key));
        }
      }
    }
    assert.throws(() => s.counts({ from: 10, to: 5, stepMs: 1, by: 'type' }), storeError('BAD_RANGE'));
    assert.throws(() => s.counts({ from: 0, to: 5, stepMs: 0, by: 'type' }), storeError('BAD_RANGE'));
    assert.throws(() => s.counts({ from: 0, to: 1e12, stepMs: 1000, by: 'type' }), storeError('BAD_RANGE'));
    assert.throws(() => s.counts({ from: 0, to: 5, stepMs: 1, by: 'host' as 'type' }), storeError('BAD_ARGUMENT'));
  } finally {
    s.close();
  }
});

test('retention: by age, then oldest first until under the size bound; the file shrinks', () => {
  const file = freshFile();
  const s = openStore(file);
  try {
    const old = s.insertEvent({ ...sampleEvent({ time: T0 - 30 * 86_400_000, i: 0 }), status: 'complete' });
    const stuck = s.insertEvent(sampleEvent({ time: T0 - 40 * 86_400_000, i: 1 })); // capturing: never deleted
    const ids: string[] = [];
    for (let i = 0; i < 400; i++) {
      const e = s.insertEvent(sampleEvent({ time: T0 + i * 1000, i }));
      // incompressible, so the bytes really land in the file
      s.completeEvent(e.id, { status: 'complete' }, [
        { name: 'cpu', unit: 'samples', total: 1, stacks: 1, blob: randomBytes(48 * 1024) },
      ]);
      ids.push(e.id);
    }
    const before = s.stats();
    assert.ok(before.fileBytes > 18 * 2 ** 20, `wrote ${before.fileBytes} bytes`);
    const maxBytes = 6 * 2 ** 20;
    const r = s.applyRetention({ maxAgeMs: 7 * 86_400_000, maxBytes, now: T0 + 400_000 });
    assert.equal(r.deletedByAge, 1);
    assert.ok(r.deletedBySize > 250, `deleted ${r.deletedBySize}`);
    assert.equal(s.getEvent(old.id), null);
    assert.equal(s.getEvent(stuck.id)?.status, 'capturing');
    const after = s.stats();
    assert.ok(after.fileBytes <= maxBytes, `file ${after.fileBytes} > bound ${maxBytes}`);
    assert.equal(r.fileBytesAfter, after.fileBytes);
    assert.equal(after.freelistCount, 0, 'freed pages went back to the file system');
    const kept = ids.filter((id) => s.getEvent(id) !== null);
    assert.ok(kept.length > 20);
    assert.deepEqual(kept, ids.slice(ids.length - kept.length), 'the newest survive, the oldest went first');
    assert.equal((s.db.prepare('SELECT count(*) AS n FROM profiles').get() as { n: number }).n, kept.length);
    // under the bound: nothing more to do
    const again = s.applyRetention({ maxAgeMs: 7 * 86_400_000, maxBytes, now: T0 + 400_000 });
    assert.equal(again.deletedBySize + again.deletedByAge, 0);
  } finally {
    s.close();
  }
});

test('reopen keeps data; capturing events become partial; a newer schema is refused', () => {
  const file = freshFile();
  let s = openStore(file);
  const done = s.insertEvent(sampleEvent({ time: T0, i: 1 }));
  s.completeEvent(done.id, { status: 'complete', summary: 'ok' }, [
    { name: 'cpu', unit: 'samples', total: 5, stacks: 2, blob: profileBytesFor('p', 5000) },
  ]);
  const inflight = s.insertEvent(sampleEvent({ time: T0 + 1, i: 2 }));
  s.close();

  // a second reader that does not own the store leaves in-flight captures alone
  const peek = openStore(file, { recover: false });
  assert.equal(peek.getEvent(inflight.id)?.status, 'capturing');
  assert.equal(peek.recovered, 0);
  peek.close();

  s = openStore(file);
  assert.equal(s.recovered, 1);
  assert.equal(s.getEvent(done.id)?.summary, 'ok');
  assert.deepEqual(s.getProfile(done.id, 'cpu'), profileBytesFor('p', 5000));
  const p = s.getEvent(inflight.id)!;
  assert.equal(p.status, 'partial');
  assert.equal(p.error, INTERRUPTED_ERROR);
  s.close();

  const raw = new Database(file);
  raw
    .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
    .run(LATEST_VERSION + 1, 'from the future', Date.now());
  raw.close();
  assert.throws(() => openStore(file), storeError('DB_TOO_NEW'));
});

test('kill -9 of a writer mid-burst: integrity ok, every reported completion present, in-flight ones partial', async () => {
  const file = freshFile();
  // run as TypeScript through tsx, or as the compiled .js next to this compiled test
  const compiled = __filename.endsWith('.js');
  const writer = compiled
    ? [join(__dirname, 'crash-writer.js')]
    : ['--import', 'tsx', join(__dirname, 'crash-writer.ts')];
  const child = spawn(process.execPath, [...writer, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const completed: string[] = [];
  const capturing: string[] = [];
  let stderr = '';
  let buf = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, sig) => res(sig)));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`writer made too little progress; stderr: ${stderr}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [kind, id] = buf.slice(0, nl).split(' ');
        buf = buf.slice(nl + 1);
        if (kind === 'complete') completed.push(id!);
        if (kind === 'capturing') capturing.push(id!);
      }
      if (completed.length >= 150) {
        clearTimeout(timer);
        res();
      }
    });
    child.on('exit', () => rej(new Error(`writer exited early; stderr: ${stderr}`)));
  });
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');

  const s = openStore(file);
  try {
    assert.equal(s.db.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(s.db.pragma('foreign_key_check'), []);
    for (const id of completed) {
      const e = s.getEvent(id);
      assert.equal(e?.status, 'complete', `reported complete: ${id}`);
      assert.deepEqual(s.getProfile(id, 'cpu')?.subarray(0, 64), profileBytesFor(id, 64).subarray(0, 64));
    }
    for (const id of capturing) {
      const e = s.getEvent(id);
      assert.equal(e?.status, 'partial', `left capturing: ${id}`);
      assert.equal(e?.error, INTERRUPTED_ERROR);
    }
    assert.equal(s.stats().byStatus.capturing, 0);
    assert.ok(s.recovered >= capturing.length);
  } finally {
    s.close();
  }
});
