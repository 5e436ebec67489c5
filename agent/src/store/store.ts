// The event store: one SQLite file (better-sqlite3, WAL) holding a row per capture and its compressed
// profiles. See README.md beside this file for the choices (durability, compression, retention).
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants, inflateSync } from 'node:zlib';
import { Value } from '@sinclair/typebox/value';
import { monotonicFactory } from 'ulid';
import {
  EventSchema,
  TRACER_TYPES,
  type AutotracingEvent,
  type ContainerRef,
  type EventStatus,
  type FlamegraphRef,
  type TracerType,
  type Trigger,
} from '../events/event';
import { StoreError } from './errors';
import { decodeCursor, encodeCursor } from './cursor';
import { LATEST_VERSION, MIGRATIONS } from './migrations';

export const INTERRUPTED_ERROR = 'agent stopped during capture';
export const DB_FILE_NAME = 'events.db';

/** Where the store lives inside the configured dataDir. */
export function storePath(dataDir: string): string {
  return join(dataDir, DB_FILE_NAME);
}

export interface OpenOptions {
  /** Mark events left `capturing` as `partial` (a previous process died). Only the owning agent should. Default true. */
  recover?: boolean;
  /** Milliseconds to wait for a lock held by another connection. Default 5000. */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

export type NewEvent = Omit<AutotracingEvent, 'id' | 'status' | 'timeEnd' | 'error'> & {
  id?: string;
  status?: EventStatus;
  timeEnd?: number;
  error?: string;
};

export interface EventPatch {
  summary?: string;
  status?: EventStatus;
  error?: string | null;
  /** merged one level deep into the stored data (keys here replace keys there) */
  data?: Record<string, unknown>;
  timeEnd?: number;
  trigger?: Trigger;
  container?: ContainerRef | null;
}

export interface CompleteResult {
  status: Exclude<EventStatus, 'capturing'>;
  summary?: string;
  data?: Record<string, unknown>;
  timeEnd?: number;
  error?: string | null;
}

export interface ProfileInput {
  name: string;
  title?: string;
  unit: FlamegraphRef['unit'];
  total: number;
  stacks: number;
  /** the serialized profile, uncompressed; the store compresses it */
  blob: Buffer;
}

export interface ProfileInfo {
  eventId: string;
  name: string;
  title: string;
  unit: FlamegraphRef['unit'];
  total: number;
  stacks: number;
  codec: 'br' | 'deflate' | 'none';
  rawBytes: number;
  storedBytes: number;
}

export interface ListQuery {
  types?: readonly string[];
  /** inclusive, ms since epoch */
  from?: number;
  /** inclusive, ms since epoch */
  to?: number;
  /** a container id, an id prefix (≥ 4 characters), a container name or a pod name */
  container?: string;
  host?: string;
  limit?: number;
  cursor?: string | null;
}

export interface ListResult {
  events: AutotracingEvent[];
  /** null when this is the last page */
  nextCursor: string | null;
}

export interface CountsQuery {
  from: number;
  to: number;
  stepMs: number;
  by: 'type' | 'container';
  types?: readonly string[];
  container?: string;
  host?: string;
}

export interface CountsResult {
  from: number;
  to: number;
  stepMs: number;
  by: 'type' | 'container';
  /** bucket start times (multiples of stepMs since the epoch); bucket i counts events with time in [buckets[i], buckets[i]+stepMs) ∩ [from, to] */
  buckets: number[];
  series: { key: string; labels: Record<string, string>; values: number[] }[];
}

export interface ContainerSummary {
  id: string;
  name: string | null;
  runtime: string | null;
  pod: string | null;
  namespace: string | null;
  events: number;
  lastTime: number;
}

export interface StoreStats {
  events: number;
  profiles: number;
  byStatus: Record<EventStatus, number>;
  oldest: number | null;
  newest: number | null;
  pageSize: number;
  pageCount: number;
  freelistCount: number;
  /** (pageCount − freelistCount) × pageSize: bytes holding data */
  usedBytes: number;
  dbFileBytes: number;
  walFileBytes: number;
  /** db + WAL (+ shm) on disk: what the size bound applies to */
  fileBytes: number;
  schemaVersion: number;
}

export interface RetentionOptions {
  maxAgeMs: number;
  maxBytes: number;
  now?: number;
  /** delete down to this fraction of maxBytes once over it, so retention does not run on every insert (default 0.9) */
  lowWater?: number;
}

export interface RetentionResult {
  deletedByAge: number;
  deletedBySize: number;
  fileBytesBefore: number;
  fileBytesAfter: number;
  vacuumedPages: number;
}

export type StoreChange = { kind: 'insert' | 'update' | 'complete'; event: AutotracingEvent };

interface EventRow {
  id: string;
  type: string;
  host: string;
  time: number;
  time_end: number;
  status: string;
  error: string | null;
  summary: string;
  container_id: string | null;
  container_name: string | null;
  container_runtime: string | null;
  container_pod: string | null;
  container_namespace: string | null;
  container_qos: string | null;
  container_cgroup: string | null;
  trigger_json: string;
  data_json: string;
}

interface ProfileRow {
  event_id: string;
  name: string;
  title: string;
  unit: string;
  total: number;
  stacks: number;
  codec: 'br' | 'deflate' | 'none';
  raw_bytes: number;
  stored_bytes: number;
}

const EVENT_COLUMNS = `id, type, host, time, time_end, status, error, summary, container_id, container_name, container_runtime,
  container_pod, container_namespace, container_qos, container_cgroup, trigger_json, data_json`;
export const INSERT_EVENT_SQL = `INSERT INTO events (${EVENT_COLUMNS}, updated_at) VALUES (@id, @type, @host, @time, @time_end,
  @status, @error, @summary, @container_id, @container_name, @container_runtime, @container_pod, @container_namespace,
  @container_qos, @container_cgroup, @trigger_json, @data_json, @updated_at)`;

const MAX_LIST_LIMIT = 10_000;
const MAX_BUCKETS = 100_000;
/** buckets × series in one counts answer: beyond this the JSON alone costs hundreds of MiB */
const MAX_COUNT_CELLS = 500_000;
/** brotli quality 5: see README.md for the measurement behind it */
const BROTLI_QUALITY = 5;

function rowToEvent(r: EventRow): AutotracingEvent {
  const container: ContainerRef | null =
    r.container_id === null
      ? null
      : {
          id: r.container_id,
          name: r.container_name,
          runtime: r.container_runtime ?? 'cgroup',
          pod: r.container_pod,
          namespace: r.container_namespace,
          qos: r.container_qos,
          cgroup: r.container_cgroup ?? '',
        };
  const e: AutotracingEvent = {
    id: r.id,
    type: r.type as TracerType,
    host: r.host,
    time: r.time,
    timeEnd: r.time_end,
    container,
    trigger: JSON.parse(r.trigger_json) as Trigger,
    summary: r.summary,
    status: r.status as EventStatus,
    data: JSON.parse(r.data_json) as Record<string, unknown>,
  };
  if (r.error !== null) e.error = r.error;
  return e;
}

/** The events row of an event (bulk loaders such as bench/store use it with INSERT_EVENT_SQL). */
export function eventParams(e: AutotracingEvent, now: number): Record<string, string | number | null> {
  const c = e.container;
  return {
    id: e.id,
    type: e.type,
    host: e.host,
    time: e.time,
    time_end: e.timeEnd,
    status: e.status,
    error: e.error ?? null,
    summary: e.summary,
    container_id: c?.id ?? null,
    container_name: c?.name ?? null,
    container_runtime: c?.runtime ?? null,
    container_pod: c?.pod ?? null,
    container_namespace: c?.namespace ?? null,
    container_qos: c?.qos ?? null,
    container_cgroup: c?.cgroup ?? null,
    trigger_json: JSON.stringify(e.trigger),
    data_json: JSON.stringify(e.data),
    updated_at: now,
  };
}

function checkEvent(e: AutotracingEvent): void {
  if (!Value.Check(EventSchema, e)) {
    const first = [...Value.Errors(EventSchema, e)].slice(0, 5).map((x) => `${x.path || '/'}: ${x.message}`);
    throw new StoreError('INVALID_EVENT', `event does not match the Event contract: ${first.join('; ')}`);
  }
  if (!Number.isSafeInteger(e.time) || !Number.isSafeInteger(e.timeEnd)) {
    throw new StoreError('INVALID_EVENT', 'time and timeEnd must be whole milliseconds');
  }
}

function checkTypes(types: readonly string[] | undefined): void {
  for (const t of types ?? []) {
    if (!(TRACER_TYPES as readonly string[]).includes(t)) {
      throw new StoreError('BAD_ARGUMENT', `unknown event type "${t}" (known: ${TRACER_TYPES.join(', ')})`);
    }
  }
}

function checkTime(name: string, v: number | undefined): void {
  if (v !== undefined && !Number.isSafeInteger(v))
    throw new StoreError('BAD_RANGE', `${name} must be whole milliseconds since the epoch`);
}

export function compressProfile(raw: Buffer): { codec: 'br' | 'none'; blob: Buffer } {
  if (raw.length < 64) return { codec: 'none', blob: raw };
  const br = brotliCompressSync(raw, {
    params: {
      [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [zlibConstants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
  // already-compressed input (pprof is gzip) does not shrink: keep it as it is
  return br.length < raw.length * 0.95 ? { codec: 'br', blob: br } : { codec: 'none', blob: raw };
}

function decompressProfile(codec: string, blob: Buffer): Buffer {
  switch (codec) {
    case 'br':
      return brotliDecompressSync(blob);
    case 'deflate':
      return inflateSync(blob);
    case 'none':
      return blob;
    default:
      throw new Error(`unknown profile codec ${codec}`);
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export class Store {
  readonly db: Database.Database;
  readonly file: string;
  /** events marked partial at open because a previous process died while capturing them */
  readonly recovered: number;
  private readonly newId = monotonicFactory();
  private readonly listeners = new Set<(c: StoreChange) => void>();
  private readonly stmts;

  constructor(file: string, opts: OpenOptions = {}) {
    this.file = file;
    const readonly = opts.readonly ?? false;
    if (!readonly) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
      // events hold command lines and paths: not for other users (the WAL and shm files copy this mode)
      closeSync(openSync(file, 'a', 0o600));
    }
    this.db = new Database(file, { readonly, fileMustExist: readonly, timeout: opts.busyTimeoutMs ?? 5000 });
    try {
      this.recovered = this.init(readonly, opts.recover ?? !readonly);
    } catch (e) {
      this.db.close();
      throw e;
    }
    this.stmts = {
      insert: this.db.prepare(INSERT_EVENT_SQL),
      update: this.db.prepare(
        `UPDATE events SET type=@type, host=@host, time=@time, time_end=@time_end, status=@status, error=@error, summary=@summary,
          container_id=@container_id, container_name=@container_name, container_runtime=@container_runtime,
          container_pod=@container_pod, container_namespace=@container_namespace, container_qos=@container_qos,
          container_cgroup=@container_cgroup, trigger_json=@trigger_json, data_json=@data_json, updated_at=@updated_at
         WHERE id=@id`
      ),
      get: this.db.prepare<[string], EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`),
      upsertProfile: this.db.prepare(
        `INSERT INTO profiles (event_id, name, title, unit, total, stacks, codec, raw_bytes, blob)
         VALUES (@event_id, @name, @title, @unit, @total, @stacks, @codec, @raw_bytes, @blob)
         ON CONFLICT (event_id, name) DO UPDATE SET title=excluded.title, unit=excluded.unit, total=excluded.total,
           stacks=excluded.stacks, codec=excluded.codec, raw_bytes=excluded.raw_bytes, blob=excluded.blob`
      ),
      getProfile: this.db.prepare<[string, string], { codec: string; blob: Buffer }>(
        'SELECT codec, blob FROM profiles WHERE event_id = ? AND name = ?'
      ),
      listProfiles: this.db.prepare<[string], ProfileRow>(
        'SELECT event_id, name, title, unit, total, stacks, codec, raw_bytes, length(blob) AS stored_bytes FROM profiles WHERE event_id = ? ORDER BY name'
      ),
    };
  }

  private pragmaNumber(name: string): number {
    return Number(this.db.pragma(name, { simple: true }));
  }

  private init(readonly: boolean, recover: boolean): number {
    const db = this.db;
    if (readonly) {
      this.checkVersion();
      return 0;
    }
    const fresh = (db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n === 0;
    // must precede the first table; changing it later needs a VACUUM (done below for old files)
    if (fresh) db.pragma('auto_vacuum = INCREMENTAL');
    const mode = String(db.pragma('journal_mode = WAL', { simple: true }));
    if (mode !== 'wal') throw new Error(`cannot switch ${this.file} to WAL (journal_mode is ${mode})`);
    // FULL: a completed event survives power loss too, at ~4 ms per commit here (README.md)
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('journal_size_limit = 4194304');
    this.migrate();
    if (!fresh && this.pragmaNumber('auto_vacuum') !== 2) {
      db.pragma('auto_vacuum = INCREMENTAL');
      db.exec('VACUUM');
    }
    if (!recover) return 0;
    return db
      .prepare(
        `UPDATE events SET status = 'partial', error = @error, time_end = max(time_end, time), updated_at = @now
         WHERE status = 'capturing'`
      )
      .run({ error: INTERRUPTED_ERROR, now: Date.now() }).changes;
  }

  private currentVersion(): number {
    const t = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (!t) return 0;
    const r = this.db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
    return r.v ?? 0;
  }

  private checkVersion(): number {
    const v = this.currentVersion();
    if (v > LATEST_VERSION) {
      throw new StoreError(
        'DB_TOO_NEW',
        `${this.file} has schema version ${v}, newer than this agent understands (${LATEST_VERSION}); upgrade the agent or move the file away`
      );
    }
    return v;
  }

  private migrate(): void {
    const db = this.db;
    db.transaction(() => {
      db.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)'
      );
    }).immediate();
    this.checkVersion();
    for (const m of MIGRATIONS) {
      // IMMEDIATE: a second process opening the same file waits instead of applying it twice
      db.transaction(() => {
        if (this.currentVersion() >= m.version) return;
        db.exec(m.sql);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
          m.version,
          m.name,
          Date.now()
        );
      }).immediate();
    }
  }

  /** Schema version of the open file. */
  get schemaVersion(): number {
    return this.currentVersion();
  }

  subscribe(fn: (c: StoreChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(c: StoreChange): void {
    for (const fn of this.listeners) {
      try {
        fn(c);
      } catch {
        /* a listener's failure is not the writer's */
      }
    }
  }

  /** Stores a new event (status `capturing` unless given); fills id (ULID) and timeEnd (= time). */
  insertEvent(input: NewEvent): AutotracingEvent {
    const e: AutotracingEvent = {
      ...input,
      id: input.id ?? this.newId(),
      status: input.status ?? 'capturing',
      timeEnd: input.timeEnd ?? input.time,
    };
    if (e.error === undefined) delete e.error;
    checkEvent(e);
    try {
      this.db.transaction(() => this.stmts.insert.run(eventParams(e, Date.now())))();
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
        throw new StoreError('CONFLICT', `event ${e.id} exists already`);
      throw err;
    }
    this.emit({ kind: 'insert', event: e });
    return e;
  }

  getEvent(id: string): AutotracingEvent | null {
    const r = this.stmts.get.get(id);
    return r ? rowToEvent(r) : null;
  }

  private applyPatch(e: AutotracingEvent, p: EventPatch): AutotracingEvent {
    const next: AutotracingEvent = { ...e };
    if (p.summary !== undefined) next.summary = p.summary;
    if (p.status !== undefined) next.status = p.status;
    if (p.timeEnd !== undefined) next.timeEnd = p.timeEnd;
    if (p.trigger !== undefined) next.trigger = p.trigger;
    if (p.container !== undefined) next.container = p.container;
    if (p.data !== undefined) next.data = { ...e.data, ...p.data };
    if (p.error === null) delete next.error;
    else if (p.error !== undefined) next.error = p.error;
    checkEvent(next);
    return next;
  }

  private mustGet(id: string): AutotracingEvent {
    const e = this.getEvent(id);
    if (!e) throw new StoreError('NOT_FOUND', `no event ${id}`);
    return e;
  }

  updateEvent(id: string, patch: EventPatch): AutotracingEvent {
    const next = this.db
      .transaction(() => {
        const e = this.applyPatch(this.mustGet(id), patch);
        this.stmts.update.run(eventParams(e, Date.now()));
        return e;
      })
      .immediate();
    this.emit({ kind: 'update', event: next });
    return next;
  }

  /**
   * Ends a capture: the final status, summary, evidence and profiles in ONE transaction, so a reader
   * (or a restart after kill -9) sees either the capturing row or the complete one with all its profiles.
   * data.flamegraphs gets a FlamegraphRef per stored profile unless `result.data.flamegraphs` is given.
   */
  completeEvent(id: string, result: CompleteResult, profiles: readonly ProfileInput[] = []): AutotracingEvent {
    if ((result.status as string) === 'capturing')
      throw new StoreError('BAD_ARGUMENT', 'completeEvent needs a final status');
    for (const p of profiles) {
      if (!/^[a-z0-9_-]{1,64}$/.test(p.name))
        throw new StoreError('BAD_ARGUMENT', `profile name "${p.name}" must match [a-z0-9_-]{1,64}`);
      if (!['samples', 'nanoseconds', 'bytes', 'count'].includes(p.unit))
        throw new StoreError(
          'BAD_ARGUMENT',
          `profile unit "${p.unit}" is not one of samples, nanoseconds, bytes, count`
        );
    }
    // compress outside the write transaction
    const packed = profiles.map((p) => ({ p, ...compressProfile(p.blob) }));
    const next = this.db
      .transaction(() => {
        const cur = this.mustGet(id);
        const patch: EventPatch = { status: result.status };
        if (result.summary !== undefined) patch.summary = result.summary;
        if (result.timeEnd !== undefined) patch.timeEnd = result.timeEnd;
        if (result.error !== undefined) patch.error = result.error;
        const data: Record<string, unknown> = { ...(result.data ?? {}) };
        if (profiles.length > 0 && !('flamegraphs' in data)) {
          const old = Array.isArray(cur.data.flamegraphs) ? (cur.data.flamegraphs as FlamegraphRef[]) : [];
          const names = new Set(profiles.map((p) => p.name));
          data.flamegraphs = [
            ...old.filter((f) => !names.has(f.name)),
            ...profiles.map((p): FlamegraphRef => ({
              name: p.name,
              title: p.title ?? p.name,
              unit: p.unit,
              total: p.total,
              stacks: p.stacks,
            })),
          ];
        }
        if (Object.keys(data).length > 0) patch.data = data;
        const e = this.applyPatch(cur, patch);
        this.stmts.update.run(eventParams(e, Date.now()));
        for (const { p, codec, blob } of packed) {
          this.stmts.upsertProfile.run({
            event_id: id,
            name: p.name,
            title: p.title ?? p.name,
            unit: p.unit,
            total: p.total,
            stacks: p.stacks,
            codec,
            raw_bytes: p.blob.length,
            blob,
          });
        }
        return e;
      })
      .immediate();
    this.emit({ kind: 'complete', event: next });
    return next;
  }

  /** The profile blob as it was given to completeEvent (decompressed), or null. */
  getProfile(eventId: string, name: string): Buffer | null {
    const r = this.stmts.getProfile.get(eventId, name);
    return r ? decompressProfile(r.codec, r.blob) : null;
  }

  listProfiles(eventId: string): ProfileInfo[] {
    return this.stmts.listProfiles.all(eventId).map((r) => ({
      eventId: r.event_id,
      name: r.name,
      title: r.title,
      unit: r.unit as FlamegraphRef['unit'],
      total: r.total,
      stacks: r.stacks,
      codec: r.codec,
      rawBytes: r.raw_bytes,
      storedBytes: r.stored_bytes,
    }));
  }

  /**
   * Container ids a `container` filter names: the id itself, ids starting with it (at least 4
   * characters), or the ids of containers with that name or pod name.
   */
  resolveContainer(c: string): string[] {
    const params: Record<string, unknown> = { c };
    let idPart = 'SELECT container_id AS id FROM events WHERE container_id = @c';
    if (c.length >= 4) {
      params.cEnd = `${c}\uffff`;
      idPart = 'SELECT DISTINCT container_id AS id FROM events WHERE container_id >= @c AND container_id < @cEnd';
    }
    const sql = `${idPart}
      UNION SELECT DISTINCT container_id FROM events WHERE container_name = @c
      UNION SELECT DISTINCT container_id FROM events WHERE container_pod = @c`;
    return this.db
      .prepare<[Record<string, unknown>], { id: string | null }>(sql)
      .all(params)
      .map((r) => r.id)
      .filter((id): id is string => id !== null)
      .sort();
  }

  /** WHERE terms shared by every branch (time range, host) and the type / container-id choices. */
  private filters(
    q: { types?: readonly string[]; from?: number; to?: number; container?: string; host?: string },
    params: Record<string, unknown>
  ): { where: string[]; types: string[]; containerIds: string[] | null } {
    checkTypes(q.types);
    checkTime('from', q.from);
    checkTime('to', q.to);
    if (q.from !== undefined && q.to !== undefined && q.from > q.to)
      throw new StoreError('BAD_RANGE', `from (${q.from}) is after to (${q.to})`);
    const where: string[] = [];
    if (q.from !== undefined) {
      params.from = q.from;
      where.push('time >= @from');
    }
    if (q.to !== undefined) {
      params.to = q.to;
      where.push('time <= @to');
    }
    if (q.host !== undefined && q.host !== '') {
      params.host = q.host;
      where.push('host = @host');
    }
    const types = [...new Set(q.types ?? [])];
    const containerIds = q.container !== undefined && q.container !== '' ? this.resolveContainer(q.container) : null;
    return { where, types, containerIds };
  }

  private static inList(
    column: string,
    prefix: string,
    values: readonly string[],
    params: Record<string, unknown>
  ): string {
    const names = values.map((v, i) => {
      params[`${prefix}${i}`] = v;
      return `@${prefix}${i}`;
    });
    return `${column} IN (${names.join(', ')})`;
  }

  /**
   * Newest first (time DESC, id DESC), keyset-paginated: pass the returned nextCursor to get the next
   * page. Rows inserted between pages never cause a repeat or a skip of the rows already ahead.
   */
  listEvents(q: ListQuery = {}): ListResult {
    const limit = q.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new StoreError('BAD_ARGUMENT', `limit must be an integer between 1 and ${MAX_LIST_LIMIT}`);
    }
    const params: Record<string, unknown> = { limit: limit + 1 };
    const { where, types, containerIds } = this.filters(q, params);
    if (containerIds !== null && containerIds.length === 0) return { events: [], nextCursor: null };
    if (q.cursor !== undefined && q.cursor !== null && q.cursor !== '') {
      const k = decodeCursor(q.cursor);
      params.ct = k.time;
      params.ci = k.id;
      where.push('(time, id) < (@ct, @ci)');
    }
    // One index-ordered branch per (type, container id), merged: each branch reads at most limit+1 rows
    // from its index instead of sorting every match. Too many branches: one query with IN lists.
    const typeChoices: (string | null)[] = types.length > 0 ? types : [null];
    const idChoices: (string | null)[] = containerIds ?? [null];
    const order = 'ORDER BY time DESC, id DESC LIMIT @limit';
    let sql: string;
    if (typeChoices.length * idChoices.length <= 32) {
      const branches: string[] = [];
      typeChoices.forEach((t, i) => {
        idChoices.forEach((c, j) => {
          const w = [...where];
          if (t !== null) {
            params[`t${i}`] = t;
            // with a container too, `+type` keeps the planner on the container index: ANALYZE statistics
            // (PRAGMA optimize) can make the type index look selective when it is not (0.7 s → 20 ms per page at 1M rows)
            w.push(c !== null ? `+type = @t${i}` : `type = @t${i}`);
          }
          if (c !== null) {
            params[`c${j}`] = c;
            w.push(`container_id = @c${j}`);
          }
          branches.push(`SELECT ${EVENT_COLUMNS} FROM events ${w.length ? `WHERE ${w.join(' AND ')}` : ''} ${order}`);
        });
      });
      sql =
        branches.length === 1
          ? branches[0]!
          : `${branches.map((b) => `SELECT * FROM (${b})`).join(' UNION ALL ')} ${order}`;
    } else {
      const w = [...where];
      if (types.length > 0) w.push(Store.inList('type', 't', types, params));
      if (containerIds) w.push(Store.inList('container_id', 'c', containerIds, params));
      sql = `SELECT ${EVENT_COLUMNS} FROM events WHERE ${w.join(' AND ')} ${order}`;
    }
    const rows = this.db.prepare<[Record<string, unknown>], EventRow>(sql).all(params);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return {
      events: page.map(rowToEvent),
      nextCursor: more && last ? encodeCursor({ time: last.time, id: last.id }) : null,
    };
  }

  /** Event counts per step-aligned bucket, one series per type or per container (host-level events: container "host"). */
  counts(q: CountsQuery): CountsResult {
    checkTime('from', q.from);
    checkTime('to', q.to);
    if (q.from > q.to) throw new StoreError('BAD_RANGE', `from (${q.from}) is after to (${q.to})`);
    if (!Number.isSafeInteger(q.stepMs) || q.stepMs <= 0)
      throw new StoreError('BAD_RANGE', 'step must be a whole number of milliseconds > 0');
    if (q.by !== 'type' && q.by !== 'container')
      throw new StoreError('BAD_ARGUMENT', 'by must be "type" or "container"');
    const origin = Math.floor(q.from / q.stepMs) * q.stepMs;
    const n = Math.floor((q.to - origin) / q.stepMs) + 1;
    if (n > MAX_BUCKETS)
      throw new StoreError(
        'BAD_RANGE',
        `${n} buckets is too many (at most ${MAX_BUCKETS}): widen the step or narrow the range`
      );
    const params: Record<string, unknown> = { origin, step: q.stepMs };
    const f = this.filters({ types: q.types, from: q.from, to: q.to, container: q.container, host: q.host }, params);
    const where = f.where;
    if (f.types.length > 0) where.push(Store.inList('type', 't', f.types, params));
    if (f.containerIds !== null)
      where.push(f.containerIds.length > 0 ? Store.inList('container_id', 'c', f.containerIds, params) : '0');
    const key = q.by === 'type' ? 'type' : "coalesce(container_id, '')";
    // only indexed columns here (time, type, container_id): names are looked up once per series below
    const sql = `SELECT CAST((time - @origin) / @step AS INTEGER) AS b, ${key} AS k, count(*) AS n
      FROM events WHERE ${where.join(' AND ')} GROUP BY b, k`;
    const rows = this.db.prepare<[Record<string, unknown>], { b: number; k: string; n: number }>(sql).all(params);
    const series = new Map<string, { key: string; labels: Record<string, string>; values: number[] }>();
    for (const r of rows) {
      let s = series.get(r.k);
      if (!s) {
        const labels: Record<string, string> =
          q.by === 'type' ? { type: r.k } : { container: r.k === '' ? 'host' : r.k };
        s = { key: r.k, labels, values: new Array<number>(n).fill(0) };
        series.set(r.k, s);
      }
      s.values[r.b] = (s.values[r.b] ?? 0) + r.n;
    }
    if (series.size * n > MAX_COUNT_CELLS) {
      throw new StoreError(
        'BAD_RANGE',
        `${series.size} series × ${n} buckets is too many values (at most ${MAX_COUNT_CELLS}): widen the step, narrow the range or filter`
      );
    }
    if (q.by === 'container') {
      const nameOf = this.db.prepare<[string], { name: string }>(
        'SELECT container_name AS name FROM events WHERE container_id = ? AND container_name IS NOT NULL ORDER BY time DESC LIMIT 1'
      );
      for (const s of series.values()) {
        if (s.key === '') continue;
        const r = nameOf.get(s.key);
        if (r) s.labels.container_name = r.name;
      }
    }
    return {
      from: q.from,
      to: q.to,
      stepMs: q.stepMs,
      by: q.by,
      buckets: Array.from({ length: n }, (_, i) => origin + i * q.stepMs),
      series: [...series.values()].sort((a, b) => a.key.localeCompare(b.key)),
    };
  }

  hosts(): string[] {
    return this.db
      .prepare<[], { host: string }>('SELECT DISTINCT host FROM events ORDER BY host')
      .all()
      .map((r) => r.host);
  }

  containers(q: { from?: number; to?: number } = {}): ContainerSummary[] {
    const params: Record<string, unknown> = {};
    const where = ['container_id IS NOT NULL', ...this.filters({ from: q.from, to: q.to }, params).where];
    // counts from the index, then the identity from each container's newest row (one lookup per container)
    const groups = this.db
      .prepare<[Record<string, unknown>], { id: string; events: number; lastTime: number }>(
        `SELECT container_id AS id, count(*) AS events, max(time) AS lastTime
         FROM events WHERE ${where.join(' AND ')} GROUP BY container_id ORDER BY lastTime DESC`
      )
      .all(params);
    const identity = this.db.prepare<
      [string],
      { name: string | null; runtime: string | null; pod: string | null; namespace: string | null }
    >(
      `SELECT container_name AS name, container_runtime AS runtime, container_pod AS pod, container_namespace AS namespace
       FROM events WHERE container_id = ? ORDER BY time DESC LIMIT 1`
    );
    return groups.map((g) => {
      const r = identity.get(g.id);
      return {
        id: g.id,
        name: r?.name ?? null,
        runtime: r?.runtime ?? null,
        pod: r?.pod ?? null,
        namespace: r?.namespace ?? null,
        events: g.events,
        lastTime: g.lastTime,
      };
    });
  }

  stats(): StoreStats {
    const byStatus: Record<EventStatus, number> = { capturing: 0, complete: 0, partial: 0, failed: 0 };
    const events = (this.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    const others = this.db
      .prepare<[], { status: EventStatus; n: number }>(
        "SELECT status, count(*) AS n FROM events WHERE status != 'complete' GROUP BY status"
      )
      .all();
    for (const r of others) byStatus[r.status] = r.n;
    byStatus.complete = events - others.reduce((a, r) => a + r.n, 0);
    // two subqueries: each is one index probe; min and max in one SELECT scan the whole index
    const range = this.db
      .prepare<[], { oldest: number | null; newest: number | null }>(
        'SELECT (SELECT min(time) FROM events) AS oldest, (SELECT max(time) FROM events) AS newest'
      )
      .get()!;
    const profiles = (this.db.prepare('SELECT count(*) AS n FROM profiles').get() as { n: number }).n;
    const pageSize = this.pragmaNumber('page_size');
    const pageCount = this.pragmaNumber('page_count');
    const freelistCount = this.pragmaNumber('freelist_count');
    const dbFileBytes = fileSize(this.file);
    const walFileBytes = fileSize(`${this.file}-wal`);
    return {
      events,
      profiles,
      byStatus,
      oldest: range.oldest,
      newest: range.newest,
      pageSize,
      pageCount,
      freelistCount,
      usedBytes: (pageCount - freelistCount) * pageSize,
      dbFileBytes,
      walFileBytes,
      fileBytes: dbFileBytes + walFileBytes + fileSize(`${this.file}-shm`),
      schemaVersion: this.currentVersion(),
    };
  }

  private usedBytes(): number {
    return (this.pragmaNumber('page_count') - this.pragmaNumber('freelist_count')) * this.pragmaNumber('page_size');
  }

  private fileBytes(): number {
    return fileSize(this.file) + fileSize(`${this.file}-wal`) + fileSize(`${this.file}-shm`);
  }

  /**
   * Deletes events older than maxAgeMs, then the oldest events until the data fits in
   * lowWater × maxBytes, then gives freed pages back to the file system (incremental vacuum) and
   * truncates the WAL. Events still capturing are never deleted.
   */
  applyRetention(o: RetentionOptions): RetentionResult {
    const now = o.now ?? Date.now();
    const lowWater = o.lowWater ?? 0.9;
    if (!(o.maxBytes > 0) || !(o.maxAgeMs >= 0))
      throw new StoreError('BAD_ARGUMENT', 'maxBytes must be > 0 and maxAgeMs ≥ 0');
    const fileBytesBefore = this.fileBytes();
    const BATCH = 2000;
    const delOld = this.db.prepare(
      `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time < @cutoff AND status != 'capturing' ORDER BY time, id LIMIT @n)`
    );
    const delOldest = this.db.prepare(
      `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE status != 'capturing' ORDER BY time, id LIMIT @n)`
    );
    let deletedByAge = 0;
    for (;;) {
      const c = this.db.transaction(() => delOld.run({ cutoff: now - o.maxAgeMs, n: BATCH }).changes)();
      deletedByAge += c;
      if (c < BATCH) break;
    }
    let deletedBySize = 0;
    // the bound covers the WAL and shm too; keep room for a checkpoint-sized WAL
    const target = Math.floor(o.maxBytes * lowWater);
    let used = this.usedBytes();
    if (this.fileBytes() > o.maxBytes || used > target) {
      for (let round = 0; round < 10_000 && used > target; round++) {
        const rows = (
          this.db.prepare("SELECT count(*) AS n FROM events WHERE status != 'capturing'").get() as { n: number }
        ).n;
        if (rows === 0) break;
        // estimate how many of the oldest rows hold the excess; deleting frees less than the average (partly
        // filled pages stay), so this loops until the measurement says it fits
        const perRow = used / rows;
        const n = Math.max(1, Math.min(BATCH, Math.ceil((used - target) / perRow)));
        deletedBySize += this.db.transaction(() => delOldest.run({ n }).changes)();
        used = this.usedBytes();
      }
    }
    let vacuumedPages = 0;
    if (deletedByAge + deletedBySize > 0 || this.pragmaNumber('freelist_count') > 0) {
      vacuumedPages = this.pragmaNumber('freelist_count');
      this.db.pragma('incremental_vacuum');
      // the file shrinks when the WAL is checkpointed; TRUNCATE also empties the WAL
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    }
    return { deletedByAge, deletedBySize, fileBytesBefore, fileBytesAfter: this.fileBytes(), vacuumedPages };
  }

  /** Folds the WAL into the database file (also done automatically every ~1000 pages). */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  close(): void {
    if (!this.db.open) return;
    try {
      if (!this.db.readonly) this.db.pragma('optimize');
    } finally {
      this.db.close();
    }
  }
}

export function openStore(file: string, opts: OpenOptions = {}): Store {
  return new Store(file, opts);
}
