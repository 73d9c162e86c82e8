// The OSC surface: play the stage from TouchOSC, Max, TouchDesigner or any OSC device over UDP.
// One more thin adapter onto stage.dispatch(cmd, 'osc'). node:dgram owns the socket (we need the
// sender of every message, bundles included, and the raw datagram to reject before parsing);
// osc-js encodes and decodes messages (see osc-wire.ts).
//
// In: addresses from osc-table.ts under a prefix (/ls), plus mapped controller addresses.
// Fader floods are coalesced to the newest value per address per frame; prompts and triggers are
// queued in order and never dropped; bundles apply at their timetag.
// Out: /ls/error to the sender of bad input; /ls/state/... feedback to subscribers.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Stage } from '../stage.ts';
import type { Feature, FeatureState } from '../feature.ts';
import { decodePacket, encodeMessage, MAX_PACKET, type TimedMessage, type TypedArg } from './osc-wire.ts';
import { oscRoutes, DEFAULT_PREFIX, type OscRoute } from './osc-table.ts';
import { loadOscMap, type OscMap } from './osc-map.ts';
import { Allowlist, RateLimiter, normalizeIp, isLoopbackIp } from './osc-guard.ts';
import { Subscribers, stateValues } from './osc-feedback.ts';
import { toInt, toLevel, OscArgError } from './osc-args.ts';

export interface OscSurfaceOptions {
  /** UDP port; 0 picks a free one. */
  port: number;
  host: string;
  prefix?: string;
  map?: OscMap | null;
  allow?: string[];
  feedback?: { host: string; port: number };
  log: Logger;
  /** Per-source messages per second and burst (default 4000 / 4000). */
  rate?: number;
  burst?: number;
}

/** Server-level OSC options (ServerOptions.osc). */
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
}

/**
 * Validate the options and load the mapping now, so a bad file fails before anything starts;
 * returns the function that starts the surface.
 */
export async function prepareOsc(opts: OscOptions, presetsDir: string) {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(prefix)) throw new Error(`bad OSC prefix "${prefix}": expected something like /ls`);
  new Allowlist(opts.allow); // throws naming a bad entry
  const builtins = new Map(oscRoutes().map((r) => [prefix + r.path, r]));
  const file = opts.map ?? path.join(presetsDir, 'osc-map.json');
  const map = opts.map || existsSync(file) ? await loadOscMap(file, builtins, prefix) : null;
  return async (stage: Stage, host: string, log: Logger): Promise<OscSurface | null> => {
    try {
      return await createOscSurface(stage, { ...opts, host: opts.host ?? host, prefix, map, log });
    } catch (err) {
      if (!opts.optional || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      log.warn(`OSC port ${opts.port} is in use: OSC is off (choose another with --osc-port N)`);
      return null;
    }
  };
}

/** CLI flags -> OscOptions; --osc-port 0 disables OSC (default port 9000). */
export function oscFromFlags(f: { oscPort?: number; oscHost?: string; oscAllow?: string; oscMap?: string; oscPrefix?: string; oscFeedback?: string }): OscOptions | null {
  const port = f.oscPort ?? 9000;
  if (port === 0) return null;
  let feedback: OscOptions['feedback'];
  if (f.oscFeedback) {
    const m = /^\[?([^\]\s]+?)\]?:(\d{1,5})$/.exec(f.oscFeedback);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`--osc-feedback must be HOST:PORT, got "${f.oscFeedback}"`);
    feedback = { host: m[1], port: Number(m[2]) };
  }
  return {
    port,
    optional: f.oscPort === undefined,
    host: f.oscHost,
    prefix: f.oscPrefix,
    map: f.oscMap,
    allow: f.oscAllow?.split(',').map((s) => s.trim()).filter(Boolean),
    feedback,
  };
}

/** The OSC part of the public state (absent when OSC is off). */
export interface OscStatus {
  port: number;
  host: string;
  prefix: string;
  subscribers: number;
}

export interface OscSurface extends Feature {
  port: number;
  status(): Partial<Pick<FeatureState, 'osc'>>;
  close(): Promise<void>;
}

interface Source {
  ip: string;
  address: string;
  port: number;
}

const FEEDBACK_MS = 100;
const FRAME_FALLBACK_MS = 100;
const MAX_AHEAD_MS = 60_000;
const MAX_SCHEDULED = 1024;
const MAX_EDGES = 4096;

