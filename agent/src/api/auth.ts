// Bearer tokens with two scopes (read, admin; admin can also read), read from the live config on
// every request so a SIGHUP reload of api.tokens / api.tokenFile applies at once. Tokens are compared
// as SHA-256 digests with crypto.timingSafeEqual against EVERY configured token (no early exit), so
// neither the length nor a matching prefix of a token leaks through response times.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AgentConfig } from '../config';
import { ApiError } from './errors';

export type Scope = 'read' | 'admin';
/** What a route needs: `health` and `metrics` are open unless api.openHealth / api.openMetrics say otherwise. */
export type Access = 'open' | 'health' | 'metrics' | 'read' | 'admin';

type Tokens = AgentConfig['api']['tokens'];
interface Digests {
  read: Buffer[];
  admin: Buffer[];
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
const cache = new WeakMap<Tokens, Digests>();

function digestsOf(tokens: Tokens): Digests {
  let d = cache.get(tokens);
  if (!d) {
    d = { read: tokens.read.map(digest), admin: tokens.admin.map(digest) };
    cache.set(tokens, d);
  }
  return d;
}

export function hasTokens(tokens: Tokens): boolean {
  return tokens.read.length + tokens.admin.length > 0;
}

/** The scope a presented token grants, or null. */
export function tokenScope(tokens: Tokens, presented: string): Scope | null {
  const d = digestsOf(tokens);
  const p = digest(presented);
  let admin = false;
  let read = false;
  for (const t of d.admin) admin = timingSafeEqual(t, p) || admin;
  for (const t of d.read) read = timingSafeEqual(t, p) || read;
  return admin ? 'admin' : read ? 'read' : null;
}

/** The token of an `Authorization: Bearer <token>` header; undefined without one, null when malformed. */
export function bearerToken(header: string | string[] | undefined): string | null | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) return null;
  const m = /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
  return m ? m[1]! : null;
}

const REALM = 'Bearer realm="autotracing"';

/** Throws 401/403 unless the request may use a route with `access` under the current api config. */
export function authorize(
  api: AgentConfig['api'],
  access: Access,
  header: string | string[] | undefined
): Scope | 'open' {
  if (!hasTokens(api.tokens)) return 'open';
  if (access === 'open' || (access === 'health' && api.openHealth) || (access === 'metrics' && api.openMetrics))
    return 'open';
  const token = bearerToken(header);
  if (token === undefined)
    throw new ApiError(401, 'UNAUTHORIZED', 'a bearer token is required (Authorization: Bearer <token>)', {
      'www-authenticate': REALM,
    });
  const scope = token === null ? null : tokenScope(api.tokens, token);
  if (scope === null) {
    throw new ApiError(401, 'UNAUTHORIZED', 'invalid bearer token', {
      'www-authenticate': `${REALM}, error="invalid_token"`,
    });
  }
  if (access === 'admin' && scope !== 'admin') {
    throw new ApiError(403, 'FORBIDDEN', 'this route needs an admin token; the token given may only read', {
      'www-authenticate': `${REALM}, error="insufficient_scope"`,
    });
  }
  return scope;
}
