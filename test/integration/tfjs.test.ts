import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import sharp from 'sharp';
import { startTestServer } from '../helpers/server.ts';
import { writeTfjsFixtureModel } from '../fixtures/tfjs.ts';
import { parseFrameHeader, HEADER_BYTES } from '../../server/frames/header.ts';

test('the server serves frames from a TF.js model folder', async () => {
  const model = await writeTfjsFixtureModel(path.join(mkdtempSync(path.join(tmpdir(), 'ls-tfjs-')), 'model'));
  const s = await startTestServer({ model, fps: 20 });
  try {
    const info = await (await fetch(`${s.url}/api/model`)).json();
    assert.equal(info.manifest.runtime, 'tfjs');
    assert.equal(info.device, 'cpu');
    const frames = await new Promise<Buffer[]>((resolve, reject) => {
      const ws = new WebSocket(`${s.url.replace('http', 'ws')}/frames?format=jpeg&size=128`);
      const out: Buffer[] = [];
      ws.on('message', (data, binary) => {
        if (!binary) return;
        out.push(data as Buffer);
        if (out.length === 3) {
          ws.close();
          resolve(out);
        }
      });
      ws.on('error', reject);
    });
    for (const f of frames) {
      const header = parseFrameHeader(f);
      assert.equal(header.format, 'jpeg');
      assert.equal(header.width, 128);
      const image = sharp(f.subarray(HEADER_BYTES));
      assert.equal((await image.metadata()).width, 128);
      // a drawn image, not a blank one
      const { channels } = await image.stats();
      assert.ok(channels.some((c) => c.stdev > 5), 'frame has visible structure');
    }
    const seeded = await s.command({ type: 'seed', seed: 7 });
    assert.equal(seeded.status, 200);
    assert.equal(seeded.body.seed, 7);
  } finally {
    await s.stop();
  }
});
