// Load a model folder: validated manifest, runtime sessions, vocabulary and card.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readManifest, type Manifest } from './manifest.ts';
import { createOnnxRuntime, type OnnxRuntimeOptions } from '../runtime/onnx.ts';
import type { Runtime } from '../runtime/runtime.ts';

export interface Model {
  dir: string;
  manifest: Manifest;
  runtime: Runtime;
  /** Words that occur in the training captions, when the model ships a vocabulary. */
  vocabulary: Set<string> | null;
  /** The model card's text, when it has one. */
  card: string | null;
}

export async function loadModel(dir: string, opts: OnnxRuntimeOptions = {}): Promise<Model> {
  const abs = path.resolve(dir);
  const manifest = await readManifest(abs);
  const runtime = await createOnnxRuntime(abs, manifest, opts);
  const vocabFile = manifest.text?.vocabulary;
  const vocabulary = vocabFile
    ? new Set((await readFile(path.join(abs, vocabFile), 'utf8')).split(/\r?\n/).map((w) => w.trim().toLowerCase()).filter(Boolean))
    : null;
  const card = manifest.card ? await readFile(path.join(abs, manifest.card), 'utf8') : null;
  return { dir: abs, manifest, runtime, vocabulary, card };
}
