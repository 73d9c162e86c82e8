// The Python training recipe's smoke tests: a few steps on a handful of images, end to end to ONNX.
// They need PyTorch and the recipe's dataset caches: `npm run test:recipe` (the recipe tier, which
// .ci/recipe runs after building the caches) fails without them; run alone, they say why they skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../../server/server.ts';
import { readManifest } from '../../server/model/manifest.ts';
import { loadModel } from '../../server/model/load.ts';
import { writeFixtureModel } from '../fixtures/onnx.ts';

const recipe = path.join(ROOT, 'models', 'recipe');
const python = '/usr/bin/python3';

function why(): string | null {
  if (!existsSync(python)) return `${python} not found`;
  const torch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (torch.status !== 0) return 'PyTorch is not installed (apt-get install --no-install-recommends python3-torch)';
  if (!existsSync(path.join(recipe, 'cache', 'records.json'))) return 'the dataset cache is not built (cd models/recipe && npm install && node build-dataset.mjs)';
  return null;
}

/** In the recipe tier a missing prerequisite is a failure, not a skip. */
const required = process.env.LATENTSTAGE_TEST_TIER === 'recipe';
const reason = why();
if (reason && required) test('the recipe tier has its prerequisites', () => assert.fail(`${reason} (see .ci/recipe)`));

test('train.py --smoke trains a few steps and exports a loadable model folder', { skip: reason ? `recipe smoke test skipped: ${reason}` : false, timeout: 300_000 }, async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'ls-recipe-'));
  const out = path.join(tmp, 'model');
  const r = spawnSync(python, ['train.py', '--smoke', '--out', out, '--runs', path.join(tmp, 'runs')], {
    cwd: recipe,
    encoding: 'utf8',
    timeout: 280_000,
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
  });
  assert.equal(r.status, 0, `train.py --smoke failed:\n${r.stdout}\n${r.stderr}`);
  for (const f of ['generator.onnx', 'text_encoder.onnx', 'image_encoder.onnx', 'prior.onnx', 'tokenizer.json', 'latentstage.json']) {
    assert.ok(existsSync(path.join(out, f)), `${f} exported`);
  }
  if (existsSync(path.join(out, 'MODEL_CARD.md'))) await readManifest(out);
});

test('train.py --evaluator-only --evaluator-steps N trains the evaluator for exactly N steps', { skip: reason ? `recipe smoke test skipped: ${reason}` : false, timeout: 300_000 }, () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'ls-evaluator-'));
  const r = spawnSync(python, ['train.py', '--smoke', '--evaluator-only', '--evaluator-steps', '7', '--out', path.join(tmp, 'model'), '--runs', path.join(tmp, 'runs')], {
    cwd: recipe,
    encoding: 'utf8',
    timeout: 280_000,
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
  });
  assert.equal(r.status, 0, `train.py --evaluator-only failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /evaluator only: \{'epochs': \d+, 'steps': 7,/);
  assert.ok(existsSync(path.join(tmp, 'runs', 'smoke', 'evaluator.pt')));
});

function refinerWhy(): string | null {
  const base = why();
  if (base && !base.startsWith('the dataset cache')) return base;
  if (!existsSync(path.join(recipe, 'cache', 'art256.json'))) return 'the 256 px art cache is not built (cd models/recipe && npm install && node build-art256.mjs)';
  return null;
}
const refinerReason = refinerWhy();
if (refinerReason && required && !reason) test('the recipe tier has the 256 px art cache', () => assert.fail(`${refinerReason} (see .ci/recipe)`));

test('refiner.py --smoke trains a few steps and adds a working refiner to a model folder', { skip: refinerReason ? `refiner smoke test skipped: ${refinerReason}` : false, timeout: 300_000 }, async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'ls-refiner-'));
  const out = writeFixtureModel(path.join(tmp, 'model'), { width: 64, height: 64 });
  const r = spawnSync(python, ['refiner.py', 'train', '--smoke', '--out', out, '--runs', path.join(tmp, 'runs')], {
    cwd: recipe,
    encoding: 'utf8',
    timeout: 280_000,
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
  });
  assert.equal(r.status, 0, `refiner.py --smoke failed:\n${r.stdout}\n${r.stderr}`);
  const model = await loadModel(out);
  try {
    assert.deepEqual(model.manifest.resolution, { width: 256, height: 256 });
    assert.equal(model.manifest.refiner?.file, 'refiner.onnx');
    const img = await model.runtime.generate(new Float32Array(2 * model.manifest.generator.z.dim).fill(0.3), 2);
    assert.equal(img.length, 2 * 3 * 256 * 256);
    assert.ok(img.every((v) => v >= -1 && v <= 1));
  } finally {
    await model.runtime.close();
  }
});
