// Load a model folder: validated manifest, runtime sessions, vocabulary and card.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readManifest, ModelError, type Manifest, type RuntimeKind } from './manifest.ts';
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
  /** Run the folder on this runtime instead of its manifest's (torch: its PyTorch weights). */
  runtime?: RuntimeKind;
}

/** The manifest as the chosen runtime runs it, or a clear error when the folder cannot run on it. */
export function withRuntime(manifest: Manifest, kind: RuntimeKind | undefined): Manifest {
  const own = manifest.runtime ?? 'onnx';
  if (!kind || kind === own) return manifest;
  if (kind === 'torch') {
    if (!manifest.torch?.generator) throw new ModelError(`model ${manifest.id} has no PyTorch weights ("torch" in its manifest), so --runtime torch cannot run it; import it with \`latentstage import\` or leave --runtime out`);
    return { ...manifest, runtime: 'torch' };
  }
  if (own === 'torch' && kind === 'onnx' && manifest.generator.file.endsWith('.onnx')) return { ...manifest, runtime: 'onnx' };
  throw new ModelError(`model ${manifest.id} is a ${own} model folder: --runtime ${kind} cannot run it`);
}

export async function loadModel(dir: string, opts: LoadOptions = {}): Promise<Model> {
  const abs = path.resolve(dir);
  const { worker, workers = 1, runtime: kind, ...options } = opts;
  const manifest = withRuntime(await readManifest(abs), kind);
  // the torch runtime is a child process already: off the event loop without a worker thread
  const runtime =
    manifest.runtime === 'torch'
      ? await createRuntime(abs, manifest, options)
      : workers > 1
        ? await RuntimePool.create(abs, manifest, workers, options)
        : worker
          ? await createWorkerRuntime(abs, manifest, options)
          : await createRuntime(abs, manifest, options);
  const vocabFile = manifest.text?.vocabulary;
  const vocabulary = vocabFile
    ? new Set((await readFile(path.join(abs, vocabFile), 'utf8')).split(/\r?\n/).map((w) => w.trim().toLowerCase()).filter(Boolean))
    : null;
  const card = manifest.card ? await readFile(path.join(abs, manifest.card), 'utf8') : null;
  return { dir: abs, manifest, runtime, vocabulary, card };
}
