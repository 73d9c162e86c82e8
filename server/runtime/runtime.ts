// The small interface the rest of latentstage sees: a generator and, when the model has them, a
// text encoder, an image encoder and a text prior. Batched: every call takes `batch` items.
import type { Manifest, ModelRole } from '../model/manifest.ts';

/** mps (Apple's GPU) is a torch device; ONNX Runtime falls back to cpu for it. */
export const devices = ['cpu', 'cuda', 'mps', 'tensorrt', 'coreml', 'dml'] as const;
export type Device = (typeof devices)[number];

export interface RuntimeOptions {
  device?: Device;
  /** Intra-op threads (ONNX Runtime). */
  threads?: number;
  /**
   * Let ORT's worker threads spin while waiting for work. Off by default: at 60 fps spinning
   * burns about four times the CPU (1.15 vs 0.29 cores for emoji-64) that encoding, viewers and
   * sketches on the same machine need, for about 12% more raw throughput.
   */
  spin?: boolean;
  /**
   * Networks not to load (a pool's extra workers make frames only: prompts are encoded by the
   * first). The runtime then lacks the matching calls, as if the model had no such network.
   */
  skip?: ModelRole[];
  /** The torch runtime's options (torch.ts); each is used only where the device and torch allow. */
  torch?: TorchOptions;
  warn?: (message: string) => void;
  /** Start-up facts worth a log line (e.g. the TF.js backend in use). */
  info?: (message: string) => void;
}

export interface TorchOptions {
  /** Half precision on cuda/mps. */
  fp16?: boolean;
  /** torch.compile the generator (PyTorch 2). */
  compile?: boolean;
  /** Replay live frames from captured CUDA graphs (cuda). */
  cudaGraphs?: boolean;
  /** The Python interpreter (default: see model/python.ts). */
  python?: string;
}

export interface PriorOutput {
  mean: Float32Array;
  scale: Float32Array;
}

export interface GenerateOptions {
  /** A frame the audience is waiting for: runs before queued steering work where calls queue. */
  live?: boolean;
  /**
   * false: skip the refiner and return the generator's own resolution (generatorResolution), for
   * work that only judges the picture at the image encoder's size (the CLIP-guided search).
   */
  refine?: boolean;
}

/** One live frame as the stage publishes it (see frame.ts). */
export interface RenderedFrame {
  /** Interleaved 8-bit RGB at the manifest's resolution. */
  rgb: Buffer;
  /** The image encoder's embedding of the same pixels, when it was asked for. */
  embedding: Float32Array | null;
  /** False when the model's output held NaN or infinite values (such a frame is never shown). */
  finite: boolean;
}

export interface Runtime {
  readonly manifest: Manifest;
  /** The device actually in use (after any fallback). */
  readonly device: Device;
  /** Frames it can make at once (a pool of workers); 1 when absent. */
  readonly lanes?: number;
  /**
   * z: batch x zDim; condition: batch x conditionDim. Returns images at the manifest's resolution
   * (after the refiner, when the model has one; see GenerateOptions.refine) as NCHW float in the
   * manifest's range.
   */
  generate(z: Float32Array, batch: number, condition?: Float32Array | null, opts?: GenerateOptions): Promise<Float32Array>;
  /** ids: batch x maxLength token ids. Returns batch x dim embeddings. */
  encodeText?(ids: BigInt64Array, batch: number): Promise<Float32Array>;
  /** images: batch x 3 x size x size in the image encoder's range. Returns batch x dim embeddings. */
  encodeImage?(images: Float32Array, batch: number): Promise<Float32Array>;
  /**
   * One live frame, whole: generate, convert to RGB and (embed) encode the image, in one call. A
   * runtime on another thread implements it so the float image never crosses; others get
   * renderFrame() (frame.ts), which does the same with the calls above.
   */
  frame?(z: Float32Array, condition: Float32Array | null, embed: boolean): Promise<RenderedFrame>;
  /**
   * Generate a batch and return the image encoder's embeddings of it (batch x image dim), the
   * pictures never leaving the runtime: the search's candidates on a GPU. Optional; without it
   * callers generate (refine: false) and encode the pictures themselves.
   */
  embedLatents?(z: Float32Array, batch: number, condition?: Float32Array | null): Promise<Float32Array>;
  /** embedding: batch x text dim. Returns the latent region (mean, scale) per item. */
  prior?(embedding: Float32Array, batch: number): Promise<PriorOutput>;
  close(): Promise<void>;
}

/**
 * The process or thread running a runtime died under a call (a native abort, an exit nobody asked
 * for): the call is rejected with this, and a runtime that restarts itself serves the next calls.
 */
export class RuntimeCrashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeCrashError';
  }
}
