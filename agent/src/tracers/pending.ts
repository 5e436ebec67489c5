// A tracer type this agent cannot capture yet: listed with its configuration, never detects, and
// answers manual captures with NOT_IMPLEMENTED (HTTP 501) and a clear message.
import { CaptureError } from '../capture/errors';
import type { CapturePlan } from '../capture/manager';
import type { TracerType } from '../events/event';
import { Tracer, type Candidate, type CommonTracerConfig, type TracerEnv } from './tracer';

export class PendingTracer extends Tracer<CommonTracerConfig> {
  override readonly implemented = false;
  readonly scope = 'host' as const;

  constructor(
    readonly type: TracerType,
    config: CommonTracerConfig,
    env: TracerEnv,
  ) {
    super(config, env);
  }

  protected tick(): Candidate[] {
    return [];
  }

  protected manualCandidate(): Candidate {
    throw new CaptureError('NOT_IMPLEMENTED', `the ${this.type} tracer is not implemented in this agent version`);
  }

  protected plan(): CapturePlan {
    throw new CaptureError('NOT_IMPLEMENTED', `the ${this.type} tracer is not implemented in this agent version`);
  }
}
