// Load a model folder: validated manifest, runtime sessions, vocabulary and card.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readManifest, type Manifest } from './manifest.ts';
import { createRuntime, type RuntimeOptions } from '../runtime/create.ts';
import { createWorkerRuntime } from '../runtime/worker.ts';
import { RuntimePool } from '../runtime/pool.ts';
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

export interface LoadOptions extends RuntimeOptions {
  /** Run the runtime in a worker thread (off the event loop); the live server does. */
  worker?: boolean;
  /** Runtime workers side by side (a pool; implies worker). Default 1. */
  workers?: number;
}

export async function loadModel(dir: string, opts: LoadOptions = {}): Promise<Model> {
  const abs = path.resolve(dir);
  const manifest = await readManifest(abs);
  const { worker, workers = 1, ...options } = opts;
  const runtime =
    workers > 1 ? await RuntimePool.create(abs, manifest, workers, options) : worker ? await createWorkerRuntime(abs, manifest, options) : await createRuntime(abs, manifest, options);
  const vocabFile = manifest.text?.vocabulary;
  const vocabulary = vocabFile
    ? new Set((await readFile(path.join(abs, vocabFile), 'utf8')).split(/\r?\n/).map((w) => w.trim().toLowerCase()).filter(Boolean))
    : null;
  const card = manifest.card ? await readFile(path.join(abs, manifest.card), 'utf8') : null;
  return { dir: abs, manifest, runtime, vocabulary, card };
}
