// Minimal JSON GET over a unix socket or http(s) URL, with a hard timeout and a size cap. Used by the
// optional enrichment sources; every failure is a rejected promise with a short reason.
import http from 'node:http';
import https from 'node:https';

export interface GetJsonOptions {
  socketPath?: string;
  /** http:// or https:// URL, or a path when socketPath is set. */
  url: string;
  timeoutMs: number;
  headers?: Record<string, string>;
  /** https only. */
  ca?: string | Buffer;
  rejectUnauthorized?: boolean;
  maxBytes?: number;
}

export function getJson(opts: GetJsonOptions): Promise<unknown> {
  const maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | null, value?: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value);
    };
    const onResponse = (res: http.IncomingMessage): void => {
      if (res.statusCode !== 200) {
        res.resume();
        finish(new Error(`HTTP ${res.statusCode ?? '?'}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          req.destroy();
          finish(new Error(`response larger than ${maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        try {
          finish(null, JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          finish(new Error('invalid JSON'));
        }
      });
      res.on('error', (e) => finish(e));
    };
    let req: http.ClientRequest;
    const headers = { Accept: 'application/json', ...opts.headers };
    if (opts.socketPath) {
      req = http.request({ socketPath: opts.socketPath, path: opts.url, method: 'GET', headers }, onResponse);
    } else {
      const u = new URL(opts.url);
      if (u.protocol === 'https:') {
        req = https.request(
          u,
          { method: 'GET', headers, ca: opts.ca, rejectUnauthorized: opts.rejectUnauthorized ?? true },
          onResponse
        );
      } else if (u.protocol === 'http:') {
        req = http.request(u, { method: 'GET', headers }, onResponse);
      } else {
        finish(new Error(`unsupported URL scheme ${u.protocol}`));
        return;
      }
    }
    const timer = setTimeout(() => {
      req.destroy();
      finish(new Error(`timeout after ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    timer.unref();
    req.on('error', (e: NodeJS.ErrnoException) => finish(new Error(e.code ? `${e.code}: ${e.message}` : e.message)));
    req.end();
  });
}

/** Caches one async result (success or failure) for ttlMs and shares a fetch in flight. */
export class TtlCache<T> {
  private value: { at: number; result: T } | null = null;
  private inflight: Promise<T> | null = null;

  constructor(
    private readonly ttlMs: number,
    private readonly fetcher: () => Promise<T>,
    private readonly now: () => number = Date.now
  ) {}

  get(): Promise<T> {
    if (this.value && this.now() - this.value.at < this.ttlMs) return Promise.resolve(this.value.result);
    if (!this.inflight) {
      this.inflight = this.fetcher().then((result) => {
        this.value = { at: this.now(), result };
        this.inflight = null;
        return result;
      });
    }
    return this.inflight;
  }

  /** The last result, however old, without fetching. */
  peek(): T | null {
    return this.value?.result ?? null;
  }

  invalidate(): void {
    this.value = null;
  }
}
