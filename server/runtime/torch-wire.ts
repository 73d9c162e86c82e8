// The torch runtime's wire format, both directions (server/python/latentstage/serve.py is the other
// end): a little-endian u32 header length, a JSON header, then the binary parts the header lists by
// byte length in "parts". Reading copies each part once, from the pipe's chunks into a buffer of
// its own (so typed arrays over it are aligned and may be kept); nothing else is copied.

export interface WireHeader {
  parts?: number[];
  [key: string]: unknown;
}

export interface WireMessage {
  header: WireHeader;
  parts: Buffer[];
}

/** One message as one buffer to write (requests are small: latents, token ids). */
export function encodeMessage(header: Record<string, unknown>, parts: ArrayBufferView[] = []): Buffer {
  const raw = Buffer.from(JSON.stringify({ ...header, parts: parts.map((p) => p.byteLength) }));
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32LE(raw.length, 0);
  return Buffer.concat([len, raw, ...parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))]);
}

/** Headers larger than this are a broken stream, not a message. */
const MAX_HEADER = 1 << 20;

/** Turns the pipe's chunks back into messages. */
export class WireReader {
  private chunks: Buffer[] = [];
  private queued = 0;
  private header: WireHeader | null = null;
  private parts: Buffer[] = [];
  /** The part being filled and how much of it is. */
  private part: Buffer | null = null;
  private filled = 0;

  constructor(private readonly onMessage: (m: WireMessage) => void) {}

  push(chunk: Buffer): void {
    let c: Buffer | null = chunk;
    while (c && c.length) {
      if (this.part) {
        const n = Math.min(c.length, this.part.length - this.filled);
        c.copy(this.part, this.filled, 0, n);
        this.filled += n;
        c = n < c.length ? c.subarray(n) : null;
        if (this.filled === this.part.length) this.finishPart();
        continue;
      }
      // header bytes: gather until the whole header is here
      this.chunks.push(c);
      this.queued += c.length;
      c = null;
      const rest = this.readHeader();
      if (rest) c = rest;
    }
  }

  private readHeader(): Buffer | null {
    if (this.queued < 4) return null;
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [all];
    const size = all.readUInt32LE(0);
    if (size > MAX_HEADER) throw new Error(`torch runtime: broken reply stream (header of ${size} bytes)`);
    if (all.length < 4 + size) return null;
    this.header = JSON.parse(all.subarray(4, 4 + size).toString('utf8')) as WireHeader;
    this.chunks = [];
    this.queued = 0;
    this.parts = [];
    this.nextPart();
    const rest = all.subarray(4 + size);
    return rest.length ? rest : null;
  }

  private nextPart(): void {
    const sizes = this.header!.parts ?? [];
    while (this.parts.length < sizes.length && sizes[this.parts.length] === 0) this.parts.push(Buffer.alloc(0));
    if (this.parts.length < sizes.length) {
      this.part = Buffer.allocUnsafeSlow(sizes[this.parts.length]!);
      this.filled = 0;
      return;
    }
    this.part = null;
    const m = { header: this.header!, parts: this.parts };
    this.header = null;
    this.parts = [];
    this.onMessage(m);
  }

  private finishPart(): void {
    this.parts.push(this.part!);
    this.part = null;
    this.nextPart();
  }
}

/** A part as float32 values over the same memory (parts are allocated on their own: aligned). */
export function f32(b: Buffer): Float32Array {
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}
