// Who may talk to the server, the way local dev servers protect themselves from web pages:
// - Host: every HTTP request and WebSocket handshake must name a loopback host, an IP address,
//   the bound host or an --allow-host name; anything else is a DNS-rebinding page (403).
// - Control (/control, POST /api/command): with a token, the token is required. Without one
//   (loopback), browsers must come from the same origin, a loopback origin or an --allow-origin;
//   clients that send no Origin (curl, bridges) are not web pages and may control.
// Viewing (frames, MJPEG, state, sketches) is open to every origin.
import { isIP } from 'node:net';
import { hasToken, header, type HeaderBag } from './auth.ts';

export interface AccessOptions {
  /** The bound address (--host). */
  host: string;
  token: string | null;
  /** Extra origins allowed to control without a token, e.g. https://editor.p5js.org. */
  allowOrigins?: string[];
  /** Extra Host names served; ".example.com" also allows its subdomains; "*" allows any. */
  allowHosts?: string[];
}

export type Verdict = { ok: true } | { ok: false; status: 401 | 403; error: string };

/** Host name (lowercase, no port, no IPv6 brackets) of a Host header or URL authority, or null. */
export function hostName(authority: string): string | null {
  try {
    const h = new URL(`http://${authority}`).hostname.toLowerCase();
    return h.startsWith('[') ? h.slice(1, -1) : h;
  } catch {
    return null;
  }
}

function isLoopbackName(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost') || name === '::1' || (isIP(name) === 4 && name.startsWith('127.'));
}

/** Normalise an origin list entry (scheme://host[:port]); "null" stays "null". */
export function normalizeOrigin(origin: string): string {
  if (origin === 'null') return origin;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new Error(`bad origin "${origin}": expected scheme://host[:port], e.g. https://editor.p5js.org`);
  }
  if (url.origin === 'null' || url.pathname !== '/' || url.search || url.hash) {
    throw new Error(`bad origin "${origin}": expected scheme://host[:port], e.g. https://editor.p5js.org`);
  }
  return url.origin;
}

export function normalizeHost(host: string): string {
  const h = host.trim().toLowerCase();
  if (h === '*') return h;
  const name = h.startsWith('.') ? h.slice(1) : h;
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(name)) {
    throw new Error(`bad host "${host}": expected a DNS name such as stage.local or .example.com`);
  }
  return h;
}

export class Access {
  readonly token: string | null;
  private origins: Set<string>;
  private hosts: string[];
  private bound: string | null;

  constructor(opts: AccessOptions) {
    this.token = opts.token;
    this.origins = new Set((opts.allowOrigins ?? []).map(normalizeOrigin));
    this.hosts = (opts.allowHosts ?? []).map(normalizeHost);
    this.bound = hostName(opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host);
  }

  /** May a request with this Host header be served? (No Host: not a browser, allowed.) */
  hostAllowed(hostHeader: string | undefined): boolean {
    if (hostHeader === undefined || hostHeader === '') return true;
    const name = hostName(hostHeader);
    if (name === null) return false;
    if (isIP(name) || isLoopbackName(name) || name === this.bound) return true;
    return this.hosts.some((h) => h === '*' || h === name || (h.startsWith('.') && (name === h.slice(1) || name.endsWith(h))));
  }

  /** Is this browser origin trusted to control without a token? */
  originTrusted(origin: string, hostHeader: string | undefined): boolean {
    if (this.origins.has(origin)) return true;
    if (origin === 'null') return false;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (hostHeader && url.host.toLowerCase() === hostHeader.toLowerCase()) return true; // same origin
    const name = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    return isLoopbackName(name.toLowerCase());
  }

  /** May this request control the stage? */
  control(headers: HeaderBag, url: URL): Verdict {
    if (this.token) {
      if (hasToken(this.token, headers, url)) return { ok: true };
      return { ok: false, status: 401, error: 'control requires a token (Authorization: Bearer <token>, or ?token= on the WebSocket URL)' };
    }
    const origin = header(headers, 'origin');
    if (origin === undefined || this.originTrusted(origin, header(headers, 'host'))) return { ok: true };
    return {
      ok: false,
      status: 403,
      error: `control from origin ${origin.slice(0, 200)} is not allowed (same origin, loopback origins and --allow-origin only; or start the server with --token)`,
    };
  }
}

export const HOST_REFUSED = 'this server does not answer to that Host name (add it with --allow-host NAME)';
