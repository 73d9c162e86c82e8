import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  DEFAULT_WORDS,
  NGRAM_BUCKETS,
  gaussian,
  generatorOnnx,
  imageEncoderOnnx,
  mulberry32,
  priorOnnx,
  textEncoderOnnx,
  writeFixtureModel,
} from '../fixtures/onnx.js';
import { createTokenizer, type TokenizerSpec } from '../../server/model/tokenizer.ts';

const BATCH = 3;
const Z_DIM = 16;
const SIZE = 64;
const EMBED = 32;

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function randomNormal(seed: number, length: number): Float32Array {
  const normal = gaussian(mulberry32(seed));
  return Float32Array.from({ length }, normal);
}

const floats = (t: ort.Tensor) => t.data as Float32Array;
const meanAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;

function rowNorms(data: Float32Array, dim: number): number[] {
  const norms: number[] = [];
  for (let r = 0; r < data.length / dim; r++) norms.push(Math.hypot(...data.subarray(r * dim, (r + 1) * dim)));
  return norms;
}

async function generate(z: Float32Array, bytes = generatorOnnx({})): Promise<Float32Array> {
  const out = await run(bytes, { z: new ort.Tensor('float32', z, [z.length / Z_DIM, Z_DIM]) });
  return floats(out.image!);
}

test('generator: dynamic batch, NCHW shape, values in [-1, 1]', async () => {
  const out = await run(generatorOnnx({}), { z: new ort.Tensor('float32', randomNormal(1, BATCH * Z_DIM), [BATCH, Z_DIM]) });
  const image = out.image!;
  assert.deepEqual(image.dims, [BATCH, 3, SIZE, SIZE]);
  const data = floats(image);
  assert.ok(data.every((v) => Number.isFinite(v) && v >= -1 && v <= 1));
  assert.ok(data.some((v) => v < -0.3) && data.some((v) => v > 0.3), 'uses a good part of the range');

  const single = await generate(randomNormal(1, Z_DIM));
  assert.equal(single.length, 3 * SIZE * SIZE);
  assert.deepEqual(single, data.subarray(0, 3 * SIZE * SIZE), 'batch rows are independent');
});

test('generator: different z differ visibly, nearby z stay close, images are spatially smooth', async () => {
  const a = randomNormal(10, Z_DIM);
  const b = randomNormal(11, Z_DIM);
  const nudge = randomNormal(12, Z_DIM);
  const near = a.map((v, i) => v + 0.01 * nudge[i]!);
  const images = await generate(Float32Array.from([...a, ...b, ...near]));
  const plane = 3 * SIZE * SIZE;
  const [imgA, imgB, imgNear] = [0, 1, 2].map((i) => images.subarray(i * plane, (i + 1) * plane));

  const far = meanAbsDiff(imgA!, imgB!);
  const close = meanAbsDiff(imgA!, imgNear!);
  assert.ok(far > 0.05, `different z should differ visibly (mean abs diff ${far})`);
  assert.ok(close < 0.02, `nearby z should give close images (mean abs diff ${close})`);

  // Soft blobs, not pixel noise: neighbouring pixels differ far less than two different images do.
  let neighbour = 0;
  let count = 0;
  for (let row = 0; row < 3 * SIZE; row++) {
    for (let x = 0; x + 1 < SIZE; x++, count++) neighbour += Math.abs(imgA![row * SIZE + x + 1]! - imgA![row * SIZE + x]!);
  }
  assert.ok(neighbour / count < 0.1 * far, `adjacent pixel diff ${neighbour / count} vs image diff ${far}`);
});

test('generator: optional condition input is concatenated to z', async () => {
  const bytes = generatorOnnx({ conditionDim: 8 });
  const z = new ort.Tensor('float32', randomNormal(20, BATCH * Z_DIM), [BATCH, Z_DIM]);
  const c1 = new ort.Tensor('float32', randomNormal(21, BATCH * 8), [BATCH, 8]);
  const c2 = new ort.Tensor('float32', randomNormal(22, BATCH * 8), [BATCH, 8]);
  const out1 = await run(bytes, { z, c: c1 });
  const out2 = await run(bytes, { z, c: c2 });
  assert.deepEqual(out1.image!.dims, [BATCH, 3, SIZE, SIZE]);
  assert.ok(meanAbsDiff(floats(out1.image!), floats(out2.image!)) > 0.05, 'condition changes the image');
});

test('generator: custom size and latent dim', async () => {
  const out = await run(generatorOnnx({ zDim: 4, width: 48, height: 32 }), { z: new ort.Tensor('float32', randomNormal(2, BATCH * 4), [BATCH, 4]) });
  assert.deepEqual(out.image!.dims, [BATCH, 3, 32, 48]);
});

test('text encoder: unit-norm bag-of-words embeddings, padding ignored', async () => {
  const L = 16;
  const ids = new BigInt64Array(BATCH * L);
  ids.set([1n, 2n], 0); // "robot red"
  ids.set([2n, 1n], L); // "red robot": same bag of words
  ids.set([5n, 6n, BigInt(DEFAULT_WORDS.length + 1 + NGRAM_BUCKETS - 1)], 2 * L); // words + highest n-gram bucket
  const out = await run(textEncoderOnnx({}), { ids: new ort.Tensor('int64', ids, [BATCH, L]) });
  const embedding = out.embedding!;
  assert.deepEqual(embedding.dims, [BATCH, EMBED]);
  const data = floats(embedding);
  for (const norm of rowNorms(data, EMBED)) assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
  assert.ok(meanAbsDiff(data.subarray(0, EMBED), data.subarray(EMBED, 2 * EMBED)) < 1e-6, 'order-free sum');
  assert.ok(meanAbsDiff(data.subarray(0, EMBED), data.subarray(2 * EMBED)) > 0.05, 'different words differ');
});

