// What the HTTP API needs from the running agent, and nothing more: the API depends on this
// interface, the daemon implements it (data flows store → API; control flows API → agent).
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config';
import type { Store } from '../store';
import type { CaptureAccepted, CaptureRequest, InfoResponse, TracerState } from '../api/schemas';
import type { TracerType } from '../events/event';

export interface AgentFacade {
  /** current config (it changes on SIGHUP reload; read it per request) */
  config(): AgentConfig;
  store: Store;
  log: Logger;
  metrics: Registry;
  info(): InfoResponse;
  tracers(): TracerState[];
  /** validate and apply a tracer config patch (enabled, thresholds, …) at run time */
  patchTracer(type: TracerType, patch: unknown): { ok: true; state: TracerState } | { ok: false; errors: string[] };
  /** start a capture now; rejects with CaptureError (agent/src/capture/errors.ts) when it cannot */
  requestCapture(req: CaptureRequest): Promise<CaptureAccepted>;
  /** ready = store open and detectors running */
  isReady(): boolean;
}
