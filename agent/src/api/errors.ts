// Every failure the API answers becomes `{ "error": { "code", "message" } }` (DESIGN.md): 4xx for
// anything the caller did, 500 with a generic message (details only in the log) for our own bugs.
import { CAPTURE_ERROR_HTTP_STATUS, CaptureError } from '../capture/errors';
import { StoreError } from '../store/errors';
import type { ApiErrorCode, ErrorBody } from './schemas';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode | string,
    message: string,
    /** extra response headers (Retry-After, WWW-Authenticate) */
    readonly headers: Record<string, string> = {}
  ) {
    super(message);
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'BAD_REQUEST', message);
export const badRange = (message: string): ApiError => new ApiError(400, 'BAD_RANGE', message);
export const notFound = (message: string): ApiError => new ApiError(404, 'NOT_FOUND', message);

export interface HttpFailure {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** a server-side failure: log it with its stack */
  internal: boolean;
}

/** Store errors caused by the request; the others (INVALID_EVENT, DB_TOO_NEW) are ours: 500. */
const STORE_ERRORS: Partial<Record<StoreError['code'], [number, ApiErrorCode]>> = {
  BAD_CURSOR: [400, 'BAD_CURSOR'],
  BAD_RANGE: [400, 'BAD_RANGE'],
  BAD_ARGUMENT: [400, 'BAD_REQUEST'],
  NOT_FOUND: [404, 'NOT_FOUND'],
  CONFLICT: [409, 'CONFLICT'],
};

/** Fastify's own 4xx errors (body parsing, content type) under our codes. */
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_JSON',
  FST_ERR_CTP_INVALID_TYPE: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

function body(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

interface ErrorLike {
  statusCode?: unknown;
  code?: unknown;
  message?: unknown;
  validation?: unknown;
  validationContext?: unknown;
}

/** Maps anything thrown by a handler, a hook or Fastify itself to the response to send. */
export function toHttpFailure(err: unknown): HttpFailure {
  if (err instanceof ApiError) {
    return {
      status: err.statusCode,
      body: body(err.code, err.message),
      headers: err.headers,
      internal: err.statusCode >= 500,
    };
  }
  if (err instanceof CaptureError) {
    const headers: Record<string, string> = {};
    if (err.retryAt !== undefined)
      headers['retry-after'] = String(Math.max(1, Math.ceil((err.retryAt - Date.now()) / 1000)));
    const status = CAPTURE_ERROR_HTTP_STATUS[err.code] ?? 500;
    return { status, body: body(err.code, err.message), headers, internal: false };
  }
  if (err instanceof StoreError) {
    const known = STORE_ERRORS[err.code];
    if (known !== undefined)
      return { status: known[0], body: body(known[1], err.message), headers: {}, internal: false };
    return { status: 500, body: body('INTERNAL', 'internal error'), headers: {}, internal: true };
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (Array.isArray(e.validation)) {
    // Fastify schema validation: "querystring/limit must be <= 1000"
    return { status: 400, body: body('BAD_REQUEST', message), headers: {}, internal: false };
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code = typeof e.code === 'string' ? e.code : '';
    const mapped: string =
      FASTIFY_CODES[code] ??
      (status === 413
        ? 'PAYLOAD_TOO_LARGE'
        : status === 415
          ? 'UNSUPPORTED_MEDIA_TYPE'
          : status === 429
            ? 'RATE_LIMITED'
            : status === 404
              ? 'NOT_FOUND'
              : 'BAD_REQUEST');
    // JSON.parse errors carry the offending text; say what is wrong without echoing a whole body back
    const text =
      mapped === 'BAD_JSON' || err instanceof SyntaxError
        ? `request body is not valid JSON: ${message.slice(0, 200)}`
        : mapped === 'UNSUPPORTED_MEDIA_TYPE'
          ? 'request bodies must be JSON (Content-Type: application/json)'
          : message;
    return { status, body: body(err instanceof SyntaxError ? 'BAD_JSON' : mapped, text), headers: {}, internal: false };
  }
  return { status: 500, body: body('INTERNAL', 'internal error'), headers: {}, internal: true };
}
