// Why a capture request was refused. The API maps each code to an HTTP status; tracers and the
// detector loop log them.
export type CaptureErrorCode =
  | 'NOT_IMPLEMENTED' // this tracer type cannot capture yet (501)
  | 'DISABLED' // the tracer is disabled in the config (409)
  | 'BUSY' // maxConcurrent captures already running (429)
  | 'BUDGET' // the rolling hourly capture-time budget is spent (429)
  | 'COOLDOWN' // automatic triggers only: still cooling down (429)
  | 'NOT_FOUND' // the container asked for does not exist (404)
  | 'BAD_REQUEST' // e.g. a container given to a host-wide tracer (400)
  | 'UNAVAILABLE' // the kernel lacks what the capture needs (503)
  | 'STOPPING'; // the agent is shutting down (503)

export class CaptureError extends Error {
  constructor(
    readonly code: CaptureErrorCode,
    message: string,
    /** when the request may succeed if retried, ms since epoch (BUSY, BUDGET, COOLDOWN) */
    readonly retryAt?: number
  ) {
    super(message);
    this.name = 'CaptureError';
  }
}

export const CAPTURE_ERROR_HTTP_STATUS: Record<CaptureErrorCode, number> = {
  NOT_IMPLEMENTED: 501,
  DISABLED: 409,
  BUSY: 429,
  BUDGET: 429,
  COOLDOWN: 429,
  NOT_FOUND: 404,
  BAD_REQUEST: 400,
  UNAVAILABLE: 503,
  STOPPING: 503,
};
