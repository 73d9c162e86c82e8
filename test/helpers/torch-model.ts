// Model folders for the torch runtime's tests and benches: a fixture checkpoint written by
// latentstage.fixtures (random weights, a real architecture in its real file format), imported
// with latentstage.importer into a folder with both ONNX files and PyTorch weights. Built once per
// process and kind, with the python3 that has torch (server/model/python.ts).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findPython, pythonEnv, runModule } from '../../server/model/python.ts';
import { MANIFEST } from '../../server/model/manifest.ts';
import { generatorWeights, writeFixtureModel, type FixtureOptions } from '../fixtures/onnx.ts';

const built = new Map<string, Promise<string>>();

/**
 * An imported model folder from a fixture checkpoint: `kind` as latentstage.fixtures names it
 * (nvlabs-sg2, ...), `extra` the fixture generator's options. Cached per process.
 */
export function importedFixture(kind = 'nvlabs-sg2', extra: string[] = [], importer = 'stylegan'): Promise<string> {
  const key = [kind, ...extra].join(' ');
  let p = built.get(key);
  if (!p) {
    p = (async () => {
      const tmp = mkdtempSync(path.join(tmpdir(), `ls-torch-${kind}-`));
      const src = path.join(tmp, kind.startsWith('nvlabs') ? 'source.pkl' : 'source.pt');
      await runModule('fixtures', [kind, src, ...extra], { timeoutMs: 600_000 });
      const out = path.join(tmp, 'model');
      await runModule('importer', [importer, src, '-o', out], { timeoutMs: 600_000 });
      return out;
    })();
    built.set(key, p);
    p.catch(() => built.delete(key));
  }
  return p;
}

/**
 * The ONNX test fixture (test/fixtures/onnx.ts, generator only) with the same weights as PyTorch
 * (arch fixture_dense): one model that ONNX Runtime, TF.js and torch all run.
 */
export async function denseTorchFixture(dir: string, o: FixtureOptions = {}): Promise<string> {
  writeFixtureModel(dir, { ...o, text: false, image: false, prior: false });
  const { inDim, weights } = generatorWeights(o);
  const m = JSON.parse(readFileSync(path.join(dir, MANIFEST), 'utf8'));
  mkdirSync(path.join(dir, 'torch'), { recursive: true });
  const raw = path.join(dir, 'torch', 'patterns.f32');
  writeFileSync(raw, Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength));
  const { width, height } = m.resolution;
  const pt = path.join(dir, 'torch', 'generator.pt');
  await runModuleCode(
    `import sys, numpy as np, torch\nw = np.fromfile(sys.argv[1], dtype="<f4").reshape(${inDim}, ${3 * width * height})\ntorch.save({"patterns": torch.from_numpy(w)}, sys.argv[2])`,
    [raw, pt],
  );
  rmSync(raw);
  m.torch = { generator: { arch: 'fixture_dense', config: { in_dim: inDim, width, height }, weights: 'torch/generator.pt' } };
  writeFileSync(path.join(dir, MANIFEST), JSON.stringify(m, null, 2));
  return dir;
}

/** python3 -c CODE args... with the python that has torch. */
async function runModuleCode(code: string, args: string[]): Promise<void> {
  const { executable } = await findPython();
  await promisify(execFile)(executable, ['-c', code, ...args], { env: pythonEnv(), timeout: 120_000 });
}
