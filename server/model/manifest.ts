// Model folders: models/<name>/latentstage.json plus the files it names. Anything that follows this
// manifest can be brought by a user.
import { z } from 'zod';
import { readFile, access } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { describeIssues } from '../zod-issues.ts';
import { readTfjsModelJson } from '../runtime/tfjs-files.ts';

const file = z.string().min(1).refine((f) => !path.isAbsolute(f) && !f.split(/[\\/]/).includes('..'), 'must be a relative path inside the model folder');
const dim = z.number().int().positive();

/**
 * Which implementation runs a model folder (its manifest's `runtime`, default onnx; see
 * server/runtime/). torch: its PyTorch weights (`torch`) in a python3 child; `serve --runtime
 * torch` picks it for any folder that has them.
 */
export const runtimeKinds = ['onnx', 'tfjs', 'torch'] as const;
export type RuntimeKind = (typeof runtimeKinds)[number];
const range = z.tuple([z.number(), z.number()]).refine(([a, b]) => a < b, 'range must be [low, high]');

/** z: the mapping network's input (or a GAN's only latent); w: StyleGAN's intermediate space; class: a condition vector. */
export const latentSpaces = ['z', 'w', 'class'] as const;

const torchNet = z.strictObject({
  arch: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'arch must name a file in server/python/latentstage/archs/'),
  config: z.record(z.string(), z.unknown()),
  weights: file,
  /** How the weights are stored (the runtime may compute in another type). */
  dtype: z.enum(['float32', 'float16']).optional(),
});

export const manifestSchema = z
  .strictObject({
  format: z.literal('latentstage/1', { error: 'format must be "latentstage/1"' }),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'id must be lowercase letters, digits, . _ -'),
  name: z.string().min(1),
  description: z.string().optional(),
  /** onnx (default): the model files are .onnx; tfjs: each is a TF.js model.json with its weight shards; torch: see runtimeKinds. */
  runtime: z.enum(runtimeKinds).optional(),
  card: file.optional(),
  resolution: z.strictObject({ width: dim, height: dim }),
  generator: z.strictObject({
    file,
    z: z.strictObject({ input: z.string().min(1), dim }),
    condition: z.strictObject({ input: z.string().min(1), dim }).optional(),
    /**
     * A truncation input (shape [1]) the generator takes, fed `default` every frame. The walk's
     * `truncation` parameter already scales the walk vector around its centre (the same trick in
     * W), so imported StyleGANs declare default 1 and keep the input for other hosts.
     */
    truncation: z.strictObject({ input: z.string().min(1), default: z.number().min(0).max(2) }).optional(),
    output: z.strictObject({
      name: z.string().min(1),
      layout: z.enum(['NCHW', 'NHWC']),
      range,
    }),
  }),
  /** Which latent spaces the network has and which one the walk's vector lives in (see models/README.md). */
  latent: z
    .strictObject({
      space: z.enum(latentSpaces),
      spaces: z.array(z.enum(latentSpaces)).min(1),
    })
    .refine((l) => l.spaces.includes(l.space), { message: 'latent.space must be one of latent.spaces', path: ['space'] })
    .optional(),
  /** Class names, one per line in the condition vector's order (class-conditional models). */
  classes: z.strictObject({ file }).optional(),
  /**
   * The same networks as PyTorch state_dicts for the torch runtime: arch names
   * server/python/latentstage/archs/<arch>.py, config is its build() argument.
   */
  torch: z
    .strictObject({
      generator: torchNet.optional(),
      text: torchNet.optional(),
      image: torchNet.optional(),
    })
    .optional(),
  text: z
    .strictObject({
      encoder: file,
      input: z.string().min(1),
      output: z.string().min(1),
      dim,
      tokenizer: file,
      /** latentstage (default: server/model/tokenizer.ts) or huggingface (a tokenizer.json, e.g. CLIP's BPE). */
      tokenizerFormat: z.enum(['latentstage', 'huggingface']).optional(),
      /** Token ids per prompt (the text encoder's input length); required for huggingface tokenizers. */
      length: dim.optional(),
      vocabulary: file.optional(),
      /** Word -> caption concepts (server/steer/lexicon.ts); prompts are understood through it. */
      lexicon: file.optional(),
    })
    .optional(),
  image: z
    .strictObject({
      encoder: file,
      input: z.string().min(1),
      output: z.string().min(1),
      dim,
      size: dim,
      layout: z.enum(['NCHW', 'NHWC']),
      range,
    })
    .optional(),
  prior: z
    .strictObject({
      file,
      input: z.string().min(1),
      mean: z.string().min(1),
      scale: z.string().min(1),
    })
    .optional(),
  /**
   * A learned upscaler run on every generator output: image in the generator's layout and range at
   * resolution / scale, out at `resolution`. Everything downstream sees only the refined picture.
   */
  refiner: z
    .strictObject({
      file,
      input: z.string().min(1),
      output: z.string().min(1),
      scale: z.number().int().min(1).max(16),
    })
    .optional(),
  /**
   * The latent bank written by `latentstage index` (header file; server/steer/bank-file.ts). Not
   * checked at load: a missing or damaged bank is reported and the model runs without it.
   */
  bank: file.optional(),
  /**
   * Whether browsers may draw this model's frames from latents (/frames?format=latent), and the
   * files they need for it: the generator and the refiner, served at /api/model/files/<file>.
   * Absent: the model is drawn only by the server (the large imported models).
   */
  browser: z
    .strictObject({
      render: z.boolean(),
      files: z.array(file).max(16),
    })
    .optional(),
})
  .refine((m) => m.text?.tokenizerFormat !== 'huggingface' || m.text.length !== undefined, {
    message: 'a huggingface tokenizer needs text.length (the text encoder\'s token count, 77 for CLIP)',
    path: ['text', 'length'],
  })
  .refine((m) => !m.classes || m.generator.condition, { message: 'classes needs generator.condition (the class vector)', path: ['classes'] })
  .refine((m) => !m.refiner || (m.resolution.width % m.refiner.scale === 0 && m.resolution.height % m.refiner.scale === 0), {
    message: 'resolution must be a multiple of refiner.scale (the generator draws resolution / scale)',
    path: ['refiner', 'scale'],
  })
  .superRefine((m, ctx) => {
    if (!m.browser?.render) return;
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message, path: ['browser', 'files'] });
    if (m.runtime === 'tfjs') issue('browser rendering needs an onnx model (onnxruntime-web runs .onnx files)');
    const named = new Set(manifestFiles(m));
    for (const f of m.browser.files) if (!named.has(f)) issue(`${f} is not a file this manifest names`);
    for (const f of [m.generator.file, m.refiner?.file]) if (f && !m.browser.files.includes(f)) issue(`must list ${f}: the browser runs it to draw a frame`);
  });

