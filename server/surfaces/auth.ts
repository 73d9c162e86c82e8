// The control token: where it comes from, and whether a request carries it.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const MIN_TOKEN = 8;

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

/**
 * The token control needs: the given one, else $LATENTSTAGE_TOKEN, else a random one when bound
 * beyond loopback (null on loopback). An empty or short token from any source is refused: it would
 * look like protection while guarding nothing.
 */
export function resolveToken(given: string | null | undefined, host: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (given === null) return null;
  const [token, source] = given !== undefined ? [given, 'the token'] : [env.LATENTSTAGE_TOKEN, 'LATENTSTAGE_TOKEN'];
  if (token === undefined) return isLoopback(host) ? null : randomBytes(12).toString('base64url');
  if (token.trim().length < MIN_TOKEN) {
    throw new Error(`${source} must be at least ${MIN_TOKEN} characters${token === '' ? ' (it is empty; unset it to run without one on loopback)' : ''}`);
  }
  return token;
}

export type HeaderBag = Headers | Record<string, string | string[] | undefined>;

export function header(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** True when the request carries the token (Authorization: Bearer, X-Latentstage-Token or ?token=). */
export function hasToken(token: string | null, headers: HeaderBag, url: URL): boolean {
  if (!token) return true;
  const auth = header(headers, 'authorization');
  const given = auth?.startsWith('Bearer ') ? auth.slice(7) : (header(headers, 'x-latentstage-token') ?? url.searchParams.get('token') ?? '');
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
