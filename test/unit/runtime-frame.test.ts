// A live frame made whole by the runtime: the worker's frame() gives the same RGB picture and
// image embedding as the in-thread path, and `refine: false` returns the generator's own size.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { loadModel, type Model } from '../../server/model/load.ts';
import { renderFrame } from '../../server/runtime/frame.ts';
import { toRgb } from '../../server/frames/rgb.ts';
import { toEncoderInput } from '../../server/steer/image.ts';

// one fixture folder (generator 64 px refined x2 to 128, text and image encoders), loaded in this
// thread and in a worker
let tmp: string;
let local: Model;
let worker: Model;
before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-frame-'));
  const dir = writeFixtureModel(path.join(tmp, 'model'), { image: true, text: true, refinerScale: 2 });
  local = await loadModel(dir);
  worker = await loadModel(dir, { worker: true });
});
after(async () => {
  await worker.runtime.close();
  await local.runtime.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('the worker makes the same frame and embedding as the in-thread runtime, in one call', async () => {
  const m = local.manifest;
  assert.equal(m.resolution.width, 128, 'the fixture refines 64 -> 128');
  const z = Float32Array.from({ length: m.generator.z.dim }, (_, i) => Math.sin(i + 1));
  assert.ok(worker.runtime.frame, 'the worker runtime makes frames itself');
  const made = await worker.runtime.frame!(z, null, true);
  const expected = await renderFrame(local.runtime, z, null, true);
  assert.equal(made.rgb.length, 128 * 128 * 3);
  assert.ok(Buffer.isBuffer(made.rgb), 'the picture arrives as a Buffer, ready for sharp');
  assert.deepEqual(Buffer.from(made.rgb), Buffer.from(expected.rgb));
  assert.ok(made.embedding && expected.embedding);
  assert.deepEqual(Array.from(made.embedding), Array.from(expected.embedding));
  // the same as generating, converting and encoding by hand
  const image = await local.runtime.generate(z, 1);
  assert.deepEqual(Buffer.from(made.rgb), toRgb(image, 128, 128, m.generator.output.range));
  const byHand = await local.runtime.encodeImage!(toEncoderInput(image, 1, m), 1);
  assert.deepEqual(Array.from(made.embedding), Array.from(byHand));
  // no embedding unless asked for
  assert.equal((await worker.runtime.frame!(z, null, false)).embedding, null);
});

test('refine: false returns the generator output at its own resolution, in both runtimes', async () => {
  const zDim = local.manifest.generator.z.dim;
  const z = Float32Array.from({ length: 2 * zDim }, (_, i) => Math.cos(i));
  for (const rt of [local.runtime, worker.runtime]) {
    const base = await rt.generate(z, 2, null, { refine: false });
    const full = await rt.generate(z, 2, null);
    assert.equal(base.length, 2 * 3 * 64 * 64);
    assert.equal(full.length, 2 * 3 * 128 * 128);
    // the fixture's refiner is nearest neighbour: every refined pixel repeats a base pixel
    assert.equal(full[0], base[0]);
    assert.equal(full[2 * 128 + 2], base[64 + 1]);
  }
});