test('image encoder: unit-norm embeddings of generated images', async () => {
  const images = await generate(randomNormal(30, BATCH * Z_DIM));
  const out = await run(imageEncoderOnnx({}), { image: new ort.Tensor('float32', images, [BATCH, 3, SIZE, SIZE]) });
  assert.deepEqual(out.embedding!.dims, [BATCH, EMBED]);
  const data = floats(out.embedding!);
  for (const norm of rowNorms(data, EMBED)) assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
  assert.ok(meanAbsDiff(data.subarray(0, EMBED), data.subarray(EMBED, 2 * EMBED)) > 0.01, 'different images differ');
});

test('prior: mean and strictly positive scale over z', async () => {
  const embedding = randomNormal(40, BATCH * EMBED);
  const out = await run(priorOnnx({}), { embedding: new ort.Tensor('float32', embedding, [BATCH, EMBED]) });
  assert.deepEqual(out.mean!.dims, [BATCH, Z_DIM]);
  assert.deepEqual(out.scale!.dims, [BATCH, Z_DIM]);
  assert.ok(floats(out.mean!).every(Number.isFinite));
  assert.ok(floats(out.scale!).every((v) => Number.isFinite(v) && v >= 0.05));
});

test('models are deterministic per seed', () => {
  for (const build of [generatorOnnx, textEncoderOnnx, imageEncoderOnnx, priorOnnx]) {
    assert.deepEqual(build({ seed: 3 }), build({ seed: 3 }), `${build.name} is reproducible`);
    assert.notDeepEqual(build({ seed: 3 }), build({ seed: 4 }), `${build.name} depends on the seed`);
  }
});

test('writeFixtureModel: complete folder with the documented manifest', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'latentstage-fixture-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(writeFixtureModel(dir, { conditionDim: 8 }), dir);

  const manifest: unknown = JSON.parse(readFileSync(join(dir, 'latentstage.json'), 'utf8'));
  const expected = {
    format: 'latentstage/1',
    id: 'fixture',
    name: 'Fixture',
    description: 'tiny generated test model',
    card: 'MODEL_CARD.md',
    resolution: { width: 64, height: 64 },
    generator: {
      file: 'generator.onnx',
      z: { input: 'z', dim: 16 },
      condition: { input: 'c', dim: 8 },
      output: { name: 'image', layout: 'NCHW', range: [-1, 1] },
    },
    text: { encoder: 'text_encoder.onnx', input: 'ids', output: 'embedding', dim: 32, tokenizer: 'tokenizer.json', vocabulary: 'vocabulary.txt' },
    image: { encoder: 'image_encoder.onnx', input: 'image', output: 'embedding', dim: 32, size: 64, layout: 'NCHW', range: [-1, 1] },
    prior: { file: 'prior.onnx', input: 'embedding', mean: 'mean', scale: 'scale' },
  };
  assert.equal(JSON.stringify(manifest), JSON.stringify(expected), 'same keys in the same order');

  const tokenizer = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as TokenizerSpec;
  assert.equal(tokenizer.format, 'latentstage-tokenizer/1', 'the same format as the real models');
  assert.deepEqual(tokenizer.words, Object.fromEntries(DEFAULT_WORDS.map((w, i) => [w, i])));
  assert.deepEqual(tokenizer.ngram, { min: 3, max: 4, begin: '<', end: '>', hash: 'fnv1a32-utf8', buckets: 64, offset: DEFAULT_WORDS.length + 1 });
  assert.equal(tokenizer.maxLength, 16);
  assert.equal(tokenizer.padId, 0);
  // The one TS tokenizer reads it: word ids first, then n-gram ids inside the text encoder's table.
  const { ids, words, unknown } = createTokenizer(tokenizer).encode('Red ROBOT, zzq');
  assert.deepEqual(words, ['red', 'robot', 'zzq']);
  assert.deepEqual(unknown, ['zzq']);
  assert.deepEqual(ids.slice(0, 2), [1 + DEFAULT_WORDS.indexOf('red'), 1 + DEFAULT_WORDS.indexOf('robot')]);
  assert.equal(ids.length, 16);
  assert.ok(ids.slice(2).every((id) => id >= DEFAULT_WORDS.length + 1 && id < DEFAULT_WORDS.length + 1 + NGRAM_BUCKETS));
  assert.deepEqual(readFileSync(join(dir, 'vocabulary.txt'), 'utf8').trim().split('\n'), DEFAULT_WORDS);
  assert.ok(existsSync(join(dir, 'MODEL_CARD.md')));

  for (const file of ['generator.onnx', 'text_encoder.onnx', 'image_encoder.onnx', 'prior.onnx']) {
    const session = await ort.InferenceSession.create(join(dir, file));
    await session.release();
  }
});

test('writeFixtureModel: optional parts are omitted when disabled', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'latentstage-fixture-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFixtureModel(dir, { id: 'bare-model', text: false, image: false, prior: false, words: ['a', 'b'] });
  const manifest = JSON.parse(readFileSync(join(dir, 'latentstage.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(manifest), ['format', 'id', 'name', 'description', 'card', 'resolution', 'generator']);
  assert.equal(manifest.name, 'Bare Model');
  assert.deepEqual(Object.keys(manifest.generator as object), ['file', 'z', 'output']);
  for (const file of ['text_encoder.onnx', 'image_encoder.onnx', 'prior.onnx']) assert.ok(!existsSync(join(dir, file)), file);
  assert.ok(existsSync(join(dir, 'generator.onnx')));
});
