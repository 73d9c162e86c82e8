// ONNX Runtime vs TF.js on the CPU: the same tiny generator (the test fixture: dense 16 -> 3x64x64,
// tanh), the same weights, frames per second at batch 1 and 16, and TF.js over ONNX as a ratio.
// TF.js runs on whatever backend the runtime picks (pure JS unless tfjs-node is installed).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadModel } from '../../server/model/load.ts';
import type { Runtime } from '../../server/runtime/runtime.ts';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { writeTfjsFixtureModel } from '../fixtures/tfjs.ts';
import { round } from './util.ts';

async function fps(runtime: Runtime, batch: number, seconds: number): Promise<number> {
  const dim = runtime.manifest.generator.z.dim;
  const z = new Float32Array(batch * dim).map((_, i) => Math.sin(i));
  for (let i = 0; i < 5; i++) await runtime.generate(z, batch);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await runtime.generate(z, batch);
    n += batch;
  }
  return n / ((performance.now() - t0) / 1000);
}

export async function benchRuntimes(opts: { seconds?: number } = {}): Promise<Record<string, number | string>> {
  const seconds = opts.seconds ?? 2;
  const dir = mkdtempSync(path.join(tmpdir(), 'ls-bench-runtimes-'));
  const backends: string[] = [];
  const onnx = await loadModel(writeFixtureModel(path.join(dir, 'onnx'), { text: false, image: false, prior: false }));
  const tfjs = await loadModel(await writeTfjsFixtureModel(path.join(dir, 'tfjs')), { info: (m) => backends.push(m) });
  const result: Record<string, number | string> = {
    model: 'fixture generator 16 -> 3x64x64 on cpu',
    tfjs_backend: backends.join('; ').replace(/^TF\.js backend: /, '').replace(/;.*$/, ''),
  };
  try {
    for (const batch of [1, 16]) {
      const a = await fps(onnx.runtime, batch, seconds);
      const b = await fps(tfjs.runtime, batch, seconds);
      result[`onnx_fps_batch${batch}`] = round(a, 1);
      result[`tfjs_fps_batch${batch}`] = round(b, 1);
      result[`tfjs_over_onnx_batch${batch}`] = round(b / a, 3);
    }
  } finally {
    await onnx.runtime.close();
    await tfjs.runtime.close();
  }
  return result;
}

if (process.argv[1]?.endsWith('runtimes.ts')) {
  benchRuntimes().then((r) => console.log(JSON.stringify(r, null, 2)));
}
