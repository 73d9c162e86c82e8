// OSCQuery: the OSC address space described over HTTP, so TouchOSC, Chataigne or Vezér discover
// latentstage instead of having the addresses typed in. Generated from the same table as the OSC
// surface (osc-table.ts) and its controller mapping (map.ts): every accepted address with its
// type tags, range, current value and description. Implements the OSCQuery proposal's HTTP JSON tree, ?HOST_INFO, attribute queries
// (?VALUE, ?RANGE, ...) and the LISTEN extension (a websocket on the same port: clients send
// {"COMMAND":"LISTEN","DATA":"/ls/speed"} and receive OSC-encoded value updates as binary
// messages). mDNS advertises _oscjson._tcp (and the OSC port as _osc._udp), best-effort: without
// multicast the server runs on and says so in the log.
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import Bonjour from 'bonjour-service';
import type { Logger } from 'pino';
import type { Feature, FeatureHost } from '../../feature.ts';
import type { FeatureState, PublicState } from '../../state.ts';
import { numericParams, enumParams, type NumericParamName } from '../../params.ts';
import { bpm as bpmSchema } from '../../schema-atoms.ts';
import { oscRoutes, type OscRoute } from './table.ts';
import { encodeMessage, type TypedArg } from './wire.ts';
import { typeTags } from './args.ts';
import type { OscMap } from './map.ts';

export { typeTags };

export interface OscQueryOptions {
  /** TCP port of the OSCQuery HTTP/websocket server; 0 picks a free one. */
  port: number;
  host: string;
  /** Where OSC itself listens (HOST_INFO's OSC_IP / OSC_PORT). */
  oscHost: string;
  oscPort: number;
  prefix: string;
  /** Advertise over mDNS (default true). */
  advertise?: boolean;
  /** Service name (default "latentstage on HOSTNAME"). */
  name?: string;
  /** The controller mapping, whose addresses are listed beside the built-in ones. */
  map?: OscMap | null;
  log: Logger;
}

export interface OscQuery extends Feature {
  port: number;
  status(): Pick<FeatureState, 'oscquery'>;
  close(): Promise<void>;
}

/** One method node: what the tree shows for an accepted address. */
interface Method {
  path: string;
  type: string;
  access: 0 | 1 | 2 | 3;
  description: string;
  range?: ({ MIN?: number; MAX?: number; VALS?: unknown[] } | null)[];
  value?: (s: PublicState) => TypedArg[] | null;
}

function recordingActive(s: PublicState): boolean {
  const r = s.recording as { active?: unknown } | undefined;
  return Boolean(r && typeof r === 'object' && r.active);
}

function tempoBpm(s: PublicState): number | null {
  const t = s.tempo as { bpm?: unknown } | undefined;
  return t && typeof t === 'object' && typeof t.bpm === 'number' ? t.bpm : null;
}

/** Range, value and access of a route, from the command it sends and the parameter table. */
function describe(r: OscRoute, path: string): Method {
  const m: Method = { path, type: typeTags(r.args), access: 2, description: r.doc };
  const set = /^set (\w+)$/.exec(r.command);
  if (set && set[1] in numericParams) {
    const name = set[1] as NumericParamName;
    const p = numericParams[name];
    return { ...m, access: 3, range: [{ MIN: p.min, MAX: p.max }], value: (s) => [{ type: 'f', value: s.params[name] }] };
  }
  if (set && set[1] in enumParams) {
    const name = set[1] as keyof typeof enumParams;
    return { ...m, access: 3, range: [{ VALS: [...enumParams[name].values] }], value: (s) => [{ type: 's', value: s.params[name] }] };
  }
  switch (r.command) {
    case 'seed':
      return { ...m, access: 3, range: [{ MIN: 0, MAX: 0xffffffff }], value: (s) => [{ type: 'i', value: s.seed }] };
    case 'prompt':
      return { ...m, access: 3, value: (s) => [{ type: 's', value: s.prompt.text }] };
    case 'tempo':
      return {
        ...m,
        access: 3,
        range: [{ MIN: bpmSchema.minValue ?? 20, MAX: bpmSchema.maxValue ?? 400 }],
        value: (s) => {
          const bpm = tempoBpm(s);
          return bpm === null ? null : [{ type: 'f', value: bpm }];
        },
      };
    case 'record.start / record.stop':
      return { ...m, access: 3, range: [{ VALS: [0, 1] }], value: (s) => [{ type: 'i', value: recordingActive(s) ? 1 : 0 }] };
    case 'beat':
      return { ...m, range: [{ VALS: [0, 1] }] };
  }
  return m;
}

