// A live frame made whole by the runtime: the worker's frame() gives the same RGB picture and
// image embedding as the in-thread path, and `refine: false` returns the generator's own size. A
// pool of workers makes the same frames side by side and survives one worker's crash.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { loadModel, type Model } from '../../server/model/load.ts';
import { renderFrame } from '../../server/runtime/frame.ts';
import { toRgb } from '../../server/frames/rgb.ts';
import { toEncoderInput } from '../../server/runtime/encoder-input.ts';
import { RuntimePool } from '../../server/runtime/pool.ts';
import { RuntimeCrashError } from '../../server/runtime/runtime.ts';
import { waitFor } from '../helpers/server.ts';

// one fixture folder (generator 64 px refined x2 to 128, text and image encoders), loaded in this
// thread, in a worker and in a pool of two workers
let tmp: string;
let local: Model;
let worker: Model;
let pooled: Model;
before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-frame-'));
  const dir = writeFixtureModel(path.join(tmp, 'model'), { image: true, text: true, refinerScale: 2 });
  local = await loadModel(dir);
  worker = await loadModel(dir, { worker: true });
  pooled = await loadModel(dir, { workers: 2, threads: 1 });
});
after(async () => {
  await pooled.runtime.close();
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

test('a pool makes the same frames, two at once on two workers', async () => {
  const pool = pooled.runtime;
  assert.ok(pool instanceof RuntimePool);
  assert.equal(pool.lanes, 2);
  const zDim = local.manifest.generator.z.dim;
  const zs = [1, 2, 3].map((k) => Float32Array.from({ length: zDim }, (_, i) => Math.sin(k * i + 1)));
  const asked = zs.map((z) => pool.frame(z, null, true));
  assert.deepEqual(
    pool.members.map((m) => m.inFlight),
    [2, 1],
    'the first two frames went to different workers, the third to the next in turn',
  );
  const made = await Promise.all(asked);
  for (let k = 0; k < zs.length; k++) {
    const expected = await renderFrame(local.runtime, zs[k], null, true);
    assert.deepEqual(Buffer.from(made[k].rgb), Buffer.from(expected.rgb), `frame ${k}`);
    assert.deepEqual(Array.from(made[k].embedding!), Array.from(expected.embedding!));
  }
  // every call of the interface goes through the pool; prompts go to the first worker, the only
  // one that loads the text encoder
  assert.ok(pool.members[0].encodeText && !pool.members[1].encodeText, 'the second worker skips the text encoder');
  const ids = new BigInt64Array(16).fill(1n); // the fixture text encoder reads 16 token ids
  const busy = pool.members[0].frame(zs[0], null, false); // the first worker is now the busier one
  const text = pool.encodeText!(ids, 1);
  assert.deepEqual(pool.members.map((m) => m.inFlight), [2, 0], 'text went to the first worker anyway');
  await busy;
  assert.deepEqual(Array.from(await text), Array.from(await local.runtime.encodeText!(ids, 1)));
  assert.deepEqual(Array.from(await pool.generate(zs[0], 1, null, { refine: false })), Array.from(await local.runtime.generate(zs[0], 1, null, { refine: false })));
  assert.deepEqual(pool.members.map((m) => m.inFlight), [0, 0]);
});

test('one worker of a pool crashing is reported and restarted while the other keeps making frames', async () => {
  const pool = pooled.runtime as RuntimePool;
  const crashes: Error[] = [];
  let restarts = 0;
  pool.on('crash', (err) => crashes.push(err));
  pool.on('restart', () => restarts++);
  const z = Float32Array.from({ length: local.manifest.generator.z.dim }, (_, i) => Math.cos(i));
  const [a, b] = pool.members;
  const expected = Buffer.from((await renderFrame(local.runtime, z, null, false)).rgb);
  const before = a.crashes;
  a.simulateCrash();
  const inFlight = a.frame(z, null, false);
  await assert.rejects(inFlight, RuntimeCrashError);
  assert.equal(crashes.length, 1);
  assert.equal(pool.crashes, before + 1);
  // while `a` restarts, frames go to `b` and come out right
  assert.equal(a.state, 'restarting', 'a fresh worker takes a while to load the model');
  assert.equal(pool.state, 'restarting');
  const made = await pool.frame(z, null, false);
  assert.deepEqual(Buffer.from(made.rgb), expected);
  assert.equal(b.crashes, 0);
  await waitFor(() => restarts === 1 && pool.state === 'running', 20000, 'the crashed worker to restart');
  const both = await Promise.all([pool.frame(z, null, false), pool.frame(z, null, false)]);
  for (const f of both) assert.deepEqual(Buffer.from(f.rgb), expected);
});
