// The Python training recipe's smoke test: a few steps on a handful of images, end to end to ONNX.
// Runs when PyTorch and the recipe's dataset cache are present; otherwise it says why it skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../../server/server.ts';
import { readManifest } from '../../server/model/manifest.ts';

const recipe = path.join(ROOT, 'models', 'recipe');
const python = '/usr/bin/python3';

function why(): string | null {
  if (!existsSync(python)) return `${python} not found`;
  const torch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (torch.status !== 0) return 'PyTorch is not installed (apt-get install --no-install-recommends python3-torch)';
  if (!existsSync(path.join(recipe, 'cache', 'records.json'))) return 'the dataset cache is not built (cd models/recipe && npm install && node build-dataset.mjs)';
  return null;
}

const reason = why();

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
