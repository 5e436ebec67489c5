// Opaque list cursors: base64url of `v1:<time>:<id>`, the (time, id) of the last row of a page.
// The next page is everything strictly before that key in (time DESC, id DESC) order, so rows are
// never repeated or skipped, whatever is inserted between pages.
import { StoreError } from './errors';

export interface CursorKey {
  time: number;
  id: string;
}

const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function encodeCursor(k: CursorKey): string {
  return Buffer.from(`v1:${k.time}:${k.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorKey {
  const bad = (why: string): StoreError => new StoreError('BAD_CURSOR', `malformed cursor: ${why}`);
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 128 || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw bad('not a base64url string from a previous page');
  }
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^v1:(-?\d{1,16}):([0-9A-Z]{26})$/.exec(text);
  if (!m) throw bad('not a cursor from a previous page');
  const time = Number(m[1]);
  if (!Number.isSafeInteger(time)) throw bad('time out of range');
  if (!ULID_RE.test(m[2]!)) throw bad('bad id');
  // re-encoding must give the same string (rejects non-canonical base64 and padding tricks)
  if (encodeCursor({ time, id: m[2]! }) !== cursor) throw bad('not canonical');
  return { time, id: m[2]! };
}