export type Manifest = z.infer<typeof manifestSchema>;

/** The generator's own output size: the final resolution, or that divided by the refiner's scale. */
export function generatorResolution(m: Manifest): { width: number; height: number } {
  const s = m.refiner?.scale ?? 1;
  return { width: m.resolution.width / s, height: m.resolution.height / s };
}

export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

export const MANIFEST = 'latentstage.json';

/** Every file a manifest refers to, relative to the model folder. */
export function manifestFiles(m: Manifest): string[] {
  return [
    m.generator.file,
    m.card,
    m.text?.encoder,
    m.text?.tokenizer,
    m.text?.vocabulary,
    m.text?.lexicon,
    m.image?.encoder,
    m.prior?.file,
    m.refiner?.file,
    m.classes?.file,
    m.torch?.generator?.weights,
    m.torch?.text?.weights,
    m.torch?.image?.weights,
  ].filter((f): f is string => typeof f === 'string');
}

/** The network file of each role a manifest names (undefined where the model has no such network). */
export function modelRoles(m: Manifest) {
  return { generator: m.generator.file, refiner: m.refiner?.file, text: m.text?.encoder, image: m.image?.encoder, prior: m.prior?.file };
}
export type ModelRole = keyof ReturnType<typeof modelRoles>;

/** The network files (generator, refiner, encoders, prior) a manifest names. */
export function modelFiles(m: Manifest): string[] {
  return Object.values(modelRoles(m)).filter((f): f is string => typeof f === 'string');
}

/** Read and validate a model folder's manifest; checks that every referenced file exists. */
export async function readManifest(dir: string): Promise<Manifest> {
  const manifestPath = path.join(dir, MANIFEST);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch {
    throw new ModelError(`no model at ${dir}: ${MANIFEST} is missing`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelError(`${manifestPath} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const why = describeIssues(parsed.error.issues, '(root)');
    throw new ModelError(`${manifestPath} is invalid: ${why}`);
  }
  for (const f of manifestFiles(parsed.data)) {
    try {
      await access(path.join(dir, f), constants.R_OK);
    } catch {
      throw new ModelError(`model ${parsed.data.id}: file ${path.join(dir, f)} named in ${MANIFEST} is missing`);
    }
  }
  const { classes, generator } = parsed.data;
  if (classes && generator.condition) {
    const names = (await readFile(path.join(dir, classes.file), 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
    if (names.length !== generator.condition.dim) {
      throw new ModelError(`model ${parsed.data.id}: ${classes.file} lists ${names.length} classes, generator.condition.dim is ${generator.condition.dim}`);
    }
  }
  if (parsed.data.runtime === 'tfjs') {
    for (const f of modelFiles(parsed.data)) {
      try {
        await readTfjsModelJson(dir, f);
      } catch (err) {
        throw new ModelError(`model ${parsed.data.id}: ${(err as Error).message}`);
      }
    }
  }
  return parsed.data;
}
