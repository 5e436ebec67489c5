// Typed store errors. The API maps BAD_* codes to 400, NOT_FOUND to 404, CONFLICT to 409; the rest
// are server-side problems.
export type StoreErrorCode =
  | 'BAD_CURSOR' // a cursor that this store did not produce
  | 'BAD_RANGE' // from > to, step ≤ 0, too many buckets
  | 'BAD_ARGUMENT' // unknown type, bad limit, …
  | 'INVALID_EVENT' // an event that does not match the Event contract
  | 'NOT_FOUND'
  | 'CONFLICT' // an id that exists already
  | 'DB_TOO_NEW'; // the database was migrated by a newer agent

export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string
  ) {
    super(message);
  }

  /** True for errors caused by the caller's input (map to HTTP 4xx). */
  get isUserError(): boolean {
    return (
      this.code.startsWith('BAD_') ||
      this.code === 'NOT_FOUND' ||
      this.code === 'CONFLICT' ||
      this.code === 'INVALID_EVENT'
    );
  }
}
