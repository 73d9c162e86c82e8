// Generated frame -> image encoder input: the same pixels, mapped to the encoder's value range,
// size and layout. Downscaling by a whole factor averages each block (the default model: 256 px
// refined frames -> its 64 px encoder, like the area-downscaled art it was trained on); other
// size changes resample bilinearly.
import type { Manifest } from '../model/manifest.ts';

/**
 * images: batch x 3 x H x W (NCHW, generator range), H x W the model's resolution unless `size`
 * says otherwise (the unrefined generator output). Returns batch x the encoder's input.
 */
export function toEncoderInput(images: Float32Array, batch: number, m: Manifest, size: { width: number; height: number } = m.resolution): Float32Array {
  const enc = m.image;
  if (!enc) throw new Error(`model ${m.id} has no image encoder`);
  const { width: w, height: h } = size;
  const [glo, ghi] = m.generator.output.range;
  const [elo, ehi] = enc.range;
  const k = (ehi - elo) / (ghi - glo);
  const s = enc.size;
  const nhwc = enc.layout === 'NHWC';
  const same = s === w && s === h;
  const box = !same && w === h && w % s === 0 ? w / s : 0;
  const out = new Float32Array(batch * 3 * s * s);
  const plane = w * h;
  if (box) return boxDown(images, batch, w, s, box, elo, k, glo, nhwc, out);
  for (let b = 0; b < batch; b++) {
    const src = b * 3 * plane;
    const dst = b * 3 * s * s;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < s; y++) {
        for (let x = 0; x < s; x++) {
          let v: number;
          if (same) v = images[src + c * plane + y * w + x]!;
          else {
            // pixel-centre aligned bilinear sampling
            const fx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / s - 0.5));
            const fy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / s - 0.5));
            const x0 = Math.floor(fx);
            const y0 = Math.floor(fy);
            const x1 = Math.min(w - 1, x0 + 1);
            const y1 = Math.min(h - 1, y0 + 1);
            const tx = fx - x0;
            const ty = fy - y0;
            const p = src + c * plane;
            const top = images[p + y0 * w + x0]! * (1 - tx) + images[p + y0 * w + x1]! * tx;
            const bottom = images[p + y1 * w + x0]! * (1 - tx) + images[p + y1 * w + x1]! * tx;
            v = top * (1 - ty) + bottom * ty;
          }
          const mapped = elo + (v - glo) * k;
          out[nhwc ? dst + (y * s + x) * 3 + c : dst + c * s * s + y * s + x] = mapped;
        }
      }
    }
  }
  return out;
}

/**
 * Whole-factor area downscale of square NCHW images, mapped to the encoder's range and written in
 * its layout (the common case, kept fast: row by row, sequential reads).
 */
function boxDown(images: Float32Array, batch: number, w: number, s: number, f: number, elo: number, k: number, glo: number, nhwc: boolean, out: Float32Array): Float32Array {
  const inv = 1 / (f * f);
  const acc = new Float32Array(s);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < 3; c++) {
      const src = (b * 3 + c) * w * w;
      for (let y = 0; y < s; y++) {
        acc.fill(0);
        for (let dy = 0; dy < f; dy++) {
          let i = src + (y * f + dy) * w;
          for (let x = 0; x < s; x++) {
            let sum = 0;
            for (let dx = 0; dx < f; dx++) sum += images[i++]!;
            acc[x]! += sum;
          }
        }
        for (let x = 0; x < s; x++) out[nhwc ? ((b * s + y) * s + x) * 3 + c : ((b * 3 + c) * s + y) * s + x] = elo + (acc[x]! * inv - glo) * k;
      }
    }
  }
  return out;
}
