// The CLI's side of the HTTP API: where the agent is (--url / AUTOTRACING_URL / the api section of
// --config / the default 127.0.0.1:19704), which token to send (--token / AUTOTRACING_TOKEN / the
// config's tokens), and requests through Node's fetch with errors a person can act on: connection
// refused, a rejected or read-only token, an unknown event, a certificate we do not trust.
import { loadConfig, ConfigError } from '../config';
import { parseListen } from '../config/listen';
import type { ErrorBody } from '../api/schemas';
import { UsageError } from './args';

export const DEFAULT_URL = 'http://127.0.0.1:19704';
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Output and environment of a command, replaceable in tests. */
export interface Io {
  out(s: string | Uint8Array): void;
  err(s: string): void;
  env: NodeJS.ProcessEnv;
  /** stdout is a terminal */
  isTTY: boolean;
}

export const processIo: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  env: process.env,
  isTTY: process.stdout.isTTY === true,
};

/** parseArgs options every client command takes. */
export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  config: { type: 'string', short: 'c' },
} as const;

export class ClientError extends Error {
  override name = 'ClientError';
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string
  ) {
    super(message);
  }
}

export interface Target {
  url: string;
  token: string | null;
  /** where the URL came from, for error messages */
  urlFrom: string;
  tokenFrom: string | null;
}

/** host:port from api.listen as a URL a client on this host can use (0.0.0.0 → 127.0.0.1, :: → ::1). */
export function listenToUrl(listen: string, tls: boolean): string {
  const l = parseListen(listen);
  if ('error' in l) throw new UsageError(`api.listen "${listen}": ${l.error}`);
  if (l.port === 0) throw new UsageError(`api.listen "${listen}" picks a random port: pass --url`);
  let host = l.host === '0.0.0.0' ? '127.0.0.1' : l.host === '::' ? '::1' : l.host;
  if (host.includes(':')) host = `[${host}]`;
  return `${tls ? 'https' : 'http'}://${host}:${l.port}`;
}

function normalizeUrl(raw: string, from: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`${from}: "${raw}" is not a URL (e.g. http://127.0.0.1:19704)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new UsageError(`${from}: only http:// and https:// URLs, got "${raw}"`);
  if (u.username || u.password)
    throw new UsageError(`${from}: put the token in --token or AUTOTRACING_TOKEN, not in the URL`);
  return u.toString().replace(/\/+$/, '');
}

/**
 * Flags first, then the environment, then the config file, then the default. `scope` picks the
 * config token: an admin token for commands that change something, else a read token (either works
 * for reading; the least powerful one is sent).
 */
export function resolveTarget(
  flags: { url?: string; token?: string; config?: string },
  env: NodeJS.ProcessEnv,
  scope: 'read' | 'admin'
): Target {
  let fromConfig: { url: string; token: string | null } | null = null;
  if (flags.config !== undefined) {
    let c;
    try {
      c = loadConfig(flags.config);
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message);
      throw e;
    }
    const t = c.api.tokens;
    const token = scope === 'admin' ? (t.admin[0] ?? t.read[0]) : (t.read[0] ?? t.admin[0]);
    fromConfig = { url: listenToUrl(c.api.listen, !!(c.api.tls.cert && c.api.tls.key)), token: token ?? null };
  }
  const envUrl = env.AUTOTRACING_URL || undefined;
  const envToken = env.AUTOTRACING_TOKEN || undefined;
  const [rawUrl, urlFrom] =
    flags.url !== undefined
      ? [flags.url, '--url']
      : envUrl !== undefined
        ? [envUrl, 'AUTOTRACING_URL']
        : fromConfig
          ? [fromConfig.url, `api.listen in ${flags.config}`]
          : [DEFAULT_URL, 'the default'];
  const [token, tokenFrom] =
    flags.token !== undefined
      ? [flags.token, '--token']
      : envToken !== undefined
        ? [envToken, 'AUTOTRACING_TOKEN']
        : fromConfig?.token
          ? [fromConfig.token, `api.tokens in ${flags.config}`]
          : [null, null];
  return { url: normalizeUrl(rawUrl, urlFrom), token, urlFrom, tokenFrom };
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Why fetch failed, in words, with what to do about it. */
export function describeFetchError(e: unknown, t: Target): string {
  const err = e as { name?: string; cause?: { code?: string; message?: string }; message?: string };
  if (err.name === 'TimeoutError') return `no answer from the agent at ${t.url} in time`;
  const code = err.cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot connect to the agent at ${t.url} (from ${t.urlFrom}): connection refused. Is it running (npm run -s agent -- run)? Otherwise pass --url or set AUTOTRACING_URL`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host of ${t.url} (from ${t.urlFrom})`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `the connection to ${t.url} was closed${t.url.startsWith('http:') ? ' (is the agent serving HTTPS? try https://)' : ''}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return `cannot reach ${t.url}: ${code}`;
  }
  if (code && TLS_CODES.has(code)) {
    return `the agent's TLS certificate is not trusted (${code}); for a self-signed certificate run with NODE_EXTRA_CA_CERTS=/path/to/cert.pem`;
  }
  return `request to ${t.url} failed: ${err.cause?.message ?? err.message ?? String(e)}`;
}