/** Log at most once per 5 s per kind, saying how many were suppressed. */
function limitedLog(log: Logger) {
  const seen = new Map<string, { at: number; suppressed: number }>();
  return (kind: string, obj: object, msg: string) => {
    const now = Date.now();
    const e = seen.get(kind);
    if (e && now - e.at < 5000) {
      e.suppressed++;
      return;
    }
    log.warn({ ...obj, suppressed: e?.suppressed ?? 0 }, msg);
    if (seen.size >= 1024) seen.clear(); // many sources: forget, never grow without bound
    seen.set(kind, { at: now, suppressed: 0 });
  };
}

export async function createOscSurface(stage: Stage, opts: OscSurfaceOptions): Promise<OscSurface> {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const routes = new Map<string, OscRoute>(oscRoutes().map((r) => [prefix + r.path, r]));
  const mapped = opts.map?.routes ?? new Map<string, OscRoute>();
  const allow = new Allowlist(opts.allow);
  const limiter = new RateLimiter(opts.rate ?? 4000, opts.burst ?? 4000);
  const errorReplies = new RateLimiter(50, 100);
  const subs = new Subscribers();
  const warn = limitedLog(opts.log);
  const packets = (result: string) => stage.metrics.oscPackets.inc({ result });
  const messages = (result: string) => stage.metrics.oscMessages.inc({ result });

  if (!isLoopbackIp(opts.host === 'localhost' ? '127.0.0.1' : opts.host) && allow.entries.length === 0) {
    opts.log.warn(`OSC is bound to ${opts.host} but no --osc-allow is set: only loopback senders are accepted`);
  }

  const socket = dgram.createSocket({ type: isIP(opts.host) === 6 ? 'udp6' : 'udp4' });
  socket.on('error', (err) => warn('socket', { err }, 'OSC socket error'));

  const send = (address: string, port: number, msgAddress: string, args: TypedArg[]) => {
    try {
      socket.send(encodeMessage(msgAddress, args), port, address, () => {});
    } catch (err) {
      warn('send', { err }, 'OSC send failed');
    }
  };

  const fail = (src: Source, address: string, message: string, counted = false) => {
    if (!counted) stage.metrics.errors.inc({ surface: 'osc' });
    warn(`error:${src.ip}`, { from: `${src.address}:${src.port}`, address }, `OSC: ${message}`);
    if (errorReplies.take(src.ip)) send(src.address, src.port, `${prefix}/error`, [{ type: 's', value: address ? `${address}: ${message}` : message }]);
  };

  const dispatch = (cmd: Record<string, unknown>, src: Source, address: string) => {
    stage.dispatch(cmd, 'osc').then(
      () => messages('applied'),
      (err: Error) => {
        messages('rejected');
        fail(src, address, err.message, true); // dispatch counted the error
      },
    );
  };

  // Fader coalescing: the first value per address in a frame applies at once, later ones wait for
  // the next frame and only the newest of them survives.
  const appliedThisFrame = new Set<string>();
  const pending = new Map<string, { cmd: Record<string, unknown>; src: Source }>();
  let fallback: NodeJS.Timeout | null = null;
  const flush = () => {
    for (const [key, p] of pending) {
      appliedThisFrame.add(key);
      dispatch(p.cmd, p.src, key);
    }
    pending.clear();
  };
  const onFrame = () => {
    if (fallback) clearTimeout(fallback);
    fallback = null;
    appliedThisFrame.clear();
    flush();
  };
  stage.on('frame', onFrame);
  const fader = (key: string, cmd: Record<string, unknown>, src: Source) => {
    if (!appliedThisFrame.has(key)) {
      appliedThisFrame.add(key);
      return dispatch(cmd, src, key);
    }
    if (pending.has(key)) messages('coalesced');
    pending.set(key, { cmd, src });
    fallback ??= setTimeout(onFrame, FRAME_FALLBACK_MS); // in case frames stall
  };

  const edges = new Map<string, boolean>();
  const fires = (route: OscRoute, m: TimedMessage, src: Source): boolean => {
    if (m.args.length === 0) return true;
    const key = `${src.ip} ${m.address}`;
    const level = toLevel(m.args[0]);
    const prev = edges.get(key);
    if (edges.size >= MAX_EDGES && prev === undefined) edges.clear();
    edges.set(key, level);
    return route.edge === 'rise' ? level && !prev : level !== prev;
  };


  const feedbackTick = () => {
    if (subs.size === 0) return;
    const state = stage.state();
    const values = stateValues(state, prefix);
    if (opts.map) values.push(...opts.map.feedback(state));
    for (const [sub, changed] of subs.changes(values)) {
      for (const [address, args] of changed) send(sub.host, sub.port, address, args);
    }
  };
  const feedbackTimer = setInterval(feedbackTick, FEEDBACK_MS);

  const local = (route: OscRoute, m: TimedMessage, src: Source) => {
    const port = m.args.length ? toInt(m.args[0], 'port') : src.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new OscArgError('port must be 1-65535');
    if (route.path === '/subscribe') {
      subs.add(src.address, port);
      opts.log.info({ subscriber: `${src.address}:${port}` }, 'OSC feedback subscriber added');
      feedbackTick();
    } else {
      subs.remove(src.address, port);
    }
    stage.publish();
  };

  const handle = (m: TimedMessage, src: Source) => {
    const route = routes.get(m.address) ?? mapped.get(m.address);
    if (!route) {
      messages('unknown');
      return fail(src, m.address, `unknown address (built-in addresses start with ${prefix}/, e.g. ${prefix}/speed f)`);
    }
    try {
      if (route.kind === 'local') {
        if (!route.edge || fires(route, m, src)) local(route, m, src);
        return;
      }
      if (route.edge && !fires(route, m, src)) return;
      const cmd = route.toCommand(m.args);
      if (route.kind === 'fader') return fader(m.address, cmd, src);
      flush(); // keep arrival order: faders before this command land first
      dispatch(cmd, src, m.address);
    } catch (err) {
      messages('rejected');
      fail(src, m.address, (err as Error).message);
    }
  };

  const scheduled = new Set<NodeJS.Timeout>();
  const run = (batch: TimedMessage[], src: Source) => {
    const delay = batch[0].at - Date.now();
    if (batch[0].at === 0 || delay <= 0) return batch.forEach((m) => handle(m, src));
    if (delay > MAX_AHEAD_MS) return fail(src, batch[0].address, `bundle timetag is more than ${MAX_AHEAD_MS / 1000} s ahead`);
    if (scheduled.size >= MAX_SCHEDULED) return fail(src, batch[0].address, `more than ${MAX_SCHEDULED} bundles waiting for their time`);
    const t = setTimeout(() => {
      scheduled.delete(t);
      batch.forEach((m) => handle(m, src));
    }, delay);
    scheduled.add(t);
  };

  socket.on('message', (buf, rinfo) => {
    const src: Source = { ip: normalizeIp(rinfo.address), address: rinfo.address, port: rinfo.port };
    if (!allow.allows(src.ip)) {
      packets('denied');
      return warn(`denied:${src.ip}`, { from: src.ip }, 'OSC packet from a source not in --osc-allow dropped');
    }
    if (!limiter.take(src.ip)) {
      packets('rate_limited');
      return warn(`rate:${src.ip}`, { from: src.ip }, 'OSC rate limit exceeded; dropping');
    }
    if (buf.byteLength > MAX_PACKET) {
      packets('oversize');
      return fail(src, '', `packet larger than ${MAX_PACKET} bytes`);
    }
    let msgs: TimedMessage[];
    try {
      msgs = decodePacket(buf);
    } catch (err) {
      packets('malformed');
      return fail(src, '', (err as Error).message);
    }
    packets('accepted');
    // Consecutive messages sharing a timetag run together.
    for (let i = 0; i < msgs.length; ) {
      let j = i + 1;
      while (j < msgs.length && msgs[j].at === msgs[i].at) j++;
      run(msgs.slice(i, j), src);
      i = j;
    }
  });

  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port, opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    stage.off('frame', onFrame);
    clearInterval(feedbackTimer);
    socket.close();
    throw err;
  }
  try {
    socket.setRecvBufferSize(4 << 20); // ride out event-loop stalls during floods (capped by net.core.rmem_max)
  } catch {
    // keep the system default
  }
  const bound = socket.address().port;
  if (opts.feedback) subs.add(opts.feedback.host, opts.feedback.port, true);
  opts.log.info({ port: bound, host: opts.host, prefix, mapped: mapped.size }, 'OSC listening');

  let closed: Promise<void> | null = null;
  return {
    name: 'osc',
    port: bound,
    status: () => (closed ? {} : { osc: { port: bound, host: opts.host, prefix, subscribers: subs.size } }),
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        stage.off('frame', onFrame);
        clearInterval(feedbackTimer);
        if (fallback) clearTimeout(fallback);
        for (const t of scheduled) clearTimeout(t);
        scheduled.clear();
        socket.close(() => resolve());
      })),
  };
}
