// The binary frame message sent over /frames: a fixed 32-byte little-endian header + payload.
//
//   offset size  field
//   0      4     magic "LSF1"
//   4      4     frame index (uint32)
//   8      8     engine time in seconds (float64)
//   16     2     width (uint16)
//   18     2     height (uint16)
//   20     1     format: 0 = JPEG, 1 = raw RGBA, 2 = latent (float32 LE: z, then the condition if any)
//   21     1     reserved (0)
//   22     2     header length in bytes (uint16, 32): payload starts here
//   24     4     similarity to the active prompt (float32, NaN when not measured)
//   28     4     payload length (uint32)
//
// A latent frame's width and height are the picture's (the model's resolution): the size the
// browser draws it at (see frames/latent.ts).
import type { Encoded, FrameInfo, FrameFormat } from './frame.ts';

export const HEADER_BYTES = 32;
export const MAGIC = 0x3146534c; // "LSF1" read as little-endian uint32
/** What a frame message carries: an encoded picture, or the latent to draw one from. */
export type MessageFormat = FrameFormat | 'latent';
const FORMAT_CODES: Record<MessageFormat, number> = { jpeg: 0, rgba: 1, latent: 2 };
const FORMAT_NAMES: MessageFormat[] = ['jpeg', 'rgba', 'latent'];

export interface FrameHeader {
  index: number;
  time: number;
  width: number;
  height: number;
  format: MessageFormat;
  similarity: number;
  payloadLength: number;
}

export function frameHeader(info: FrameInfo, enc: Pick<Encoded, 'width' | 'height' | 'data'> & { format: MessageFormat }): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt32LE(MAGIC, 0);
  h.writeUInt32LE(info.index >>> 0, 4);
  h.writeDoubleLE(info.time, 8);
  h.writeUInt16LE(enc.width, 16);
  h.writeUInt16LE(enc.height, 18);
  h.writeUInt8(FORMAT_CODES[enc.format], 20);
  h.writeUInt16LE(HEADER_BYTES, 22);
  h.writeFloatLE(info.similarity, 24);
  h.writeUInt32LE(enc.data.length, 28);
  return h;
}

export function parseFrameHeader(buf: Uint8Array): FrameHeader {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < HEADER_BYTES || b.readUInt32LE(0) !== MAGIC) throw new Error('not a latentstage frame');
  return {
    index: b.readUInt32LE(4),
    time: b.readDoubleLE(8),
    width: b.readUInt16LE(16),
    height: b.readUInt16LE(18),
    format: FORMAT_NAMES[b.readUInt8(20)] ?? 'rgba',
    similarity: b.readFloatLE(24),
    payloadLength: b.readUInt32LE(28),
  };
}
