// A fixture model folder that browsers may draw (manifest `browser`), with a refiner and a
// condition vector, so the latent path carries both and the browser runs both networks.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeFixtureModel, type FixtureModelOptions } from '../fixtures/onnx.ts';

export const BROWSER_FILES = { render: true, files: ['generator.onnx', 'refiner.onnx'] };

export function writeBrowserModel(dir: string, browser: unknown = BROWSER_FILES, opts: FixtureModelOptions = {}): string {
  writeFixtureModel(dir, { zDim: 16, conditionDim: 3, refinerScale: 2, text: false, image: false, prior: false, ...opts });
  const file = path.join(dir, 'latentstage.json');
  const m = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify({ ...m, browser }, null, 2));
  return dir;
}

/** Peak signal-to-noise ratio in dB between two 8-bit pictures (RGB vs RGBA allowed: alpha skipped). */
export function psnr(rgb: Uint8Array, rgba: Uint8Array): number {
  const n = rgb.length / 3;
  if (rgba.length !== n * 4) throw new RangeError(`pictures differ in size: ${n} vs ${rgba.length / 4} pixels`);
  let se = 0;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) se += (rgb[3 * i + c]! - rgba[4 * i + c]!) ** 2;
  const mse = se / (3 * n);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
