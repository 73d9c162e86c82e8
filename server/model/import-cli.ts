// `latentstage import stylegan|biggan|clip SRC -o OUT [--fp16]`: checks the arguments, then runs
// the Python importer (server/python/latentstage/importer.py) and validates the folder it wrote.
import { parseArgs } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { MANIFEST, readManifest } from './manifest.ts';
import { runModule } from './python.ts';

export const importKinds = ['stylegan', 'biggan', 'clip'] as const;
export type ImportKind = (typeof importKinds)[number];

export const IMPORT_USAGE = `usage: latentstage import KIND SRC -o OUT [--fp16]

  stylegan SRC.pkl|SRC.pt -o OUT   NVlabs StyleGAN2 / 2-ADA / 3 pickle (as Autolume saves) or a
                                   rosinality StyleGAN2 .pt; OUT must not exist
  biggan   SRC_DIR -o OUT          pytorch-pretrained-biggan folder (config.json + pytorch_model.bin)
  clip     SRC -o OUT              OpenAI CLIP .pt or a Hugging Face CLIPModel folder: adds text and
                                   image encoders to the existing model folder OUT
  --fp16                           store weights as float16 (half the size; see models/README.md)

Needs Python 3 with PyTorch (Debian: apt-get install --no-install-recommends python3-torch).
Pickles are read without running any code stored in them.`;

export class ImportUsageError extends Error {}

export function parseImportArgs(args: string[]): { kind: ImportKind; src: string; out: string; fp16: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args, strict: true, allowPositionals: true, options: { out: { type: 'string', short: 'o' }, fp16: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    throw new ImportUsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new ImportUsageError('');
  const [kind, src, ...extra] = positionals;
  if (!kind) throw new ImportUsageError('which kind of model? stylegan, biggan or clip');
  if (!(importKinds as readonly string[]).includes(kind)) throw new ImportUsageError(`unknown kind "${kind}" (known: ${importKinds.join(', ')})`);
  if (!src) throw new ImportUsageError(`${kind}: the source file or folder is missing`);
  if (extra.length) throw new ImportUsageError(`unexpected argument ${extra[0]}`);
  if (!values.out) throw new ImportUsageError('-o OUT (the model folder to write) is missing');
  return { kind: kind as ImportKind, src, out: values.out, fp16: values.fp16 ?? false };
}

/** Check what can be checked before starting Python (clear errors, nothing written). */
function precheck(kind: ImportKind, src: string, out: string): void {
  if (!existsSync(src)) throw new Error(`${src} does not exist`);
  const isDir = statSync(src).isDirectory();
  if (kind === 'stylegan' && isDir) throw new Error(`${src} is a folder; stylegan takes a .pkl or .pt file`);
  if (kind === 'biggan' && !isDir) throw new Error(`${src} is a file; biggan takes the folder holding config.json and pytorch_model.bin`);
  if (kind === 'clip') {
    if (!existsSync(path.join(out, MANIFEST))) throw new Error(`${out} is not a model folder (${MANIFEST} missing); import the generator first, then add CLIP to it`);
  } else if (existsSync(out)) {
    throw new Error(`${out} already exists; choose a new output folder (nothing was written)`);
  }
}

export async function importCli(args: string[], log: (line: string) => void = (l) => console.log(l)): Promise<void> {
  const { kind, src, out, fp16 } = parseImportArgs(args);
  precheck(kind, src, out);
  log(`importing ${kind} from ${src} ...`);
  await runModule('importer', [kind, path.resolve(src), '-o', path.resolve(out), ...(fp16 ? ['--fp16'] : [])]);
  const m = await readManifest(path.resolve(out));
  log(`wrote ${out}: ${m.name}, ${m.resolution.width}x${m.resolution.height}${m.latent ? `, walk in ${m.latent.space.toUpperCase()}` : ''}${m.text ? ', text encoder' : ''}${m.image ? ', image encoder' : ''}`);
  log(`play it: latentstage serve --model ${out}`);
}
