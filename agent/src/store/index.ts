// The event store: SQLite through better-sqlite3 (see README.md).
export * from './store';
export * from './errors';
export { encodeCursor, decodeCursor, type CursorKey } from './cursor';
export { LATEST_VERSION, MIGRATIONS, type Migration } from './migrations';
