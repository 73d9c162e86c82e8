// Frames as latents (/frames?format=latent) and the model files a browser may fetch to draw them
// (/api/model/files/...): exactly the generator's inputs for each frame, only the files the
// manifest lists, with caching headers, and clear refusals for everything else.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { writeBrowserModel } from '../helpers/browser-model.ts';
import { parseFrameHeader, HEADER_BYTES } from '../../server/frames/header.ts';
import { readManifest } from '../../server/model/manifest.ts';
import type { Frame } from '../../server/frames/frame.ts';

const Z = 16;
const C = 3;
const browserModel = writeBrowserModel;

function latentFrames(url: string, n: number): Promise<{ header: ReturnType<typeof parseFrameHeader>; payload: Buffer }[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const out: { header: ReturnType<typeof parseFrameHeader>; payload: Buffer }[] = [];
    ws.on('message', (data, binary) => {
      if (!binary || out.length === n) return;
      const buf = data as Buffer;
      out.push({ header: parseFrameHeader(buf), payload: buf.subarray(HEADER_BYTES) });
      if (out.length === n) {
        ws.close();
        resolve(out);
      }
    });
    ws.on('error', reject);
  });
}

describe('latent frames and browser model files', () => {
  let s: TestServer;
  let tmp: string;
  const seen = new Map<number, Frame>();
  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-latent-'));
    s = await startTestServer({ model: browserModel(path.join(tmp, 'model')), fps: 30 });
    s.stage.on('frame', (f) => seen.set(f.info.index, f));
  });
  after(async () => {
    await s.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('each latent message holds the z and condition the frame was generated from', async () => {
    const frames = await latentFrames(`${s.url.replace('http', 'ws')}/frames?format=latent`, 5);
    const m = s.stage.model.manifest;
    for (const { header, payload } of frames) {
      assert.equal(header.format, 'latent');
      assert.equal(header.width, m.resolution.width);
      assert.equal(header.height, m.resolution.height);
      assert.equal(header.payloadLength, 4 * (Z + C));
      assert.equal(payload.length, 4 * (Z + C));
      const f = seen.get(header.index);
      if (!f) continue; // the first message may be the frame published before we listened
      const floats = new Float32Array(payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.length));
      assert.deepEqual([...floats.subarray(0, Z)], [...f.latent!.z]);
      assert.deepEqual([...floats.subarray(Z)], [...(f.latent!.condition ?? new Float32Array(C))]);
    }
    assert.ok(frames.filter((f) => seen.has(f.header.index)).length >= 4, 'latents match frames the stage published');
  });

  test('latent viewers are counted as their own surface', async () => {
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/frames?format=latent`);
    await new Promise((r) => ws.once('message', r));
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /latentstage_viewers\{surface="latent"\} 1/);
    ws.close();
  });

  test('format=latent takes no size or quality; an unknown format names latent', async () => {
    for (const [q, why] of [
      ['format=latent&size=256', /format=latent takes no size/],
      ['format=png', /jpeg or rgba \(or latent/],
    ] as const) {
      const res = await new Promise<string>((resolve) => {
        const ws = new WebSocket(`${s.url.replace('http', 'ws')}/frames?${q}`);
        ws.on('unexpected-response', (_req, r) => {
          let body = '';
          r.on('data', (d) => (body += d));
          r.on('end', () => resolve(`${r.statusCode} ${body}`));
        });
        ws.on('error', () => {});
      });
      assert.match(res, /^400 /);
      assert.match(res, why);
    }
  });

  test('/api/model says which files a browser needs, and serves exactly those with caching headers', async () => {
    const info = await (await fetch(`${s.url}/api/model`)).json();
    assert.equal(info.browser.render, true);
    assert.deepEqual(info.browser.files.map((f: { name: string }) => f.name), ['generator.onnx', 'refiner.onnx']);
    const gen = info.browser.files[0];
    const onDisk = readFileSync(path.join(s.modelDir, 'generator.onnx'));
    assert.equal(gen.bytes, onDisk.length);

    const res = await fetch(`${s.url}${gen.url}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(onDisk));

    const plain = await fetch(`${s.url}/api/model/files/generator.onnx`);
    assert.equal(plain.headers.get('cache-control'), 'no-cache');
    const etag = plain.headers.get('etag');
    assert.ok(etag);
    await plain.arrayBuffer();
    const again = await fetch(`${s.url}/api/model/files/generator.onnx`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);

    // a stale version is served, but not as immutable
    const stale = await fetch(`${s.url}/api/model/files/generator.onnx?v=0000000000000000`);
    assert.equal(stale.headers.get('cache-control'), 'no-cache');
    await stale.arrayBuffer();
  });

  test('files the manifest does not list for browsers are refused', async () => {
    for (const p of ['latentstage.json', 'tokenizer.json', '..%2Flatentstage.json', '../../package.json', 'nope.onnx']) {
      const res = await fetch(`${s.url}/api/model/files/${p}`);
      assert.equal(res.status, 404, p);
      await res.arrayBuffer();
    }
  });
});

test('a model that browsers may not draw serves no files and says so', async () => {
  const s = await startTestServer();
  try {
    const info = await (await fetch(`${s.url}/api/model`)).json();
    assert.deepEqual(info.browser, { render: false, files: [] });
    const res = await fetch(`${s.url}/api/model/files/generator.onnx`);
    assert.equal(res.status, 404);
    assert.match((await res.json()).error, /not rendered in browsers/);
  } finally {
    await s.stop();
  }
});

test('the manifest refuses browser files it does not name, or a browser set missing the refiner', async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-latent-'));
  try {
    browserModel(path.join(tmp, 'a'), { render: true, files: ['generator.onnx', 'refiner.onnx', 'secret.bin'] });
    await assert.rejects(readManifest(path.join(tmp, 'a')), /browser\.files.*secret\.bin is not a file this manifest names/);
    browserModel(path.join(tmp, 'b'), { render: true, files: ['generator.onnx'] });
    await assert.rejects(readManifest(path.join(tmp, 'b')), /must list refiner\.onnx/);
    browserModel(path.join(tmp, 'c'), { render: false, files: [] });
    assert.equal((await readManifest(path.join(tmp, 'c'))).browser?.render, false);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
