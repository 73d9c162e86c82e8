// The OSC surface: play the stage from TouchOSC, Max, TouchDesigner or any OSC device over UDP.
// One more thin adapter onto stage.dispatch(cmd, 'osc'), wired from single-purpose pieces in osc/:
//   wire.ts      OSC 1.0 packets in and out (node:dgram owns the socket: we need the sender of
//                every message and the raw datagram to reject before parsing)
//   guard.ts     who may play (allowlist), how fast (token buckets), a log floods cannot flood
//   router.ts    which routes an address reaches, OSC address patterns included
//   table.ts     the built-in addresses; map.ts the controller mappings
//   args.ts      controllers' argument habits; edges.ts button edges
//   pacer.ts     faders coalesced per frame, bundles at their timetag
//   feedback.ts  /ls/state/... to subscribers
//   options.ts   server options and CLI flags
// Out: /ls/error to the sender of bad input; feedback to subscribers.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Feature, FeatureHost } from '../feature.ts';
import type { FeatureState } from '../state.ts';
import { decodePacket, encodeMessage, MAX_PACKET, type TimedMessage, type TypedArg } from './osc/wire.ts';
import { oscRoutes, DEFAULT_PREFIX, type OscRoute } from './osc/table.ts';
import { loadOscMap, type OscMap } from './osc/map.ts';
import { Allowlist, RateLimiter, normalizeIp, isLoopbackIp, limitedLog } from './osc/guard.ts';
import { Feedback, stateValues } from './osc/feedback.ts';
import { toInt, OscArgError } from './osc/args.ts';
import { Router, type Match } from './osc/router.ts';
import { Edges } from './osc/edges.ts';
import { FaderPacer, BundleTimer } from './osc/pacer.ts';
import { oscPrefix } from '../schema-atoms.ts';
import type { OscOptions } from './osc/options.ts';

export { oscFromFlags, type OscOptions } from './osc/options.ts';

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

/**
 * Validate the options and load the mapping now, so a bad file fails before anything starts;
 * returns the function that starts the surface.
 */
export async function prepareOsc(opts: OscOptions, presetsDir: string) {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const checked = oscPrefix().safeParse(prefix);
  if (!checked.success) throw new Error(`bad OSC prefix "${prefix}": expected something like /ls`);
  new Allowlist(opts.allow); // throws naming a bad entry
  const builtins = new Map(oscRoutes().map((r) => [prefix + r.path, r]));
  const file = opts.map ?? path.join(presetsDir, 'osc-map.json');
  const map = opts.map || existsSync(file) ? await loadOscMap(file, builtins, prefix) : null;
  return async (stage: FeatureHost, host: string, log: Logger): Promise<OscSurface | null> => {
    try {
      return await createOscSurface(stage, { ...opts, host: opts.host ?? host, prefix, map, log });
    } catch (err) {
      if (!opts.optional || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      log.warn(`OSC port ${opts.port} is in use: OSC is off (choose another with --osc-port N)`);
      return null;
    }
  };
}

/** The OSC part of the public state (absent when OSC is off). */
export interface OscSurface extends Feature {
  port: number;
  /** The controller mapping in use (OSCQuery lists its addresses). */
  map: OscMap | null;
  status(): Partial<Pick<FeatureState, 'osc'>>;
  close(): Promise<void>;
}

interface Source {
  ip: string;
  address: string;
  port: number;
}

type Pending = { cmd: Record<string, unknown>; src: Source };

export async function createOscSurface(stage: FeatureHost, opts: OscSurfaceOptions): Promise<OscSurface> {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const router = new Router(new Map<string, OscRoute>(oscRoutes().map((r) => [prefix + r.path, r])), opts.map?.routes ?? new Map());
  const allow = new Allowlist(opts.allow);
  const limiter = new RateLimiter(opts.rate ?? 4000, opts.burst ?? 4000);
  const errorReplies = new RateLimiter(50, 100);
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

  const faders = new FaderPacer<Pending>(
    (key, p) => dispatch(p.cmd, p.src, key),
    () => messages('coalesced'),
  );
  const onFrame = () => faders.frame();
  stage.on('frame', onFrame);
  const bundles = new BundleTimer();
  const edges = new Edges();
  const feedback = new Feedback(() => {
    const state = stage.state();
    const values = stateValues(state, prefix);
    if (opts.map) values.push(...opts.map.feedback(state));
    return values;
  }, send);

  const local = (route: OscRoute, m: TimedMessage, src: Source) => {
    const port = m.args.length ? toInt(m.args[0], 'port') : src.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new OscArgError('port must be 1-65535');
    if (route.path === '/subscribe') {
      feedback.subscribe(src.address, port);
      opts.log.info({ subscriber: `${src.address}:${port}` }, 'OSC feedback subscriber added');
    } else {
      feedback.unsubscribe(src.address, port);
    }
    stage.publish();
  };

  const apply = ({ address, route }: Match, m: TimedMessage, src: Source) => {
    try {
      const fires = () => !route.edge || edges.fires(route.edge, `${src.ip} ${address}`, m.args);
      if (route.kind === 'local') {
        if (fires()) local(route, m, src);
        return;
      }
      if (!fires()) return;
      const cmd = route.toCommand(m.args);
      if (route.kind === 'fader') return faders.offer(address, { cmd, src });
      faders.flush(); // keep arrival order: faders before this command land first
      dispatch(cmd, src, address);
    } catch (err) {
      messages('rejected');
      fail(src, address, (err as Error).message);
    }
  };

  const handle = (m: TimedMessage, src: Source) => {
    let matches: Match[];
    try {
      matches = router.match(m.address);
    } catch (err) {
      messages('rejected');
      return fail(src, m.address, (err as Error).message);
    }
    if (matches.length === 0) {
      messages('unknown');
      return fail(src, m.address, `unknown address (built-in addresses start with ${prefix}/, e.g. ${prefix}/speed f)`);
    }
    for (const match of matches) apply(match, m, src);
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
    // Consecutive messages sharing a timetag run together, at that time.
    for (let i = 0; i < msgs.length; ) {
      let j = i + 1;
      while (j < msgs.length && msgs[j].at === msgs[i].at) j++;
      const batch = msgs.slice(i, j);
      const refused = bundles.at(batch[0].at, () => batch.forEach((m) => handle(m, src)));
      if (refused) fail(src, batch[0].address, refused);
      i = j;
    }
  });

  const release = () => {
    stage.off('frame', onFrame);
    feedback.close();
    faders.close();
    bundles.close();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port, opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    release();
    socket.close();
    throw err;
  }
  try {
    socket.setRecvBufferSize(4 << 20); // ride out event-loop stalls during floods (capped by net.core.rmem_max)
  } catch {
    // keep the system default
  }
  const bound = socket.address().port;
  if (opts.feedback) feedback.subscribe(opts.feedback.host, opts.feedback.port, true);
  opts.log.info({ port: bound, host: opts.host, prefix, mapped: opts.map?.routes.size ?? 0 }, 'OSC listening');

  let closed: Promise<void> | null = null;
  return {
    name: 'osc',
    port: bound,
    map: opts.map ?? null,
    status: () => (closed ? {} : { osc: { port: bound, host: opts.host, prefix, subscribers: feedback.size } }),
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        release();
        socket.close(() => resolve());
      })),
  };
}
