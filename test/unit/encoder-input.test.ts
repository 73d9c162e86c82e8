import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toEncoderInput } from '../../server/runtime/encoder-input.ts';
import type { Manifest } from '../../server/model/manifest.ts';

const manifest = (size: number, encoderSize: number): Manifest => ({
  format: 'latentstage/1',
  id: 't',
  name: 'T',
  resolution: { width: size, height: size },
  generator: { file: 'g.onnx', z: { input: 'z', dim: 4 }, output: { name: 'image', layout: 'NCHW', range: [-1, 1] } },
  image: { encoder: 'e.onnx', input: 'image', output: 'embedding', dim: 8, size: encoderSize, layout: 'NCHW', range: [0, 1] },
});

test('a refined frame four times the encoder size is averaged block by block into the encoder range', () => {
  const size = 8;
  const img = new Float32Array(3 * size * size);
  // channel 0: left half -1, right half +1; channel 1: a single bright pixel in block (0, 0)
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) img[y * size + x] = x < 4 ? -1 : 1;
  img.fill(-1, size * size, 2 * size * size);
  img[size * size] = 1;
  const out = toEncoderInput(img, 1, manifest(size, 2));
  assert.equal(out.length, 3 * 2 * 2);
  assert.deepEqual(Array.from(out.subarray(0, 4)), [0, 1, 0, 1]);
  assert.equal(out[4], 1 / 16); // one of 16 pixels is 1, the rest 0, in the [0, 1] range
  assert.deepEqual(Array.from(out.subarray(5, 8)), [0, 0, 0]);
});

test('same size is a copy mapped to the encoder range', () => {
  const img = Float32Array.from({ length: 3 * 4 * 4 }, (_, i) => (i % 3) - 1);
  const out = toEncoderInput(img, 1, manifest(4, 4));
  assert.deepEqual(Array.from(out), Array.from(img, (v) => (v + 1) / 2));
});
