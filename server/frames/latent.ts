// Frames as latents: the generator's own input for a frame (z, then the condition vector when the
// model has one), as float32 little-endian behind the usual 32-byte header (format 2). A browser
// that has the model draws the picture itself (sketches/lib/latentstage-local.js): 512 bytes a
// frame for emoji-64 instead of a JPEG. Built once per frame, whatever the number of viewers.
import type { Frame } from './frame.ts';
import type { Manifest } from '../model/manifest.ts';
import { frameHeader } from './header.ts';

const built = new WeakMap<Frame, Buffer>();

/** Floats in a latent payload: z, then the condition (zeros when the frame had none). */
export function latentLength(m: Manifest): number {
  return m.generator.z.dim + (m.generator.condition?.dim ?? 0);
}

/** The latent frame message (header + payload), or null for a frame without its latent. */
export function latentMessage(frame: Frame, m: Manifest): Buffer | null {
  const cached = built.get(frame);
  if (cached) return cached;
  const latent = frame.latent;
  if (!latent) return null;
  const zDim = m.generator.z.dim;
  const payload = Buffer.alloc(4 * latentLength(m));
  for (let i = 0; i < zDim; i++) payload.writeFloatLE(latent.z[i] ?? 0, 4 * i);
  const cond = m.generator.condition;
  if (cond && latent.condition) for (let i = 0; i < cond.dim; i++) payload.writeFloatLE(latent.condition[i] ?? 0, 4 * (zDim + i));
  const { width, height } = m.resolution;
  const message = Buffer.concat([frameHeader(frame.info, { width, height, data: payload, format: 'latent' }), payload]);
  built.set(frame, message);
  return message;
}
