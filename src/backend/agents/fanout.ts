// Fan-out to many agents: every agent concurrently, at most `concurrency` at a time (a semaphore
// shared by the whole datasource instance, so parallel queries share the cap), each with its own
// deadline that starts when its turn comes. Results keep the agents' order; failures carry the reason.
import { AgentError } from './client';

export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.active < this.limit) {
      this.active++;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(go);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('cancelled'));
      };
      const go = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(go);
    });
    this.active++;
    return this.releaser();
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      const next = this.waiting.shift();
      if (next) next();
    };
  }

  get inUse(): number {
    return this.active;
  }
}

export interface AgentFailure {
  agent: string;
  url: string;
  kind: string;
  reason: string;
}

export interface FanOutResult<T> {
  ok: Array<{ agent: string; value: T }>;
  failed: AgentFailure[];
}

export interface FanOutOptions {
  semaphore: Semaphore;
  timeoutMs: number;
  /** the caller's cancellation (e.g. Grafana cancelled the gRPC call) */
  signal?: AbortSignal;
}

export interface Target {
  name: string;
  url: string;
}

/** Runs `task` for every target; never rejects. */
export async function fanOut<A extends Target, T>(
  targets: readonly A[],
  task: (target: A, signal: AbortSignal) => Promise<T>,
  opts: FanOutOptions
): Promise<FanOutResult<T>> {
  const settled = await Promise.all(
    targets.map(async (target) => {
      let release: (() => void) | undefined;
      const ac = new AbortController();
      const onOuterAbort = (): void => ac.abort(new AgentError(target.name, 'cancelled', 'query cancelled'));
      let timer: NodeJS.Timeout | undefined;
      try {
        release = await opts.semaphore.acquire(opts.signal);
        if (opts.signal?.aborted) onOuterAbort();
        opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
        const timedOut = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const err = new AgentError(target.name, 'timeout', `timed out after ${opts.timeoutMs} ms`);
            ac.abort(err);
            reject(err);
          }, opts.timeoutMs);
        });
        const value = await Promise.race([task(target, ac.signal), timedOut]);
        return { target, value, error: undefined };
      } catch (error) {
        return { target, value: undefined, error };
      } finally {
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onOuterAbort);
        release?.();
      }
    })
  );
  const result: FanOutResult<T> = { ok: [], failed: [] };
  for (const s of settled) {
    if (s.error === undefined) result.ok.push({ agent: s.target.name, value: s.value as T });
    else result.failed.push(failureOf(s.target, s.error));
  }
  return result;
}

export function failureOf(target: Target, error: unknown): AgentFailure {
  if (error instanceof AgentError)
    return { agent: target.name, url: target.url, kind: error.kind, reason: error.reason };
  const message = error instanceof Error ? error.message : String(error);
  return { agent: target.name, url: target.url, kind: 'error', reason: message };
}

/** One notice line: "agents failed: a (http://…): connection refused; b (…): timed out after 5000 ms". */
export function failureSummary(failed: readonly AgentFailure[], total: number): string {
  const parts = failed.map((f) => `${f.agent} (${f.url}): ${f.reason}`);
  const shown = parts.slice(0, 20).join('; ');
  const more = parts.length > 20 ? `; and ${parts.length - 20} more` : '';
  return `${failed.length} of ${total} agent${total === 1 ? '' : 's'} failed, results are partial — ${shown}${more}`;
}
