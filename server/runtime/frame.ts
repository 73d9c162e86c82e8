// One live frame, the way the stage needs it: the (refined) picture as 8-bit RGB for viewers,
// encoders and recordings, plus, while steering measures similarity, the image encoder's embedding
// of the same pixels. The runtime worker runs this whole in its own thread, so the float image
// never crosses threads and the event loop does none of the per-pixel work; in-thread runtimes
// call it directly.
import { toRgb } from '../frames/rgb.ts';
import { toEncoderInput } from './encoder-input.ts';
import type { RenderedFrame, Runtime } from './runtime.ts';

export async function renderFrame(runtime: Runtime, z: Float32Array, condition: Float32Array | null, embed: boolean): Promise<RenderedFrame> {
  const m = runtime.manifest;
  const image = await runtime.generate(z, 1, condition, { live: true });
  const { width, height } = m.resolution;
  const finite = allFinite(image);
  const rgb = toRgb(image, width, height, m.generator.output.range);
  const embedding = finite && embed && m.image && runtime.encodeImage ? await runtime.encodeImage(toEncoderInput(image, 1, m), 1) : null;
  return { rgb, embedding, finite };
}

/** True when every value is finite: a NaN or an infinity makes the sum non-finite (float32 values cannot overflow a float64 sum). */
export function allFinite(values: Float32Array): boolean {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return Number.isFinite(sum);
}

/** The frame through the runtime's own frame() when it has one, else renderFrame(). */
export function runFrame(runtime: Runtime, z: Float32Array, condition: Float32Array | null, embed: boolean): Promise<RenderedFrame> {
  return runtime.frame ? runtime.frame(z, condition, embed) : renderFrame(runtime, z, condition, embed);
}
