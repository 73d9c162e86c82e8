// The latent bank on disk: a small JSON header (bank.json) and one little-endian binary (bank.bin)
// holding, in this order,
//
//   latents          float32 count x latentDim    the walk vectors sampled (z, or the walk's W vector)
//   embeddings       float32 count x imageDim     unit CLIP image embeddings of their pictures
//   classIds         int32   count                the class each latent was rendered with (class models)
//   classEmbeddings  float32 classes x imageDim   unit text embeddings of "a photo of a {name}" per class
//
// The last two exist only when the header has `classes`. Both files are written to a temporary
// name and renamed into place, the binary first, so a reader never sees half a bank.
import { readFile, writeFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { describeIssues } from '../zod-issues.ts';

export const BANK_FORMAT = 'latentstage-bank/1';

const count = z.number().int().positive();

export const bankHeaderSchema = z.strictObject({
  format: z.literal(BANK_FORMAT, { error: `format must be "${BANK_FORMAT}"` }),
  /** The model id it was built for. */
  model: z.string().min(1),
  /** Binary file, relative to the header's folder. */
  data: z.string().regex(/^[A-Za-z0-9._-]+$/, 'data must be a file name in the same folder'),
  count,
  /** The walk's latent space the latents live in: z (Gaussian, blends are renormalised) or w (blended as is). */
  space: z.enum(['z', 'w']),
  latentDim: count,
  imageDim: count,
  seed: z.number().int().min(0),
  classes: z
    .strictObject({
      names: z.array(z.string().min(1)).min(1),
      template: z.string().includes('{name}'),
      /** The generator's condition size (a one-hot of this size selects a class). */
      conditionDim: count,
    })
    .optional(),
  created: z.string().optional(),
});
export type BankHeader = z.infer<typeof bankHeaderSchema>;

export interface BankData {
  header: BankHeader;
  latents: Float32Array;
  embeddings: Float32Array;
  classIds: Int32Array | null;
  classEmbeddings: Float32Array | null;
}

export class BankError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BankError';
  }
}

/** Bytes the binary must have for a header. */
export function bankBytes(h: BankHeader): number {
  const c = h.classes ? h.count + h.classes.names.length * h.imageDim : 0;
  return 4 * (h.count * (h.latentDim + h.imageDim) + c);
}

/** Read and check a bank (header path, absolute or relative to cwd). Throws BankError saying what is wrong. */
export async function readBank(headerPath: string): Promise<BankData> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(headerPath, 'utf8'));
  } catch (err) {
    throw new BankError(`latent bank ${headerPath} cannot be read: ${(err as Error).message}`);
  }
  const parsed = bankHeaderSchema.safeParse(json);
  if (!parsed.success) throw new BankError(`latent bank ${headerPath} is invalid: ${describeIssues(parsed.error.issues, '(root)')}`);
  const header = parsed.data;
  const dataPath = path.join(path.dirname(headerPath), header.data);
  let buf: Buffer;
  try {
    buf = await readFile(dataPath);
  } catch (err) {
    throw new BankError(`latent bank data ${dataPath} cannot be read: ${(err as Error).message}`);
  }
  const want = bankBytes(header);
  if (buf.length !== want) throw new BankError(`latent bank data ${dataPath} has ${buf.length} bytes, its header says ${want} (truncated or from another bank; run latentstage index again)`);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  let at = 0;
  const f32 = (n: number) => new Float32Array(ab, (at += 4 * n) - 4 * n, n);
  const latents = f32(header.count * header.latentDim);
  const embeddings = f32(header.count * header.imageDim);
  let classIds: Int32Array | null = null;
  let classEmbeddings: Float32Array | null = null;
  if (header.classes) {
    classIds = new Int32Array(ab, at, header.count);
    at += 4 * header.count;
    classEmbeddings = f32(header.classes.names.length * header.imageDim);
    const n = header.classes.names.length;
    if (classIds.some((c) => c < 0 || c >= n)) throw new BankError(`latent bank data ${dataPath} has class ids outside 0..${n - 1}`);
  }
  for (const [name, a] of [['latents', latents], ['embeddings', embeddings], ['class embeddings', classEmbeddings]] as const) {
    if (a && !a.every(Number.isFinite)) throw new BankError(`latent bank data ${dataPath}: its ${name} hold non-finite numbers`);
  }
  return { header, latents, embeddings, classIds, classEmbeddings };
}

async function atomicWrite(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Write a bank's binary then its header (each atomically). Returns the header path. */
export async function writeBank(dir: string, name: string, bank: BankData): Promise<string> {
  const h = bankHeaderSchema.parse(bank.header);
  const parts: ArrayBufferView[] = [bank.latents, bank.embeddings];
  if (h.classes) parts.push(bank.classIds!, bank.classEmbeddings!);
  const bytes = Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  if (bytes.length !== bankBytes(h)) throw new BankError(`internal: bank arrays hold ${bytes.length} bytes, the header needs ${bankBytes(h)}`);
  await atomicWrite(path.join(dir, h.data), bytes);
  const headerPath = path.join(dir, name);
  await atomicWrite(headerPath, `${JSON.stringify(h, null, 1)}\n`);
  return headerPath;
}

/** Set (or replace) a manifest's `bank` field, keeping everything else as it was; atomic. */
export async function setManifestBank(manifestPath: string, bankFile: string): Promise<void> {
  const m = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
  m.bank = bankFile;
  await atomicWrite(manifestPath, `${JSON.stringify(m, null, 2)}\n`);
}
