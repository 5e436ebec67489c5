// GET /api/v1/events/stream: server-sent events. Each capture that ends (complete, partial or failed)
// is sent once as `event: event` with the Event JSON as data and its id as the SSE id; a comment line
// every heartbeat keeps proxies and idle timers from closing the connection. A client that
// disconnects is unsubscribed at once; one that reads too slowly (more than MAX_BUFFERED bytes
// queued) is dropped rather than letting its backlog grow in our memory.
import type { ServerResponse } from 'node:http';
import type { AutotracingEvent } from '../events/event';
import type { Store, StoreChange } from '../store';

export const MAX_BUFFERED = 4 * 1024 * 1024;

export interface StreamFilter {
  types: string[] | null;
  container: string | null;
}

export function matches(e: AutotracingEvent, f: StreamFilter): boolean {
  if (f.types !== null && !f.types.includes(e.type)) return false;
  if (f.container !== null) {
    const c = e.container;
    if (c === null) return false;
    const q = f.container;
    if (!(c.id === q || (q.length >= 4 && c.id.startsWith(q)) || c.name === q || c.pod === q)) return false;
  }
  return true;
}

export function sseMessage(event: string, data: string, id?: string): string {
  // data must not contain raw newlines (JSON.stringify never emits them)
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${data}\n\n`;
}

/** Open event streams, so the server can end them when it closes. */
export class StreamRegistry {
  private readonly open = new Set<() => void>();

  get size(): number {
    return this.open.size;
  }

  /**
   * Starts streaming on `res` (headers already written by the caller). Returns when the stream ends
   * (client gone, server closing, or too slow).
   */
  run(
    res: ServerResponse,
    store: Store,
    filter: StreamFilter,
    heartbeatMs: number,
    onEnd: (why: string) => void
  ): void {
    let ended = false;
    const end = (why: string): void => {
      if (ended) return;
      ended = true;
      unsubscribe();
      clearInterval(timer);
      this.open.delete(close);
      if (!res.writableEnded) res.end();
      onEnd(why);
    };
    const write = (chunk: string): void => {
      if (ended) return;
      if (res.writableLength > MAX_BUFFERED) {
        end('client too slow');
        res.destroy();
        return;
      }
      res.write(chunk);
    };
    const unsubscribe = store.subscribe((c: StoreChange) => {
      if (c.kind !== 'complete' || c.event.status === 'capturing' || !matches(c.event, filter)) return;
      write(sseMessage('event', JSON.stringify(c.event), c.event.id));
    });
    const timer = setInterval(() => write(`: heartbeat ${Date.now()}\n\n`), heartbeatMs);
    timer.unref();
    const close = (): void => {
      write(sseMessage('close', JSON.stringify({ reason: 'server stopping' })));
      end('server closing');
    };
    this.open.add(close);
    res.on('close', () => end('client disconnected'));
    res.on('error', () => end('socket error'));
    write(`retry: 5000\n: connected ${Date.now()}\n\n`);
  }

  /** Ends every open stream (server shutdown). */
  closeAll(): void {
    for (const close of [...this.open]) close();
  }
}
