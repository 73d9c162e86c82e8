// OSC 1.0 on the wire. osc-js encodes and decodes messages; bundles are walked here because
// osc-js ignores element sizes, rounds timetags to whole seconds and (for blobs) reads outside a
// pooled Buffer. Every decode error is an OscDecodeError; nothing is applied from a packet that
// fails to decode.
import oscJs from 'osc-js';
import { float32Decimal } from '../../numbers.ts';

// osc-js is CommonJS with ESM-style typings: at runtime the default import is the OSC class.
const OSC = oscJs as unknown as typeof oscJs.default;

export const MAX_PACKET = 64 * 1024;
const MAX_DEPTH = 8;
const MAX_ADDRESS = 256;
const NTP_EPOCH_OFFSET = 2208988800; // seconds from 1900-01-01 to 1970-01-01

export type OscArg = number | bigint | string | boolean | null | Uint8Array;

export interface OscMessage {
  address: string;
  types: string;
  args: OscArg[];
}

/** A packet flattened into messages, each with the time it is due (ms since epoch, 0 = now). */
export interface TimedMessage extends OscMessage {
  at: number;
}

export class OscDecodeError extends Error {}

function decodeMessage(view: Uint8Array): OscMessage {
  // A private copy: osc-js reads blobs relative to the whole ArrayBuffer.
  const own = new Uint8Array(view); // a copy (Buffer#slice would be a view)
  const msg = new OSC.Message('/');
  let end: number;
  try {
    end = msg.unpack(new DataView(own.buffer));
  } catch (err) {
    throw new OscDecodeError(`malformed message: ${(err as Error).message}`);
  }
  if (end > own.byteLength) throw new OscDecodeError('malformed message: truncated');
  const types = msg.types ?? '';
  if (types.length > 0 && types[0] !== ',') throw new OscDecodeError('malformed message: type tags must start with ","');
  if (msg.address.length > MAX_ADDRESS) throw new OscDecodeError(`address longer than ${MAX_ADDRESS} characters`);
  const tags = types.slice(1);
  // float32 arguments as the shortest decimal that is the same float32 (0.41, not 0.4099999964237213)
  const args = (msg.args as OscArg[]).map((a, i) => (tags[i] === 'f' && typeof a === 'number' ? float32Decimal(a) : a));
  return { address: msg.address, types: tags, args };
}

/** NTP timetag -> ms since the Unix epoch; 0 for "immediately" (seconds 0, fraction 1). */
export function timetagToMs(seconds: number, fraction: number): number {
  if (seconds === 0) return 0;
  return (seconds - NTP_EPOCH_OFFSET) * 1000 + (fraction / 2 ** 32) * 1000;
}

export function msToTimetag(ms: number): [number, number] {
  const s = Math.floor(ms / 1000);
  return [s + NTP_EPOCH_OFFSET, Math.round(((ms - s * 1000) / 1000) * 2 ** 32) >>> 0];
}

function isBundle(b: Uint8Array): boolean {
  return b.byteLength >= 8 && Buffer.from(b.buffer, b.byteOffset, 8).toString('latin1') === '#bundle\0';
}

function walk(b: Uint8Array, at: number, depth: number, out: TimedMessage[]): void {
  if (b.byteLength === 0 || b.byteLength % 4 !== 0) throw new OscDecodeError('malformed packet: size must be a positive multiple of 4');
  if (!isBundle(b)) {
    if (b[0] !== 0x2f) throw new OscDecodeError('malformed packet: neither a message ("/...") nor a "#bundle"');
    out.push({ ...decodeMessage(b), at });
    return;
  }
  if (depth >= MAX_DEPTH) throw new OscDecodeError(`bundles nested deeper than ${MAX_DEPTH}`);
  if (b.byteLength < 16) throw new OscDecodeError('malformed bundle: no timetag');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // Inner bundles may not be due before their parent.
  const time = Math.max(at, timetagToMs(dv.getUint32(8), dv.getUint32(12)));
  let off = 16;
  while (off < b.byteLength) {
    if (off + 4 > b.byteLength) throw new OscDecodeError('malformed bundle: truncated element size');
    const size = dv.getInt32(off);
    off += 4;
    if (size <= 0 || size % 4 !== 0 || off + size > b.byteLength) throw new OscDecodeError(`malformed bundle: bad element size ${size}`);
    walk(b.subarray(off, off + size), time, depth + 1, out);
    off += size;
  }
}

/** Decode a datagram into its messages (a bundle's messages share its timetag). */
export function decodePacket(buf: Uint8Array): TimedMessage[] {
  if (buf.byteLength > MAX_PACKET) throw new OscDecodeError(`packet larger than ${MAX_PACKET} bytes`);
  const out: TimedMessage[] = [];
  walk(buf, 0, 0, out);
  return out;
}

export type TypedArg = { type: 'i' | 'f' | 's'; value: number | string };

/** osc-js writes strings one UTF-16 unit per byte; hand it UTF-8 bytes as latin1 characters. */
function wireString(s: string): string {
  return Buffer.from(s.replaceAll('\0', ''), 'utf8').toString('latin1');
}

export function encodeMessage(address: string, args: TypedArg[] = []): Uint8Array {
  const typed = args.map((a) => (a.type === 's' ? { type: 's', value: wireString(String(a.value)) } : a));
  return new OSC.TypedMessage(address, typed as never).pack();
}
