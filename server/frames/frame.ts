// A generated frame: converted once from the generator's float output to 8-bit RGB, then encoded
// lazily, once per (format, size, quality) that some viewer actually asked for.
import sharp from 'sharp';
import type { EngineState } from '../engine/engine.ts';

export const formats = ['jpeg', 'rgba'] as const;
export type FrameFormat = (typeof formats)[number];

export interface EncodeRequest {
  format: FrameFormat;
  /** Output width in pixels (height follows the aspect ratio); null = native size. */
  size: number | null;
  /** JPEG quality 1-100. */
  quality: number;
}

export interface Encoded {
  data: Buffer;
  width: number;
  height: number;
  format: FrameFormat;
}

export interface FrameInfo {
  index: number;
  /** Engine time in seconds. */
  time: number;
  /** Wall-clock ms (performance.now()) when the frame was ready. */
  readyAt: number;
  /** Similarity of the frame to the active prompt, or NaN when not measured. */
  similarity: number;
}

/** Convert an NCHW float image in [lo, hi] into interleaved 8-bit RGB. */
export function toRgb(data: Float32Array, width: number, height: number, range: readonly [number, number], offset = 0): Buffer {
  const plane = width * height;
  const out = Buffer.allocUnsafe(plane * 3);
  const [lo, hi] = range;
  const k = 255 / (hi - lo);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const v = (data[offset + c * plane + i] - lo) * k;
      out[i * 3 + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return out;
}

/** The latent a frame was generated from, and the engine step that produced it (for recording). */
export interface FrameLatent {
  z: Float32Array;
  condition: Float32Array | null;
  /** Seconds of walk time the step covered. */
  dt: number;
  /** Frame slots the step covered (more than 1 when frames were skipped). */
  frames: number;
  /** The engine state after the step (immutable snapshot: prompt, params, seed). */
  state?: EngineState;
}

/** The cache key of a request: requests with the same key get the same bytes. */
export function encodeKey(req: EncodeRequest, nativeWidth: number): string {
  const size = req.size && req.size !== nativeWidth ? req.size : null;
  return `${req.format}:${size ?? 'native'}:${req.format === 'jpeg' ? req.quality : 0}`;
}

export class Frame {
  private cache = new Map<string, Promise<Encoded>>();
  /** How many encodes this frame actually ran (for metrics and tests). */
  encodes = 0;

  constructor(
    readonly info: FrameInfo,
    readonly rgb: Buffer,
    readonly width: number,
    readonly height: number,
    public latent: FrameLatent | null = null,
  ) {}

  /** Encoded bytes for a request, computed at most once per distinct request. */
  encode(req: EncodeRequest): Promise<Encoded> {
    const size = req.size && req.size !== this.width ? req.size : null;
    const key = encodeKey(req, this.width);
    let hit = this.cache.get(key);
    if (!hit) {
      this.encodes++;
      hit = this.run(req.format, size, req.quality);
      this.cache.set(key, hit);
    }
    return hit;
  }

  private async run(format: FrameFormat, size: number | null, quality: number): Promise<Encoded> {
    let img = sharp(this.rgb, { raw: { width: this.width, height: this.height, channels: 3 } });
    if (size) img = img.resize({ width: size, height: Math.max(1, Math.round((size * this.height) / this.width)), kernel: 'lanczos3', fit: 'fill' });
    const out =
      format === 'jpeg'
        ? await img.jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' }).toBuffer({ resolveWithObject: true })
        : await img.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data: out.data, width: out.info.width, height: out.info.height, format };
  }
}
