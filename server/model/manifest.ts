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

/** Which implementation runs a model folder (its manifest's `runtime`, default onnx; see server/runtime/). */
export const runtimeKinds = ['onnx', 'tfjs'] as const;
export type RuntimeKind = (typeof runtimeKinds)[number];
const range = z.tuple([z.number(), z.number()]).refine(([a, b]) => a < b, 'range must be [low, high]');

export const manifestSchema = z
  .strictObject({
  format: z.literal('latentstage/1', { error: 'format must be "latentstage/1"' }),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'id must be lowercase letters, digits, . _ -'),
  name: z.string().min(1),
  description: z.string().optional(),
  /** onnx (default): the model files are .onnx; tfjs: each is a TF.js model.json with its weight shards. */
  runtime: z.enum(runtimeKinds).optional(),
  card: file.optional(),
  resolution: z.strictObject({ width: dim, height: dim }),
  generator: z.strictObject({
    file,
    z: z.strictObject({ input: z.string().min(1), dim }),
    condition: z.strictObject({ input: z.string().min(1), dim }).optional(),
    output: z.strictObject({
      name: z.string().min(1),
      layout: z.enum(['NCHW', 'NHWC']),
      range,
    }),
  }),
  text: z
    .strictObject({
      encoder: file,
      input: z.string().min(1),
      output: z.string().min(1),
      dim,
      tokenizer: file,
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
})
  .refine((m) => !m.refiner || (m.resolution.width % m.refiner.scale === 0 && m.resolution.height % m.refiner.scale === 0), {
    message: 'resolution must be a multiple of refiner.scale (the generator draws resolution / scale)',
    path: ['refiner', 'scale'],
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
