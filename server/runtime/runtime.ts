// The small interface the rest of latentstage sees: a generator and, when the model has them, a
// text encoder, an image encoder and a text prior. Batched: every call takes `batch` items.
import type { Manifest } from '../model/manifest.ts';

export const devices = ['cpu', 'cuda', 'tensorrt', 'coreml', 'dml'] as const;
export type Device = (typeof devices)[number];

export interface PriorOutput {
  mean: Float32Array;
  scale: Float32Array;
}

export interface GenerateOptions {
  /** A frame the audience is waiting for: runs before queued steering work where calls queue. */
  live?: boolean;
}

export interface Runtime {
  readonly manifest: Manifest;
  /** The device actually in use (after any fallback). */
  readonly device: Device;
  /**
   * z: batch x zDim; condition: batch x conditionDim. Returns images at the manifest's resolution
   * (after the refiner, when the model has one) as NCHW float in the manifest's range.
   */
  generate(z: Float32Array, batch: number, condition?: Float32Array | null, opts?: GenerateOptions): Promise<Float32Array>;
  /** ids: batch x maxLength token ids. Returns batch x dim embeddings. */
  encodeText?(ids: BigInt64Array, batch: number): Promise<Float32Array>;
  /** images: batch x 3 x size x size in the image encoder's range. Returns batch x dim embeddings. */
  encodeImage?(images: Float32Array, batch: number): Promise<Float32Array>;
  /** embedding: batch x text dim. Returns the latent region (mean, scale) per item. */
  prior?(embedding: Float32Array, batch: number): Promise<PriorOutput>;
  close(): Promise<void>;
}
