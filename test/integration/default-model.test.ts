// The shipped default model served for real: frames, the JPEG snapshot and offline renders carry
// the refined 256 x 256 picture, and a prompt still steers it (the image encoder reads the refined frames).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import sharp from 'sharp';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { parseFrameHeader, HEADER_BYTES } from '../../server/frames/header.ts';
import { DEFAULT_MODEL } from '../../server/server.ts';
import { main } from '../../server/cli.ts';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeVideo } from '../helpers/media.ts';

let s: TestServer;
before(async () => {
  s = await startTestServer({ model: DEFAULT_MODEL, fps: 30 });
});
after(async () => {
  await s.stop();
});

test('the default model serves 256 x 256 frames refined from its 64 px generator', async () => {
  const m = s.stage.model.manifest;
  assert.deepEqual(m.resolution, { width: 256, height: 256 });
  assert.equal(m.refiner?.scale, 4);
  const frame = await new Promise<Buffer>((resolve, reject) => {
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/frames?format=rgba`);
    ws.on('message', (data, binary) => {
      if (!binary) return;
      ws.close();
      resolve(data as Buffer);
    });
    ws.on('error', reject);
  });
  const header = parseFrameHeader(frame);
  assert.equal(header.width, 256);
  assert.equal(header.height, 256);
  assert.equal(frame.length - HEADER_BYTES, 256 * 256 * 4);

  const jpeg = Buffer.from(await (await fetch(`${s.url}/frame.jpg`)).arrayBuffer());
  const meta = await sharp(jpeg).metadata();
  assert.deepEqual([meta.width, meta.height], [256, 256]);
});

test('a prompt steers the refined picture toward it (the encoder reads the refined frames)', async () => {
  const similarity = () => s.stage.state().similarity;
  const res = await s.command({ type: 'prompt', text: 'fire', fade: 0.5 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  // the model card reports about 0.8 for fire once the walk arrives; an unrelated frame scores far lower
  await waitFor(() => (similarity() ?? 0) > 0.6, 20000, 'the similarity to fire to pass 0.6');
  // and the frames a viewer receives carry it too
  const frame = s.stage.latest!;
  assert.ok(frame.info.similarity > 0.6, `frame ${frame.info.index} similarity ${frame.info.similarity}`);
});

test('render draws the refined 256 px picture offline too', async () => {
  const presets = path.join(s.tmp, 'render-presets');
  mkdirSync(presets, { recursive: true });
  writeFileSync(path.join(presets, 'drift.json'), JSON.stringify({ seed: 5, params: { mode: 'loop', period: 4 } }));
  const out = path.join(s.tmp, 'drift.mp4');
  const frames = path.join(s.tmp, 'drift-frames');
  const code = await main(['render', '--preset', 'drift', '--duration', '0.2', '--fps', '10', '-o', out, '--model', DEFAULT_MODEL, '--presets', presets, '--frames', frames]);
  assert.equal(code, 0);
  const v = await decodeVideo(out);
  assert.deepEqual([v.width, v.height, v.frames], [256, 256, 2]);
  const png = readFileSync(path.join(frames, 'frame-000001.png'));
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [256, 256], 'PNG size (IHDR)');
});
