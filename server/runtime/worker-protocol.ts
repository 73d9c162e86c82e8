// Messages between the runtime worker (worker-main.ts) and its host (worker.ts).
import type { Device } from './runtime.ts';

export type WorkerCall =
  | { id: number; op: 'generate'; z: Float32Array; batch: number; condition: Float32Array | null; live: boolean; refine: boolean }
  | { id: number; op: 'frame'; z: Float32Array; condition: Float32Array | null; embed: boolean }
  | { id: number; op: 'encodeText'; ids: BigInt64Array; batch: number }
  | { id: number; op: 'encodeImage'; images: Float32Array; batch: number }
  | { id: number; op: 'prior'; embedding: Float32Array; batch: number };

export type WorkerReply = { type: 'result'; id: number; value: unknown } | { type: 'error'; id: number; message: string };

export type WorkerEvent =
  | { type: 'ready'; device: Device; has: { encodeText: boolean; encodeImage: boolean; prior: boolean } }
  | { type: 'warn'; message: string }
  | { type: 'info'; message: string };
