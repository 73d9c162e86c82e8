// One place that turns a model folder's manifest into a runtime, in this thread. The worker thread
// (worker-main.ts) builds its runtime through here too, so every kind of runtime can run off the
// event loop.
import type { Manifest } from '../model/manifest.ts';
import type { Runtime } from './runtime.ts';
import { createOnnxRuntime, type OnnxRuntimeOptions } from './onnx.ts';

export type RuntimeOptions = OnnxRuntimeOptions;

export async function createRuntime(dir: string, manifest: Manifest, opts: RuntimeOptions = {}): Promise<Runtime> {
  return createOnnxRuntime(dir, manifest, opts);
}
