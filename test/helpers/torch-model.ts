// Model folders for the torch runtime's tests and benches: a fixture checkpoint written by
// latentstage.fixtures (random weights, a real architecture in its real file format), imported
// with latentstage.importer into a folder with both ONNX files and PyTorch weights. Built once per
// process and kind, with the python3 that has torch (server/model/python.ts).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findPython, pythonEnv, runModule } from '../../server/model/python.ts';
import { MANIFEST } from '../../server/model/manifest.ts';
import { generatorWeights, writeFixtureModel, type FixtureOptions } from '../fixtures/onnx.ts';

const built = new Map<string, Promise<string>>();

/**
 * An imported model folder from a fixture checkpoint: `kind` as latentstage.fixtures names it
 * (nvlabs-sg2, nvlabs-sg2-512-full, ...), imported with `importer`; `clip` (a CLIP fixture kind,
 * e.g. hf-clip) adds text and image encoders to it. Cached per process.
 */
export function importedFixture(kind = 'nvlabs-sg2', o: { importer?: string; clip?: string; dir?: string } = {}): Promise<string> {
  const key = [kind, o.importer, o.clip, o.dir].join(' ');
  let p = built.get(key);
  if (!p) {
    p = (async () => {
      const tmp = o.dir ?? mkdtempSync(path.join(tmpdir(), `ls-torch-${kind}-`));
      mkdirSync(tmp, { recursive: true });
      const out = path.join(tmp, o.clip ? `${kind}+${o.clip}` : kind);
      if (existsSync(path.join(out, MANIFEST))) return out;
      const src = path.join(tmp, `${kind}.src`);
      if (!existsSync(src)) await runModule('fixtures', [kind, src], { timeoutMs: 1_800_000 });
      await runModule('importer', [o.importer ?? 'stylegan', src, '-o', out], { timeoutMs: 1_800_000 });
      if (o.clip) {
        const clip = path.join(tmp, `${o.clip}.src`);
        if (!existsSync(clip)) await runModule('fixtures', [o.clip, clip], { timeoutMs: 1_800_000 });
        await runModule('importer', ['clip', clip, '-o', out], { timeoutMs: 1_800_000 });
      }
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
