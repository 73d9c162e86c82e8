import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { Frame } from '../../server/frames/frame.ts';
import { toRgb } from '../../server/frames/rgb.ts';
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

/** Reference bilinear upscale (pixel-centre aligned) of interleaved RGB. */
function bilinear(src: Buffer, w: number, W: number): Buffer {
  const out = Buffer.alloc(W * W * 3);
  const f = W / w;
  const at = (v: number) => Math.min(w - 1, Math.max(0, (v + 0.5) / f - 0.5));
  for (let Y = 0; Y < W; Y++) {
    for (let X = 0; X < W; X++) {
      const fx = at(X);
      const fy = at(Y);
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const x1 = Math.min(w - 1, x0 + 1);
      const y1 = Math.min(w - 1, y0 + 1);
      const tx = fx - x0;
      const ty = fy - y0;
      for (let c = 0; c < 3; c++) {
        const p = (x: number, y: number) => src[(y * w + x) * 3 + c]!;
        out[(Y * W + X) * 3 + c] = Math.round((p(x0, y0) * (1 - tx) + p(x1, y0) * tx) * (1 - ty) + (p(x0, y1) * (1 - tx) + p(x1, y1) * tx) * ty);
      }
    }
  }
  return out;
}

test('upscaled frames are bilinear interpolations: smooth, not blocky, not shifted', async () => {
  // a disc with a hard edge, off-centre: blocks (nearest) or a shift would both show
  const w = 64;
  const data = new Float32Array(3 * w * w);
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < w; x++) {
      const inside = (x - 30.5) ** 2 + (y - 33.5) ** 2 < 20 ** 2 ? 1 : -1;
      data[y * w + x] = inside;
      data[w * w + y * w + x] = -inside;
      data[2 * w * w + y * w + x] = (x / (w - 1)) * 2 - 1;
    }
  }
  const rgb = toRgb(data, w, w, [-1, 1]);
  const f = new Frame({ index: 1, time: 0, readyAt: 0, similarity: NaN }, rgb, w, w);
  const psnr = (a: Buffer, b: Buffer) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
    return 10 * Math.log10(255 ** 2 / (s / a.length));
  };
  for (const size of [128, 256]) {
    const raw = await f.encode({ format: 'rgba', size, quality: 80 });
    assert.equal(raw.width, size);
    const got = await sharp(raw.data, { raw: { width: size, height: size, channels: 4 } }).removeAlpha().raw().toBuffer();
    const reference = bilinear(rgb, w, size);
    const nearest = await sharp(rgb, { raw: { width: w, height: w, channels: 3 } }).resize({ width: size, height: size, kernel: 'nearest', fit: 'fill' }).raw().toBuffer();
    const vsBilinear = psnr(got, reference);
    assert.ok(vsBilinear > 40, `${size}: bilinear (${vsBilinear.toFixed(1)} dB from the reference)`);
    assert.ok(vsBilinear > psnr(nearest, reference) + 10, `${size}: not blocky (nearest is ${psnr(nearest, reference).toFixed(1)} dB away)`);
  }
});
