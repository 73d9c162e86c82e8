import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { Frame, toRgb } from '../../server/frames/frame.ts';
import { frameHeader, parseFrameHeader, HEADER_BYTES } from '../../server/frames/header.ts';
import { nextTick } from '../../server/loop.ts';

function gradientFrame(w = 64, h = 64): Frame {
  const data = new Float32Array(3 * w * h);
  for (let i = 0; i < w * h; i++) {
    data[i] = (i % w) / (w - 1) * 2 - 1;
    data[w * h + i] = Math.floor(i / w) / (h - 1) * 2 - 1;
    data[2 * w * h + i] = 0;
  }
  return new Frame({ index: 7, time: 0.5, readyAt: 0, similarity: 0.25 }, toRgb(data, w, h, [-1, 1]), w, h);
}

test('toRgb maps the output range onto 0..255 and clamps', () => {
  const rgb = toRgb(Float32Array.from([-1, 1, 0, -5, 5, 0.5]), 1, 2, [-1, 1]);
  // NCHW planes: R = [-1, 1], G = [0, -5], B = [5, 0.5]
  assert.deepEqual([...rgb], [0, 128, 255, 255, 0, 191]);
});

test('a frame is encoded once per distinct request, however many viewers ask', async () => {
  const f = gradientFrame();
  const req = { format: 'jpeg' as const, size: 256, quality: 80 };
  const results = await Promise.all(Array.from({ length: 20 }, () => f.encode(req)));
  assert.equal(f.encodes, 1);
  assert.ok(results.every((r) => r === results[0]));
  await f.encode({ ...req, size: 128 });
  await f.encode({ format: 'rgba', size: null, quality: 80 });
  await f.encode({ format: 'rgba', size: 64, quality: 10 }); // native size, quality irrelevant for raw
  assert.equal(f.encodes, 3);
});

test('resize produces the requested size; raw RGBA has 4 bytes per pixel', async () => {
  const f = gradientFrame();
  const jpeg = await f.encode({ format: 'jpeg', size: 300, quality: 90 });
  const meta = await sharp(jpeg.data).metadata();
  assert.equal(meta.width, 300);
  assert.equal(meta.height, 300);
  const raw = await f.encode({ format: 'rgba', size: 32, quality: 80 });
  assert.equal(raw.data.length, 32 * 32 * 4);
  assert.equal(raw.data[3], 255);
});

test('the frame header round-trips', async () => {
  const f = gradientFrame();
  const enc = await f.encode({ format: 'jpeg', size: null, quality: 80 });
  const h = frameHeader(f.info, enc);
  assert.equal(h.length, HEADER_BYTES);
  assert.equal(h.subarray(0, 4).toString('ascii'), 'LSF1');
  const p = parseFrameHeader(h);
  assert.deepEqual(p, { index: 7, time: 0.5, width: 64, height: 64, format: 'jpeg', similarity: 0.25, payloadLength: enc.data.length });
  assert.throws(() => parseFrameHeader(Buffer.alloc(10)), /not a latentstage frame/);
});

test('the frame clock skips to the current slot instead of drifting', () => {
  assert.deepEqual(nextTick(0, 60, -1), { index: 0, frames: 1, dt: 1 / 60 });
  const wait = nextTick(5, 60, 0);
  assert.ok('wait' in wait && Math.abs(wait.wait - (1000 / 60 - 5)) < 1e-9);
  // generation took 100 ms: the next frame is slot 6, covering 6 slots of walk time
  assert.deepEqual(nextTick(100, 60, 0), { index: 6, frames: 6, dt: 6 / 60 });
});
