// A generated frame: converted once from the generator's float output to 8-bit RGB, then encoded
// lazily, once per (format, size, quality) that some viewer actually asked for.
import sharp, { type Sharp } from 'sharp';
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

/**
 * Scale a frame to a viewer's size. Downscaling uses lanczos3. Upscaling (a projector asking for
 * 512 or 1024 px) replicates pixels and smooths them with a gaussian of sigma f / 2.45, which is
 * bilinear interpolation (within 0.1% of it at whole factors) at a third of the cost of sharp's
 * own interpolating resize at 1024 px: that is what lets every size run at full rate on 2 cores
 * (`npm run bench -- pipeline`).
 */
function resized(img: Sharp, width: number, height: number, factor: number): Sharp {
  if (factor <= 1) return img.resize({ width, height, kernel: 'lanczos3', fit: 'fill' });
  return img.resize({ width, height, kernel: 'nearest', fit: 'fill' }).blur(Math.max(0.5, factor / 2.45));
}

/** The cache key of a request: requests with the same key get the same bytes. */
export function encodeKey(req: EncodeRequest, nativeWidth: number): string {
  const size = req.size && req.size !== nativeWidth ? req.size : null;
  return `${req.format}:${size ?? 'native'}:${req.format === 'jpeg' ? req.quality : 0}`;
}

/** A frame's measurement, asked before it is made: whether it needs its image embedding, and its scorer. */
export interface FrameMeasure {
  embed: boolean;
  /** The frame's similarity to the prompt active when it was asked (NaN when not measured). */
  score(embedding: Float32Array | null): number;
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

  // Live JPEG skips the second (Huffman-optimising) pass: 25-35% less CPU per encode for 3-5%
  // more bytes, the trade every live encoder makes.
  private async run(format: FrameFormat, size: number | null, quality: number): Promise<Encoded> {
    let img = sharp(this.rgb, { raw: { width: this.width, height: this.height, channels: 3 } });
    if (size) img = resized(img, size, Math.max(1, Math.round((size * this.height) / this.width)), size / this.width);
    const out =
      format === 'jpeg'
        ? await img.jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0', optimiseCoding: false }).toBuffer({ resolveWithObject: true })
        : await img.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data: out.data, width: out.info.width, height: out.info.height, format };
  }
}