export function oscQueryMethods(prefix: string, map?: OscMap | null): Method[] {
  const builtin = oscRoutes().map((r) => describe(r, prefix + r.path));
  const mapped = (map?.described ?? []).map(
    (m): Method => ({ path: m.path, type: m.type, access: m.value ? 3 : 2, description: m.description, range: m.range.length ? m.range : undefined, value: m.value }),
  );
  return [...builtin, ...mapped];
}

interface Node {
  FULL_PATH: string;
  DESCRIPTION?: string;
  ACCESS: number;
  CONTENTS?: Record<string, Node>;
  TYPE?: string;
  RANGE?: Method['range'];
  VALUE?: unknown[];
}

/** The whole tree with current values. */
export function oscQueryTree(methods: Method[], state: PublicState): Node {
  const root: Node = { FULL_PATH: '/', DESCRIPTION: 'latentstage', ACCESS: 0, CONTENTS: {} };
  for (const m of methods) {
    let node = root;
    const parts = m.path.split('/').filter(Boolean);
    parts.forEach((part, i) => {
      node.CONTENTS ??= {};
      node = node.CONTENTS[part] ??= { FULL_PATH: '/' + parts.slice(0, i + 1).join('/'), ACCESS: 0 };
    });
    node.DESCRIPTION = m.description;
    node.ACCESS = m.access;
    node.TYPE = m.type;
    if (m.range) node.RANGE = m.range;
    const v = m.value?.(state);
    if (v) node.VALUE = v.map((a) => a.value);
  }
  return root;
}

function findNode(root: Node, path: string): Node | null {
  let node: Node | undefined = root;
  for (const part of path.split('/').filter(Boolean)) {
    node = node.CONTENTS?.[part];
    if (!node) return null;
  }
  return node;
}

const ATTRIBUTES = new Set(['FULL_PATH', 'CONTENTS', 'TYPE', 'ACCESS', 'RANGE', 'DESCRIPTION', 'VALUE']);
const EXTENSIONS = { ACCESS: true, VALUE: true, RANGE: true, DESCRIPTION: true, LISTEN: true, TAGS: false, CRITICAL: false, CLIPMODE: false, UNIT: false, HTML: false, PATH_CHANGED: false, PATH_ADDED: false, PATH_REMOVED: false, PATH_RENAMED: false };
const LISTEN_MS = 20;
const MAX_LISTENERS = 64;
const MAX_LISTENED = 256;

