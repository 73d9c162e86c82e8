// Prompt sheet at the served resolution: for each prompt, the prior's mean latent drawn two ways,
// the 64 px generator output upscaled by lanczos3 (top row) and the refined frame (bottom row).
// Goes through the server's own loader, tokenizer and runtime.
//
// Usage (repository root): node --import tsx models/recipe/prompt-sheet.ts [--model DIR] [--out FILE]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { loadModel, type Model } from '../../server/model/load.ts';
import { createTokenizer } from '../../server/model/tokenizer.ts';
import { DEFAULT_MODEL } from '../../server/server.ts';
import { withoutRefiner } from './sharpness.ts';

const PROMPTS = ['red heart', 'fire', 'cat face', 'rocket', 'pizza', 'deciduous tree', 'sun', 'dog face', 'rainbow', 'robot', 'ghost', 'octopus'];

const arg = (flag: string, dflt: string) => {
  const i = process.argv.indexOf(flag);
  return i < 0 ? dflt : process.argv[i + 1]!;
};

function toRgb(images: Float32Array, i: number, size: number): Buffer {
  const plane = size * size;
  const out = Buffer.alloc(plane * 3);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.max(0, Math.min(255, Math.round((images[(i * 3 + c) * plane + p]! + 1) * 127.5)));
  return out;
}

async function means(model: Model): Promise<Float32Array> {
  const tok = createTokenizer(JSON.parse(readFileSync(path.join(model.dir, model.manifest.text!.tokenizer), 'utf8')));
  const ids = BigInt64Array.from(PROMPTS.flatMap((p) => tok.encode(p).ids.map(BigInt)));
  const text = await model.runtime.encodeText!(ids, PROMPTS.length);
  return (await model.runtime.prior!(text, PROMPTS.length)).mean;
}

const dir = path.resolve(arg('--model', DEFAULT_MODEL));
const out = arg('--out', path.join(dir, 'samples', 'prompt-sheet-256.png'));
const refined = await loadModel(dir);
const plain = await loadModel(withoutRefiner(dir));
const size = refined.manifest.resolution.width;
const small = plain.manifest.resolution.width;
const z = await means(refined);
const n = PROMPTS.length;
const big = await refined.runtime.generate(z, n);
const low = await plain.runtime.generate(z, n);
const tiles: OverlayOptions[] = [];
for (let i = 0; i < n; i++) {
  const up = await sharp(toRgb(low, i, small), { raw: { width: small, height: small, channels: 3 } }).resize(size, size, { kernel: 'lanczos3' }).png().toBuffer();
  const ref = await sharp(toRgb(big, i, size), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
  tiles.push({ input: up, left: i * size, top: 0 }, { input: ref, left: i * size, top: size });
}
await sharp({ create: { width: n * size, height: 2 * size, channels: 3, background: '#ffffff' } })
  .composite(tiles)
  .png({ palette: true, quality: 90, effort: 10 })
  .toFile(out);
await refined.runtime.close();
await plain.runtime.close();
console.log(`${out}: ${PROMPTS.join(', ')} (top: 64 px + lanczos, bottom: refined)`);
process.exit(0);
