// `latentstage index`: build a model's latent bank. Samples `count` walk vectors (standard normal:
// the walk's own space, z, or the vector the generator maps linearly to W), renders them in batches
// through the Runtime interface (generate without the refiner, then the image encoder, exactly as
// the CLIP-guided search judges pictures), and stores their latents and unit image embeddings next
// to the model (bank-file.ts), then points the manifest's `bank` at it. Class models (BigGAN) draw a
// class per latent and also store the text embeddings of "a photo of a {name}" for every class.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gaussian, hashN } from '../engine/prng.ts';
import { generatorResolution, MANIFEST, type Manifest } from '../model/manifest.ts';
import type { Model } from '../model/load.ts';
import { toEncoderInput } from '../runtime/encoder-input.ts';
import { normalise } from './text.ts';
import { PromptEncoder } from './text.ts';
import { BANK_FORMAT, BankError, setManifestBank, writeBank, type BankData, type BankHeader } from './bank-file.ts';

export const BANK_HEADER = 'bank.json';
export const BANK_DATA = 'bank.bin';
export const CLASS_TEMPLATE = 'a photo of a {name}';

export interface IndexOptions {
  count?: number;
  seed?: number;
  batch?: number;
  onProgress?: (done: number, total: number) => void;
}

/** The walk's latent space as the manifest declares it (`latent.space`; z when it says nothing). */
export function walkSpace(m: Manifest): 'z' | 'w' {
  return m.latent?.space === 'w' ? 'w' : 'z';
}

/** The model's class names (manifest `classes.file`: one a line in condition order, as readManifest counts them), or null. */
export async function readClassNames(dir: string, m: Manifest): Promise<string[] | null> {
  if (!m.classes) return null;
  const names = (await readFile(path.join(dir, m.classes.file), 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (names.length === 0) throw new BankError(`model ${m.id}: ${m.classes.file} lists no class names`);
  // ImageNet-style lines are "great grey owl, great gray owl, Strix nebulosa": the first is the name
  return names.map((n) => n.split(',')[0]!.trim());
}

/** Build and write the bank; returns the header's path. The model's runtime must have an image encoder. */
export async function buildBank(model: Model, opts: IndexOptions = {}): Promise<string> {
  const { manifest: m, runtime } = model;
  const count = opts.count ?? 2000;
  const seed = opts.seed ?? 1;
  const batch = Math.max(1, Math.min(opts.batch ?? 16, count));
  if (!m.image || !runtime.encodeImage) {
    throw new BankError(`model ${m.id} has no image encoder: a bank needs CLIP's image side (import one with: latentstage import clip SRC -o ${model.dir})`);
  }
  const names = await readClassNames(model.dir, m);
  const cond = m.generator.condition?.dim ?? 0;
  if (names && names.length > cond) throw new BankError(`model ${m.id} lists ${names.length} classes but its generator's condition has ${cond} values`);
  const zDim = m.generator.z.dim;
  const imageDim = m.image.dim;
  const latents = new Float32Array(count * zDim);
  for (let i = 0; i < count; i++) for (let j = 0; j < zDim; j++) latents[i * zDim + j] = gaussian(seed, 0x6261, i, j);
  const classIds = names ? Int32Array.from({ length: count }, (_, i) => hashN(seed, 0x636c, i) % names.length) : null;
  const embeddings = new Float32Array(count * imageDim);
  const size = generatorResolution(m);
  opts.onProgress?.(0, count);
  for (let at = 0; at < count; at += batch) {
    const n = Math.min(batch, count - at);
    let condition: Float32Array | null = null;
    if (cond > 0) {
      condition = new Float32Array(n * cond);
      if (classIds) for (let b = 0; b < n; b++) condition[b * cond + classIds[at + b]!] = 1;
    }
    const images = await runtime.generate(latents.subarray(at * zDim, (at + n) * zDim), n, condition, { refine: false });
    const emb = await runtime.encodeImage(toEncoderInput(images, n, m, size), n);
    for (let b = 0; b < n; b++) embeddings.set(normalise(emb.slice(b * imageDim, (b + 1) * imageDim)), (at + b) * imageDim);
    opts.onProgress?.(at + n, count);
  }
  let classEmbeddings: Float32Array | null = null;
  if (names) classEmbeddings = await classTextEmbeddings(model, names);
  const header: BankHeader = {
    format: BANK_FORMAT,
    model: m.id,
    data: BANK_DATA,
    count,
    space: walkSpace(m),
    latentDim: zDim,
    imageDim,
    seed,
    ...(names ? { classes: { names, template: CLASS_TEMPLATE, conditionDim: cond } } : {}),
    created: new Date().toISOString(),
  };
  const data: BankData = { header, latents, embeddings, classIds, classEmbeddings };
  const headerPath = await writeBank(model.dir, BANK_HEADER, data);
  await setManifestBank(path.join(model.dir, MANIFEST), BANK_HEADER);
  return headerPath;
}

/** Unit text embeddings of "a photo of a {name}" for every class, with the model's own text encoder. */
async function classTextEmbeddings(model: Model, names: string[]): Promise<Float32Array> {
  const m = model.manifest;
  const enc = await PromptEncoder.load(model);
  if (!enc || !m.text) throw new BankError(`model ${m.id} has classes but no text encoder: import CLIP into it first`);
  if (m.text.dim !== m.image!.dim) throw new BankError(`model ${m.id}: text (${m.text.dim}) and image (${m.image!.dim}) embeddings differ in size`);
  const L = enc.tokenizer.maxLength;
  const out = new Float32Array(names.length * m.text.dim);
  const step = 32;
  for (let at = 0; at < names.length; at += step) {
    const chunk = names.slice(at, at + step);
    const ids = new BigInt64Array(chunk.length * L);
    chunk.forEach((name, i) => {
      const e = enc.tokenizer.encode(CLASS_TEMPLATE.replace('{name}', name));
      for (let j = 0; j < L; j++) ids[i * L + j] = BigInt(e.ids[j]!);
    });
    const emb = await model.runtime.encodeText!(ids, chunk.length);
    for (let i = 0; i < chunk.length; i++) out.set(normalise(emb.slice(i * m.text.dim, (i + 1) * m.text.dim)), (at + i) * m.text.dim);
  }
  return out;
}