/** The address to put in HOST_INFO: a wildcard bind is answered with one of the machine's addresses. */
function reachable(host: string): string {
  if (host !== '0.0.0.0' && host !== '::') return host;
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

export async function startOscQuery(stage: FeatureHost, opts: OscQueryOptions): Promise<OscQuery> {
  const methods = oscQueryMethods(opts.prefix, opts.map);
  const byPath = new Map(methods.map((m) => [m.path, m]));
  const name = opts.name ?? `latentstage on ${os.hostname()}`;
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Access-Control-Allow-Origin': '*' });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'OSCQuery answers GET only' });
    const url = new URL(req.url ?? '/', 'http://localhost');
    const attr = url.search.length > 1 ? decodeURIComponent(url.search.slice(1)) : null;
    if (attr === 'HOST_INFO') {
      return json(res, 200, { NAME: name, EXTENSIONS, OSC_IP: reachable(opts.oscHost), OSC_PORT: opts.oscPort, OSC_TRANSPORT: 'UDP' });
    }
    if (attr !== null && !ATTRIBUTES.has(attr)) return json(res, 400, { error: `unknown attribute ${attr.slice(0, 40)}` });
    const node = findNode(oscQueryTree(methods, stage.state()), decodeURIComponent(url.pathname));
    if (!node) return json(res, 404, { error: `no OSC address ${url.pathname.slice(0, 200)}` });
    if (attr === null) return json(res, 200, node);
    if (attr === 'VALUE' && (node.ACCESS === 0 || node.ACCESS === 2)) {
      res.writeHead(204);
      return res.end();
    }
    return json(res, 200, { [attr]: node[attr as keyof Node] ?? null });
  });

  // LISTEN: per client, the paths it listens to and the last value it was sent.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });
  const listening = new Map<WebSocket, Map<string, string>>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    if (listening.size >= MAX_LISTENERS) return socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n');
    wss.handleUpgrade(req, socket, head, (ws) => {
      const paths = new Map<string, string>();
      listening.set(ws, paths);
      ws.on('error', () => {});
      ws.on('close', () => listening.delete(ws));
      ws.on('message', (data, isBinary) => {
        if (isBinary) return; // values are sent to the OSC port, not here
        let msg: { COMMAND?: unknown; DATA?: unknown };
        try {
          msg = JSON.parse(data.toString());
        } catch {
          return;
        }
        const path = typeof msg.DATA === 'string' ? msg.DATA : '';
        if (msg.COMMAND === 'LISTEN' && byPath.get(path)?.value && paths.size < MAX_LISTENED) {
          paths.set(path, '');
          flush();
        } else if (msg.COMMAND === 'IGNORE') paths.delete(path);
      });
    });
  });

  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer ??= setTimeout(() => {
      timer = null;
      if (!listening.size) return;
      const state = stage.state();
      for (const [ws, paths] of listening) {
        if (ws.readyState !== WebSocket.OPEN) continue;
        for (const [path, last] of paths) {
          const args = byPath.get(path)?.value?.(state);
          if (!args) continue;
          const key = JSON.stringify(args);
          if (key === last) continue;
          paths.set(path, key);
          ws.send(encodeMessage(path, args));
        }
      }
    }, LISTEN_MS);
  };
  const onState = () => {
    if (listening.size) flush();
  };
  stage.on('state', onState);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let bonjour: Bonjour.Bonjour | null = null;
  if (opts.advertise !== false) {
    try {
      bonjour = new Bonjour.Bonjour({}, (err: Error) => opts.log.warn(`OSCQuery: mDNS advertisement failed (${err.message}); clients can still connect to port ${port}`));
      for (const svc of [bonjour.publish({ name, type: 'oscjson', protocol: 'tcp', port }), bonjour.publish({ name, type: 'osc', protocol: 'udp', port: opts.oscPort })]) {
        svc.on('error', (err: Error) => opts.log.warn(`OSCQuery: mDNS: ${err.message}`));
      }
    } catch (err) {
      opts.log.warn(`OSCQuery: no mDNS advertisement (${(err as Error).message}); clients can still connect to port ${port}`);
      bonjour = null;
    }
  }

  return {
    name: 'oscquery',
    port,
    status: () => ({ oscquery: { port, listeners: listening.size } }),
    async close() {
      stage.off('state', onState);
      if (timer) clearTimeout(timer);
      for (const ws of listening.keys()) ws.terminate();
      wss.close();
      if (bonjour) {
        const b = bonjour;
        await new Promise<void>((resolve) => {
          const done = setTimeout(resolve, 1000);
          try {
            b.unpublishAll(() => {
              clearTimeout(done);
              resolve();
            });
          } catch {
            resolve();
          }
        });
        try {
          b.destroy();
        } catch {
          // the socket may already be gone
        }
      }
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
