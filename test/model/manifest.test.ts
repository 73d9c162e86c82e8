import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readManifest } from '../../server/model/manifest.ts';
import { loadModel } from '../../server/model/load.ts';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { writeTfjsFixtureModel } from '../fixtures/tfjs.ts';

const fixture = () => writeFixtureModel(path.join(mkdtempSync(path.join(tmpdir(), 'ls-model-')), 'm'));

test('a complete fixture folder loads and generates a batch', async () => {
  const model = await loadModel(fixture());
  try {
    const n = 3;
    const out = await model.runtime.generate(new Float32Array(n * 16).fill(0.5), n);
    assert.equal(out.length, n * 3 * 64 * 64);
    assert.ok(model.vocabulary?.has('robot'));
  } finally {
    await model.runtime.close();
  }
});

test('a missing file is named in one clear message', async () => {
  const dir = fixture();
  rmSync(path.join(dir, 'prior.onnx'));
  await assert.rejects(readManifest(dir), /file .*prior\.onnx named in latentstage\.json is missing/);
});

test('a missing manifest, bad JSON or a wrong field are each reported', async () => {
  const dir = fixture();
  await assert.rejects(readManifest(path.join(dir, 'nowhere')), /latentstage\.json is missing/);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'latentstage.json'), 'utf8'));
  writeFileSync(path.join(dir, 'latentstage.json'), '{"format":');
  await assert.rejects(readManifest(dir), /is not valid JSON/);
  writeFileSync(path.join(dir, 'latentstage.json'), JSON.stringify({ ...manifest, generator: { ...manifest.generator, z: { input: 'z', dim: -4 } } }));
  await assert.rejects(readManifest(dir), /generator\.z\.dim/);
  writeFileSync(path.join(dir, 'latentstage.json'), JSON.stringify({ ...manifest, generator: { ...manifest.generator, file: '../../etc/passwd' } }));
  await assert.rejects(readManifest(dir), /generator\.file: must be a relative path inside the model folder/);
});

test('a file that is not a valid ONNX model is reported with its name', async () => {
  const dir = fixture();
  writeFileSync(path.join(dir, 'generator.onnx'), 'not onnx');
  await assert.rejects(loadModel(dir), /generator\.onnx/);
});

test('a refiner upscales every generated image to the manifest resolution', async () => {
  const dir = writeFixtureModel(path.join(mkdtempSync(path.join(tmpdir(), 'ls-model-')), 'm'), { width: 16, height: 16, refinerScale: 4 });
  const plain = writeFixtureModel(path.join(mkdtempSync(path.join(tmpdir(), 'ls-model-')), 'm'), { width: 16, height: 16 });
  const [model, base] = [await loadModel(dir), await loadModel(plain)];
  try {
    assert.deepEqual(model.manifest.resolution, { width: 64, height: 64 });
    const n = 2;
    const z = Float32Array.from({ length: n * 16 }, (_, i) => Math.sin(i));
    const big = await model.runtime.generate(z, n);
    const small = await base.runtime.generate(z, n);
    assert.equal(big.length, n * 3 * 64 * 64);
    // the fixture refiner is nearest-neighbour: pixel (y, x) of the generator fills a 4 x 4 block
    for (const [b, c, y, x] of [[0, 0, 0, 0], [1, 2, 15, 3], [0, 1, 7, 9]] as const) {
      const v = small[((b * 3 + c) * 16 + y) * 16 + x]!;
      for (const [dy, dx] of [[0, 0], [3, 3], [1, 2]] as const) assert.equal(big[((b * 3 + c) * 64 + 4 * y + dy) * 64 + 4 * x + dx], v);
    }
  } finally {
    await model.runtime.close();
    await base.runtime.close();
  }
});

test('a manifest naming a refiner that is missing, or a resolution the scale does not divide, is refused', async () => {
  const dir = writeFixtureModel(path.join(mkdtempSync(path.join(tmpdir(), 'ls-model-')), 'm'), { width: 16, height: 16, refinerScale: 4 });
  const manifest = JSON.parse(readFileSync(path.join(dir, 'latentstage.json'), 'utf8'));
  rmSync(path.join(dir, 'refiner.onnx'));
  await assert.rejects(readManifest(dir), /file .*refiner\.onnx named in latentstage\.json is missing/);
  writeFileSync(path.join(dir, 'refiner.onnx'), 'not onnx');
  await assert.rejects(loadModel(dir), /refiner\.onnx/);
  writeFileSync(path.join(dir, 'latentstage.json'), JSON.stringify({ ...manifest, resolution: { width: 66, height: 64 } }));
  await assert.rejects(readManifest(dir), /refiner\.scale: resolution must be a multiple of refiner\.scale/);
});

test('a TF.js model folder with a missing weight shard is named in one clear message', async () => {
  const dir = await writeTfjsFixtureModel(path.join(mkdtempSync(path.join(tmpdir(), 'ls-model-')), 'm'));
  rmSync(path.join(dir, 'group1-shard2of2.bin'));
  const missing = /model fixture-tfjs: file .*group1-shard2of2\.bin named in model\.json is missing/;
  await assert.rejects(readManifest(dir), missing);
  await assert.rejects(loadModel(dir), missing);
});

test('an ONNX generator with NHWC output hands out the same NCHW images as its NCHW twin', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'ls-model-'));
  const opts = { text: false, image: false, prior: false };
  const [nhwc, nchw] = [await loadModel(writeFixtureModel(path.join(root, 'a'), { ...opts, nhwc: true })), await loadModel(writeFixtureModel(path.join(root, 'b'), opts))];
  try {
    assert.equal(nhwc.manifest.generator.output.layout, 'NHWC');
    const z = Float32Array.from({ length: 2 * 16 }, (_, i) => Math.sin(i * 0.3));
    assert.deepEqual(await nhwc.runtime.generate(z, 2), await nchw.runtime.generate(z, 2));
  } finally {
    await nhwc.runtime.close();
    await nchw.runtime.close();
  }
});

test('--runtime torch needs the folder\'s PyTorch weights; a torch folder can still run on onnx', async () => {
  const { withRuntime } = await import('../../server/model/load.ts');
  const base = JSON.parse(JSON.stringify(validManifestForRuntime()));
  assert.throws(() => withRuntime(base, 'torch'), /no PyTorch weights.*--runtime torch/);
  const withTorch = { ...base, torch: { generator: { arch: 'stylegan2', config: {}, weights: 'torch/generator.pt' } } };
  assert.equal(withRuntime(withTorch, 'torch').runtime, 'torch');
  assert.equal(withRuntime({ ...withTorch, runtime: 'torch' }, 'onnx').runtime, 'onnx');
  assert.equal(withRuntime(base, undefined), base);
  assert.throws(() => withRuntime(base, 'tfjs'), /onnx model folder: --runtime tfjs cannot run it/);
});

function validManifestForRuntime() {
  return {
    format: 'latentstage/1' as const,
    id: 'm',
    name: 'm',
    resolution: { width: 8, height: 8 },
    generator: { file: 'g.onnx', z: { input: 'z', dim: 4 }, output: { name: 'image', layout: 'NCHW' as const, range: [-1, 1] as [number, number] } },
  };
}
