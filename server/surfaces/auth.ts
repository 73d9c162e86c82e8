// Control (not viewing) requires a token when the server is reachable beyond loopback.
import { timingSafeEqual } from 'node:crypto';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** True when the request carries the token (Authorization: Bearer, X-Latentstage-Token or ?token=). */
export function hasToken(token: string | null, headers: Headers | Record<string, string | string[] | undefined>, url: URL): boolean {
  if (!token) return true;
  const get = (name: string): string | undefined => {
    if (headers instanceof Headers) return headers.get(name) ?? undefined;
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const auth = get('authorization');
  const given = auth?.startsWith('Bearer ') ? auth.slice(7) : (get('x-latentstage-token') ?? url.searchParams.get('token') ?? '');
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
