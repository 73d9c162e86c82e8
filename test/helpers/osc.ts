// OSC test peers: liblo's oscsend/oscdump (a real OSC implementation we did not write) and a raw
// node:dgram client for packets no well-behaved library would send.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { promisify } from 'node:util';
import oscJs from 'osc-js';
import { encodeMessage, type TypedArg } from '../../server/surfaces/osc/wire.ts';

const OSC = oscJs as unknown as typeof oscJs.default;
const run = promisify(execFile);

/** `oscsend 127.0.0.1 PORT ADDRESS TYPES VALUES...` */
export async function oscsend(port: number, address: string, types = '', ...values: (string | number)[]): Promise<void> {
  await run('oscsend', ['127.0.0.1', String(port), address, ...(types ? [types, ...values.map(String)] : [])]);
}

/** A free UDP port (bound then released). */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Run `oscdump -L PORT` and collect its lines, e.g. "/ls/state/speed f 0.500000". */
export function oscdump(port: number): { lines: string[]; proc: ChildProcess; stop(): void } {
  const proc = spawn('oscdump', ['-L', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts.map((l) => l.replace(/^[0-9a-f]+\.[0-9a-f]+ /, ''))); // drop the timetag column
  });
  return { lines, proc, stop: () => proc.kill('SIGTERM') };
}

export interface RawClient {
  port: number;
  /** Messages received back, decoded with osc-js. */
  inbox: { address: string; args: unknown[] }[];
  send(data: Uint8Array): Promise<void>;
  message(address: string, ...args: TypedArg[]): Promise<void>;
  close(): Promise<void>;
}

export async function rawClient(serverPort: number): Promise<RawClient> {
  const s = dgram.createSocket('udp4');
  const inbox: RawClient['inbox'] = [];
  s.on('message', (buf) => {
    try {
      const own = Uint8Array.from(buf);
      const m = new OSC.Message('/');
      m.unpack(new DataView(own.buffer));
      inbox.push({ address: m.address, args: m.args });
    } catch {
      // not for us
    }
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const send = (data: Uint8Array) => new Promise<void>((resolve, reject) => s.send(data, serverPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  return {
    port: s.address().port,
    inbox,
    send,
    message: (address, ...args) => send(encodeMessage(address, args)),
    close: () => new Promise<void>((r) => s.close(() => r())),
  };
}

/** A bundle due at `ms` (Unix ms; 1 = "immediately"), packed by osc-js. */
export function bundle(ms: number, ...messages: [string, ...TypedArg[]][]): Uint8Array {
  const b = new OSC.Bundle(
    messages.map(([address, ...args]) => {
      const m = new OSC.Message(address);
      m.types = args.map((a) => a.type).join('');
      m.args = args.map((a) => a.value);
      return m;
    }),
  );
  if (ms === 1) {
    const packed = b.pack();
    new DataView(packed.buffer).setUint32(8, 0);
    new DataView(packed.buffer).setUint32(12, 1);
    return packed;
  }
  b.timestamp(Math.round(ms));
  return b.pack();
}

/** Sum of a Prometheus counter's samples whose labels include all of `labels`. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
  }
  return sum;
}
