// ONNX Runtime vs TF.js vs PyTorch (the torch runtime's child process) on the CPU. The same tiny
// generator on all three (the test fixture: dense 16 -> 3x64x64, tanh; fixture_dense in PyTorch),
// then ONNX vs torch on an imported StyleGAN2 fixture (nvlabs-sg2, 32 px). Frames per second at
// batch 1 and 16 (generate: float pictures back), torch's live frame() (8-bit RGB back), and each
// runtime over ONNX as a ratio. TF.js runs on whatever backend it picks (pure JS unless tfjs-node
// is installed); torch with its default threads.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadModel } from '../../server/model/load.ts';
import type { Runtime } from '../../server/runtime/runtime.ts';
import { writeTfjsFixtureModel } from '../fixtures/tfjs.ts';
import { denseTorchFixture, importedFixture } from '../helpers/torch-model.ts';
import { round } from './util.ts';

async function rate(call: () => Promise<unknown>, per: number, seconds: number): Promise<number> {
  for (let i = 0; i < 5; i++) await call();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await call();
    n += per;
  }
  return n / ((performance.now() - t0) / 1000);
}

function fps(runtime: Runtime, batch: number, seconds: number): Promise<number> {
  const dim = runtime.manifest.generator.z.dim;
  const z = new Float32Array(batch * dim).map((_, i) => Math.sin(i));
  return rate(() => runtime.generate(z, batch), batch, seconds);
}

function frameFps(runtime: Runtime, seconds: number): Promise<number> {
  const z = new Float32Array(runtime.manifest.generator.z.dim).map((_, i) => Math.cos(i));
  return rate(() => runtime.frame!(z, null, false), 1, seconds);
}

export async function benchRuntimes(opts: { seconds?: number } = {}): Promise<Record<string, number | string>> {
  const seconds = opts.seconds ?? 2;
  const dir = mkdtempSync(path.join(tmpdir(), 'ls-bench-runtimes-'));
  const backends: string[] = [];
  const quiet = { info: () => {} };
  const dense = await denseTorchFixture(path.join(dir, 'dense'));
  const onnx = await loadModel(dense);
  const tfjs = await loadModel(await writeTfjsFixtureModel(path.join(dir, 'tfjs')), { info: (m) => backends.push(m) });
  const torch = await loadModel(dense, { runtime: 'torch', ...quiet });
  const result: Record<string, number | string> = {
    model: 'fixture generator 16 -> 3x64x64 on cpu; then nvlabs-sg2 fixture (StyleGAN2, 32 px)',
    tfjs_backend: backends.join('; ').replace(/^TF\.js backend: /, '').replace(/;.*$/, ''),
  };
  try {
    for (const batch of [1, 16]) {
      const a = await fps(onnx.runtime, batch, seconds);
      const b = await fps(tfjs.runtime, batch, seconds);
      const c = await fps(torch.runtime, batch, seconds);
      result[`onnx_fps_batch${batch}`] = round(a, 1);
      result[`tfjs_fps_batch${batch}`] = round(b, 1);
      result[`torch_fps_batch${batch}`] = round(c, 1);
      result[`tfjs_over_onnx_batch${batch}`] = round(b / a, 3);
      result[`torch_over_onnx_batch${batch}`] = round(c / a, 3);
    }
    result.torch_frame_fps = round(await frameFps(torch.runtime, seconds), 1);
  } finally {
    await Promise.all([onnx.runtime.close(), tfjs.runtime.close(), torch.runtime.close()]);
  }
  const sg2 = await importedFixture('nvlabs-sg2');
  const sgOnnx = await loadModel(sg2);
  const sgTorch = await loadModel(sg2, { runtime: 'torch', ...quiet });
  try {
    for (const batch of [1, 16]) {
      const a = await fps(sgOnnx.runtime, batch, seconds);
      const c = await fps(sgTorch.runtime, batch, seconds);
      result[`sg2_onnx_fps_batch${batch}`] = round(a, 1);
      result[`sg2_torch_fps_batch${batch}`] = round(c, 1);
      result[`sg2_torch_over_onnx_batch${batch}`] = round(c / a, 3);
    }
    result.sg2_torch_frame_fps = round(await frameFps(sgTorch.runtime, seconds), 1);
  } finally {
    await Promise.all([sgOnnx.runtime.close(), sgTorch.runtime.close()]);
  }
  return result;
}

if (process.argv[1]?.endsWith('runtimes.ts')) {
  benchRuntimes().then((r) => console.log(JSON.stringify(r, null, 2)));
}