async function errorText(res: Response): Promise<{ code?: string; message: string }> {
  const text = await res.text().catch(() => '');
  try {
    const b = JSON.parse(text) as ErrorBody;
    if (b && b.error && typeof b.error.message === 'string') return { code: b.error.code, message: b.error.message };
  } catch {
    /* not our error shape */
  }
  return { message: text.replace(/\s+/g, ' ').trim().slice(0, 200) || res.statusText };
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  accept?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** what the request is for, in error messages ("a manual capture") */
  what?: string;
}

export class ApiClient {
  constructor(readonly target: Target) {}

  url(path: string, query: Record<string, string | number | undefined> = {}): string {
    const u = new URL(this.target.url + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** A request; any non-2xx becomes a ClientError with a message saying what to do. */
  async request(method: string, path: string, o: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: o.accept ?? 'application/json' };
    if (this.target.token !== null) headers.authorization = `Bearer ${this.target.token}`;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const signals = [AbortSignal.timeout(o.timeoutMs ?? DEFAULT_TIMEOUT_MS), ...(o.signal ? [o.signal] : [])];
    let res: Response;
    try {
      res = await fetch(this.url(path, o.query), {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        signal: signals.length === 1 ? signals[0] : AbortSignal.any(signals),
      });
    } catch (e) {
      if ((e as { name?: string }).name === 'AbortError') throw e;
      throw new ClientError(describeFetchError(e, this.target));
    }
    if (res.ok) return res;
    const { code, message } = await errorText(res);
    const t = this.target;
    switch (res.status) {
      case 401:
        throw new ClientError(
          t.token === null
            ? `the agent at ${t.url} needs a token (401: ${message}): pass --token, set AUTOTRACING_TOKEN, or --config with api.tokens`
            : `the agent at ${t.url} rejected the token from ${t.tokenFrom} (401: ${message})`,
          401,
          code
        );
      case 403:
        throw new ClientError(
          `the token from ${t.tokenFrom} may only read; ${o.what ?? 'this'} needs an admin token (403: ${message})`,
          403,
          code
        );
      case 404:
        throw new ClientError(message, 404, code);
      case 429:
        throw new ClientError(
          `${message}${res.headers.get('retry-after') ? ` (retry after ${res.headers.get('retry-after')}s)` : ''}`,
          429,
          code
        );
      default:
        throw new ClientError(
          `${o.what ? `${o.what}: ` : ''}HTTP ${res.status}${code ? ` ${code}` : ''}: ${message}`,
          res.status,
          code
        );
    }
  }

  async getJson<T>(path: string, o: RequestOptions = {}): Promise<T> {
    const res = await this.request('GET', path, o);
    return (await res.json()) as T;
  }

  async postJson<T>(path: string, body: unknown, o: RequestOptions = {}): Promise<T> {
    const res = await this.request('POST', path, { ...o, body });
    return (await res.json()) as T;
  }

  /**
   * Follows a server-sent event stream until `onMessage` returns true (resolves true) or the stream
   * ends (resolves false). Abort with `signal`.
   */
  async stream(
    path: string,
    query: Record<string, string | undefined>,
    onMessage: (event: string, data: string, id: string | undefined) => boolean,
    signal: AbortSignal,
    onOpen?: () => void
  ): Promise<boolean> {
    const res = await this.request('GET', path, { query, accept: 'text/event-stream', timeoutMs: 2 ** 31 - 1, signal });
    if (!res.body) return false;
    onOpen?.();
    const decoder = new TextDecoder();
    let buf = '';
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return false;
        buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          let id: string | undefined;
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const c = line.indexOf(':');
            const field = c < 0 ? line : line.slice(0, c);
            const value2 = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
            if (field === 'event') event = value2;
            else if (field === 'data') data.push(value2);
            else if (field === 'id') id = value2;
          }
          if (data.length > 0 && onMessage(event, data.join('\n'), id)) return true;
        }
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
  }
}
