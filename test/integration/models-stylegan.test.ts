// StyleGAN import: NVlabs pickles and rosinality checkpoints (random-init fixtures in the real
// formats) -> model folders whose ONNX matches PyTorch, that the server plays and walks; bad input
// (hostile, truncated, other architecture, existing output) is refused and writes nothing.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { loadModel } from '../../server/model/load.ts';
import { readManifest } from '../../server/model/manifest.ts';
import { parseFrameHeader, HEADER_BYTES } from '../../server/frames/header.ts';
import { startTestServer } from '../helpers/server.ts';
import { importModel, makeFixture, maxAbsDiff, normals, tempDir, torchGenerate } from '../helpers/models.ts';

const FIXTURES = ['nvlabs-sg2'] as const;
const tmp = tempDir();
const folders: Record<string, string> = {};

before(async () => {
  for (const kind of FIXTURES) {
    const src = await makeFixture(kind, path.join(tmp, `${kind}.${kind.startsWith('rosinality') ? 'pt' : 'pkl'}`));
    folders[kind] = await importModel('stylegan', src, path.join(tmp, kind));
  }
});

for (const kind of FIXTURES) {
  test(`${kind}: the imported ONNX generator matches PyTorch on the same walk vectors`, async () => {
    const dir = folders[kind];
    const m = await readManifest(dir);
    assert.equal(m.latent?.space, 'w');
    assert.deepEqual(m.generator.truncation, { input: 'truncation', default: 1 });
    assert.ok(m.torch?.generator && existsSync(path.join(dir, m.torch.generator.weights)));
    const batch = 3;
    const z = normals(batch * m.generator.z.dim, 7);
    const model = await loadModel(dir);
    try {
      const onnx = await model.runtime.generate(z, batch);
      const ref = await torchGenerate(dir, z, batch);
      const diff = maxAbsDiff(onnx, ref);
      let peak = 0;
      for (const v of ref) peak = Math.max(peak, Math.abs(v));
      console.log(`# ${kind}: ONNX vs PyTorch max abs diff ${diff.toExponential(2)} (outputs up to ${peak.toFixed(2)}, ${m.resolution.width}px, batch ${batch})`);
      assert.ok(diff <= 1e-3, `max abs diff ${diff}`);
      assert.ok(peak > 0.05, 'the generator draws something');
    } finally {
      await model.runtime.close();
    }
  });
}

function frames(url: string, n: number): Promise<{ index: number; payload: Buffer }[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const out: { index: number; payload: Buffer }[] = [];
    ws.on('message', (data, binary) => {
      if (!binary || out.length === n) return;
      const buf = data as Buffer;
      out.push({ index: parseFrameHeader(buf).index, payload: buf.subarray(HEADER_BYTES) });
      if (out.length === n) {
        ws.close();
        resolve(out);
      }
    });
    ws.on('error', reject);
  });
}

test('the server plays an imported StyleGAN folder and walks it in W', async () => {
  const s = await startTestServer({ model: folders['nvlabs-sg2'], fps: 30 });
  try {
    const url = `${s.url.replace('http', 'ws')}/frames?format=rgba`;
    const walking = await frames(url, 12);
    assert.ok(walking.some((f) => !f.payload.equals(walking[0].payload)), 'the walk moves');
    await s.command({ type: 'set', fade: 0, speed: 0 });
    const r = await s.command({ type: 'set', truncation: 0 });
    assert.equal(r.status, 200);
    const still = (await frames(url, 4)).filter((f) => f.index > r.body.frame);
    assert.ok(still.length >= 2);
    assert.ok(still[0].payload.equals(still[1].payload), 'truncation 0 holds the centre of W');
  } finally {
    await s.stop();
  }
});

test('a hostile pickle is refused without running it, and nothing is written', async () => {
  const src = await makeFixture('hostile-pkl', path.join(tmp, 'hostile.pkl'));
  const out = path.join(tmp, 'hostile-out');
  await assert.rejects(importModel('stylegan', src, out), /refusing to load builtins\.exec/);
  assert.equal(existsSync(`${src}.pwned`), false, 'the pickle did not run');
  assert.equal(existsSync(out), false);
});

test('bad input gets a clear error and writes nothing', async () => {
  const pkl = path.join(tmp, 'nvlabs-sg2.pkl');
  const truncated = path.join(tmp, 'truncated.pkl');
  writeFileSync(truncated, readFileSync(pkl).subarray(0, 20000));
  const before = readdirSync(tmp).sort();
  await assert.rejects(importModel('stylegan', truncated, path.join(tmp, 'o1')), /truncated/);
  await assert.rejects(importModel('stylegan', pkl, folders['nvlabs-sg2']), /already exists/);
  await assert.rejects(importModel('stylegan', path.join(tmp, 'missing.pkl'), path.join(tmp, 'o2')), /does not exist/);
  const notGan = path.join(tmp, 'not-a-gan.pkl');
  await makeFixture('nvlabs-other', notGan);
  await assert.rejects(importModel('stylegan', notGan, path.join(tmp, 'o3')), /not a StyleGAN2 or StyleGAN3 generator/);
  const text = path.join(tmp, 'notes.pkl');
  writeFileSync(text, 'not a pickle');
  await assert.rejects(importModel('stylegan', text, path.join(tmp, 'o4')), /neither a pickle/);
  assert.deepEqual(readdirSync(tmp).sort(), [...before, 'not-a-gan.pkl', 'notes.pkl'].sort(), 'no output folder or staging folder left');
});

test('without a Python that has torch, import says what to install', async () => {
  const { spawnSync } = await import('node:child_process');
  const { ROOT } = await import('../../server/server.ts');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'server/bin.mjs'), 'import', 'stylegan', path.join(tmp, 'nvlabs-sg2.pkl'), '-o', path.join(tmp, 'o5')], {
    encoding: 'utf8',
    env: { ...process.env, LATENTSTAGE_PYTHON: path.join(tmp, 'no-such-python3') },
    timeout: 60_000,
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no Python 3 with PyTorch found .*no-such-python3: not found.*apt-get install --no-install-recommends python3-torch/);
  assert.equal(existsSync(path.join(tmp, 'o5')), false);
});
