// Server-level OSC options (ServerOptions.osc) and the CLI flags that make them.
import { parseHostPort } from '../../schema-atoms.ts';
import { isLoopback } from '../auth.ts';

export interface OscOptions {
  /** UDP port; 0 picks a free one (the CLI's --osc-port 0 disables OSC instead). */
  port: number;
  /** Address to bind; defaults to the server's --host. */
  host?: string;
  /** Address prefix of the built-in table (default /ls). */
  prefix?: string;
  /** Mapping file; default <presets>/osc-map.json when it exists. */
  map?: string;
  /** Sources (IPs/CIDRs) allowed besides loopback. */
  allow?: string[];
  /** Always send state feedback here. */
  feedback?: { host: string; port: number };
  rate?: number;
  burst?: number;
  /** When the port is taken, warn and run without OSC instead of failing (the CLI's default port). */
  optional?: boolean;
  /** OSCQuery (HTTP + LISTEN websocket on this TCP port, 0 = any free one); see query.ts. */
  query?: { port: number; advertise?: boolean; optional?: boolean } | null;
}

/** CLI flags -> OscOptions; --osc-port 0 disables OSC (default port 9000). */
export function oscFromFlags(f: { oscPort?: number; oscHost?: string; oscAllow?: string; oscMap?: string; oscPrefix?: string; oscFeedback?: string; oscqueryPort?: number; host?: string }): OscOptions | null {
  const port = f.oscPort ?? 9000;
  if (port === 0) return null;
  let feedback: OscOptions['feedback'];
  if (f.oscFeedback) {
    const target = parseHostPort(f.oscFeedback);
    if (!target) throw new Error(`--osc-feedback must be HOST:PORT, got "${f.oscFeedback}"`);
    feedback = target;
  }
  return {
    port,
    optional: f.oscPort === undefined,
    host: f.oscHost,
    prefix: f.oscPrefix,
    map: f.oscMap,
    allow: f.oscAllow?.split(',').map((s) => s.trim()).filter(Boolean),
    feedback,
    // Advertised over mDNS when reachable from other machines.
    query: f.oscqueryPort === 0 ? null : { port: f.oscqueryPort ?? 9001, optional: f.oscqueryPort === undefined, advertise: !isLoopback(f.oscHost ?? f.host ?? '127.0.0.1') },
  };
}
