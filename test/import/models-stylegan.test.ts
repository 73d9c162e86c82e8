// StyleGAN import: NVlabs pickles and rosinality checkpoints (random-init fixtures in the real
// formats) -> model folders whose ONNX matches PyTorch, that the server plays and walks; bad input
// (hostile, truncated, other architecture, existing output) is refused and writes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { loadModel } from '../../server/model/load.ts';
import { readManifest } from '../../server/model/manifest.ts';
import { parseFrameHeader, HEADER_BYTES } from '../../server/frames/header.ts';
import { startTestServer } from '../helpers/server.ts';
import { importModel, makeFixture, maxAbsDiff, normals, tempDir, torchGenerate } from '../helpers/models.ts';

const FIXTURES = ['nvlabs-sg2', 'nvlabs-sg3', 'nvlabs-sg3r', 'rosinality-sg2'] as const;
/** Imported and checked against PyTorch: the above plus a class-conditional StyleGAN2-ADA. */
const IMPORTED = [...FIXTURES, 'nvlabs-sg2-cond'] as const;
const tmp = tempDir();
const folders: Record<string, string> = {};

before(async () => {
  for (const kind of IMPORTED) {
    const src = await makeFixture(kind, path.join(tmp, `${kind}.${kind.startsWith('rosinality') ? 'pt' : 'pkl'}`));
    folders[kind] = await importModel('stylegan', src, path.join(tmp, kind));
  }
});

after(() => rmSync(tmp, { recursive: true, force: true }));

for (const kind of IMPORTED) {
  test(`${kind}: the imported ONNX generator matches PyTorch on the same walk vectors`, async () => {
    const dir = folders[kind];
    const m = await readManifest(dir);
    assert.equal(m.latent?.space, 'w');
    assert.equal(m.torch?.generator?.arch, kind.startsWith('nvlabs-sg3') ? 'stylegan3' : 'stylegan2');
    assert.deepEqual(m.generator.truncation, { input: 'truncation', default: 1 });
    assert.ok(m.torch?.generator && existsSync(path.join(dir, m.torch.generator.weights)));
    const batch = 3;
    const z = normals(batch * m.generator.z.dim, 7);
    const cdim = m.generator.condition?.dim ?? 0;
    assert.equal(cdim, kind.endsWith('-cond') ? 4 : 0);
    // one class, another class, a half-half blend of two
    const condition = cdim ? Float32Array.from({ length: batch * cdim }, (_, i) => [[1, 0, 0, 0], [0, 0, 1, 0], [0.5, 0.5, 0, 0]][Math.floor(i / cdim)][i % cdim]) : undefined;
    const model = await loadModel(dir);
    try {
      const onnx = await model.runtime.generate(z, batch, condition);
      const ref = await torchGenerate(dir, z, batch, { condition });
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

test('the imported generators compute what the original code bases compute (NVlabs fused ops, rosinality modules)', async () => {
  const { spawnSync } = await import('node:child_process');
  const { findPython, PYTHON_PACKAGE_ROOT } = await import('../../server/model/python.ts');
  const { ROOT } = await import('../../server/server.ts');
  const py = await findPython();
  for (const kind of FIXTURES) {
    const src = path.join(tmp, `${kind}.${kind.startsWith('rosinality') ? 'pt' : 'pkl'}`);
    const r = spawnSync(py.executable, [path.join(ROOT, 'test/python/stylegan_reference.py'), kind, src, folders[kind]], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: PYTHON_PACKAGE_ROOT },
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    console.log(`# ${kind}: against the original's forward pass, mapping max abs diff ${out.mapping.toExponential(2)}, image ${out.image.toExponential(2)} (peak ${out.peak.toFixed(2)})`);
    assert.ok(out.mapping <= 1e-4 && out.image <= 1e-3, JSON.stringify(out));
  }
});

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

for (const [kind, file, load, refusal] of [
  ['hostile-pkl', 'hostile.pkl', 'import pickle, sys; pickle.load(open(sys.argv[1], "rb"))', /refusing to load builtins\.exec/],
  ['hostile-pt', 'hostile.pt', 'import torch, sys; torch.load(sys.argv[1])', /refused: the archive asks for (__builtin__|builtins)\.exec/],
] as const) {
  test(`${kind}: a hostile ${path.extname(file)} is refused without running it, and nothing is written`, async () => {
    const src = await makeFixture(kind, path.join(tmp, file));
    const out = path.join(tmp, `${kind}-out`);
    await assert.rejects(importModel('stylegan', src, out), refusal);
    assert.equal(existsSync(`${src}.pwned`), false, 'the file did not run');
    assert.equal(existsSync(out), false);
    // and the fixture is really hostile: an unrestricted load runs it and writes the file
    const { spawnSync } = await import('node:child_process');
    const { findPython } = await import('../../server/model/python.ts');
    const py = await findPython();
    const r = spawnSync(py.executable, ['-c', load, src], { encoding: 'utf8', timeout: 60_000 });
    assert.ok(existsSync(`${src}.pwned`), `an unrestricted load runs it (${r.stderr.slice(-200)})`);
  });
}

test('bad input gets a clear error and writes nothing', async () => {
  const pkl = path.join(tmp, 'nvlabs-sg2.pkl');
  const truncated = path.join(tmp, 'truncated.pkl');
  writeFileSync(truncated, readFileSync(pkl).subarray(0, 20000));
  const truncatedPt = path.join(tmp, 'truncated.pt');
  writeFileSync(truncatedPt, readFileSync(path.join(tmp, 'rosinality-sg2.pt')).subarray(0, 50000));
  const before = readdirSync(tmp).sort();
  await assert.rejects(importModel('stylegan', truncated, path.join(tmp, 'o1')), /truncated/);
  await assert.rejects(importModel('stylegan', truncatedPt, path.join(tmp, 'o1')), /truncated/);
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

test('--fp16 stores the weights as float16: a smaller file, the same picture within float16 rounding', async () => {
  const { statSync } = await import('node:fs');
  for (const kind of ['nvlabs-sg2', 'nvlabs-sg3'] as const) {
    const src = path.join(tmp, `${kind}.pkl`);
    const dir = await importModel('stylegan', src, path.join(tmp, `${kind}-fp16`), ['--fp16']);
    const m = await readManifest(dir);
    assert.equal(m.torch?.generator?.dtype, 'float16');
    const full = statSync(path.join(folders[kind], 'generator.onnx')).size;
    const half = statSync(path.join(dir, 'generator.onnx')).size;
    const batch = 3;
    const z = normals(batch * m.generator.z.dim, 11);
    const model = await loadModel(dir);
    try {
      const onnx = await model.runtime.generate(z, batch);
      const ref = await torchGenerate(folders[kind], z, batch); // the float32 network
      const diff = maxAbsDiff(onnx, ref);
      let sq = 0;
      for (let i = 0; i < ref.length; i++) sq += (Math.max(-1, Math.min(1, onnx[i])) - Math.max(-1, Math.min(1, ref[i]))) ** 2;
      const psnr = 10 * Math.log10(4 / (sq / ref.length));
      console.log(`# ${kind} --fp16: generator.onnx ${(half / 1024).toFixed(0)} KB vs ${(full / 1024).toFixed(0)} KB; vs float32 PyTorch max abs diff ${diff.toExponential(2)}, PSNR ${psnr.toFixed(1)} dB (pixels in [-1, 1])`);
      assert.ok(half < full * 0.7, `${half} vs ${full}`);
      assert.ok(psnr > 40, `PSNR ${psnr}`);
    } finally {
      await model.runtime.close();
    }
  }
});
