// The one place that turns a model folder's manifest into a runtime, in this thread: ONNX Runtime
// by default, TF.js when the manifest says "runtime": "tfjs", PyTorch in a child process when it
// says "torch". The worker thread (worker-main.ts) builds its runtime through here too, so every
// in-process kind of runtime can run off the event loop. Implementations load lazily, so a server
// on ONNX models never imports TensorFlow.js.
import type { Manifest } from '../model/manifest.ts';
import type { Runtime, RuntimeOptions } from './runtime.ts';

export type { RuntimeOptions };

export async function createRuntime(dir: string, manifest: Manifest, opts: RuntimeOptions = {}): Promise<Runtime> {
  switch (manifest.runtime ?? 'onnx') {
    case 'tfjs':
      return (await import('./tfjs.ts')).createTfjsRuntime(dir, manifest, opts);
    case 'torch':
      return (await import('./torch.ts')).createTorchRuntime(dir, manifest, opts);
    case 'onnx':
      return (await import('./onnx.ts')).createOnnxRuntime(dir, manifest, opts);
  }
}
