import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModel } from '../../server/model/load.ts';
import { readManifest } from '../../server/model/manifest.ts';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { writeTfjsFixtureModel, writeTfjsGraphFixtureModel } from '../fixtures/tfjs.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'ls-tfjs-'));

test('a TF.js model folder draws the same images as the same generator on ONNX Runtime', async () => {
  const dir = tmp();
  const infos: string[] = [];
  const tfjs = await loadModel(await writeTfjsFixtureModel(path.join(dir, 'tfjs')), { info: (m) => infos.push(m) });
  const onnx = await loadModel(writeFixtureModel(path.join(dir, 'onnx')));
  try {
    assert.equal(tfjs.manifest.runtime, 'tfjs');
    assert.equal(tfjs.runtime.device, 'cpu');
    assert.match(infos.join('\n'), /TF\.js backend: \S+ \(@tensorflow\/tfjs(-node(-gpu)?)?\)/);
    const batch = 3;
    const z = new Float32Array(batch * 16).map((_, i) => Math.sin(i * 1.7));
    const [a, b] = [await tfjs.runtime.generate(z, batch), await onnx.runtime.generate(z, batch)];
    assert.equal(a.length, batch * 3 * 64 * 64);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
    await assert.rejects(tfjs.runtime.generate(new Float32Array(5), 1), /z must hold 1 x 16 values/);
  } finally {
    await tfjs.runtime.close();
    await onnx.runtime.close();
  }
});

test('a TF.js generator whose output does not fit the manifest fails at load, naming the file', async () => {
  const dir = await writeTfjsFixtureModel(path.join(tmp(), 'm'));
  const manifestPath = path.join(dir, 'latentstage.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  writeFileSync(manifestPath, JSON.stringify({ ...manifest, resolution: { width: 32, height: 32 } }));
  await assert.rejects(loadModel(dir), /cannot load model\.json: generator returned 12288 values, expected 1 x 3 x 32 x 32/);
});

test('a weight path that leaves the model folder is refused', async () => {
  const dir = await writeTfjsFixtureModel(path.join(tmp(), 'm'));
  const jsonPath = path.join(dir, 'model.json');
  const json = JSON.parse(readFileSync(jsonPath, 'utf8'));
  json.weightsManifest[0].paths[1] = '../../etc/passwd';
  writeFileSync(jsonPath, JSON.stringify(json));
  await assert.rejects(readManifest(dir), /weight path "\.\.\/\.\.\/etc\/passwd" must be a relative path inside the model folder/);
});

test('an unknown runtime in the manifest is reported', async () => {
  const dir = await writeTfjsFixtureModel(path.join(tmp(), 'm'));
  const manifestPath = path.join(dir, 'latentstage.json');
  writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(readFileSync(manifestPath, 'utf8')), runtime: 'pytorch' }));
  await assert.rejects(readManifest(dir), /latentstage\.json is invalid: runtime/);
});

test('a TF.js model runs in the runtime worker thread and reports its backend from there', async () => {
  const dir = await writeTfjsFixtureModel(path.join(tmp(), 'm'));
  const infos: string[] = [];
  const inWorker = await loadModel(dir, { worker: true, info: (m) => infos.push(m) });
  const here = await loadModel(dir);
  try {
    const z = new Float32Array(2 * 16).map((_, i) => Math.cos(i));
    assert.deepEqual(await inWorker.runtime.generate(z, 2), await here.runtime.generate(z, 2));
    assert.match(infos.join('\n'), /TF\.js backend:/);
  } finally {
    await inWorker.runtime.close();
    await here.runtime.close();
  }
});

test('a TF.js refiner upscales every generated image, and the result is NCHW', async () => {
  const root = tmp();
  const refined = await loadModel(await writeTfjsFixtureModel(path.join(root, 'r'), { width: 16, height: 16, refinerScale: 4 }));
  const plain = await loadModel(await writeTfjsFixtureModel(path.join(root, 'p'), { width: 16, height: 16 }));
  try {
    assert.deepEqual(refined.manifest.resolution, { width: 64, height: 64 });
    const n = 2;
    const z = Float32Array.from({ length: n * 16 }, (_, i) => Math.sin(i));
    const big = await refined.runtime.generate(z, n);
    const small = await plain.runtime.generate(z, n);
    assert.equal(big.length, n * 3 * 64 * 64);
    for (const [b, c, y, x] of [[0, 0, 0, 0], [1, 2, 15, 3], [0, 1, 7, 9]] as const) {
      const v = small[((b * 3 + c) * 16 + y) * 16 + x]!;
      for (const [dy, dx] of [[0, 0], [3, 3], [1, 2]] as const) assert.equal(big[((b * 3 + c) * 64 + 4 * y + dy) * 64 + 4 * x + dx], v);
    }
  } finally {
    await refined.runtime.close();
    await plain.runtime.close();
  }
});

test('a TF.js graph model (converter output) draws the same images as the ONNX generator', async () => {
  const root = tmp();
  const graph = await loadModel(writeTfjsGraphFixtureModel(path.join(root, 'g')));
  const onnx = await loadModel(writeFixtureModel(path.join(root, 'o'), { text: false, image: false, prior: false }));
  try {
    const z = new Float32Array(2 * 16).map((_, i) => Math.cos(i * 0.9));
    const [a, b] = [await graph.runtime.generate(z, 2), await onnx.runtime.generate(z, 2)];
    assert.equal(a.length, b.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
  } finally {
    await graph.runtime.close();
    await onnx.runtime.close();
  }
});
