// The torch runtime on the CPU (python3 + torch): the server serves frames from an imported fixture
// model through it, a killed child is reported and replaced while the server keeps serving, a child
// that keeps dying is held, shutdown ends the child, and its pictures match ONNX Runtime's on the
// same weights.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { startTestServer, waitFor } from '../helpers/server.ts';
import { importedFixture } from '../helpers/torch-model.ts';
import { parseFrameHeader } from '../../server/frames/header.ts';
import { toRgb } from '../../server/frames/rgb.ts';
import { loadModel } from '../../server/model/load.ts';
import { findPython, PythonError } from '../../server/model/python.ts';
import { TorchRuntime } from '../../server/runtime/torch.ts';
import { MAX_CRASHES, HOLD_MS } from '../../server/runtime/restarts.ts';
import { RuntimeCrashError } from '../../server/runtime/runtime.ts';
import { toEncoderInput } from '../../server/runtime/encoder-input.ts';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { capturedLogger, metric } from '../helpers/log.ts';
import { alive, childrenOf, commandLine } from '../helpers/procs.ts';

/** Tolerances against ONNX Runtime on the same weights (fp32 both sides; output range [-1, 1]). */
const FLOAT_TOL = 1e-3;
/** 8-bit RGB: the same rounding, so a value differs only where the float sits on a rounding edge. */
const RGB_TOL = 1;

/** An imported StyleGAN2 fixture with a CLIP fixture's text and image encoders added (ONNX and PyTorch both). */
const model = () => importedFixture('nvlabs-sg2', { clip: 'hf-clip' });



const latents = (n: number, dim: number, seed: number) => new Float32Array(n * dim).map((_, i) => Math.sin(seed * 7.1 + i * 1.3) * 1.2);

test('the server serves frames through the torch runtime; a killed child is reported and replaced; shutdown ends the child', async () => {
  const { logger, lines } = capturedLogger();
  const s = await startTestServer({ model: await model(), runtime: 'torch', fps: 20, logger });
  let pid = 0;
  try {
    const runtime = s.stage.model.runtime;
    assert.ok(runtime instanceof TorchRuntime, 'the model runs on the torch runtime');
    assert.equal(runtime.device, 'cpu');
    const state0 = await (await fetch(`${s.url}/api/state`)).json();
    assert.equal(state0.device, 'cpu');
    const first = runtime.pid!;
    assert.ok(first > 0 && alive(first), 'the child runs under the PID the runtime exposes');

    const viewer = new WebSocket(`${s.url.replace('http', 'ws')}/frames?format=jpeg`);
    const frames: { index: number; size: number }[] = [];
    viewer.on('message', (d, binary) => {
      if (!binary) return;
      const buf = d as Buffer;
      const h = parseFrameHeader(buf);
      frames.push({ index: h.index, size: buf.length });
    });
    await waitFor(() => frames.length > 3, 30000, 'frames before the kill');
    const { width, height } = s.stage.model.manifest.resolution;
    // a JPEG of the fixture's picture, not an empty frame
    assert.ok(frames.at(-1)!.size > 200, `a real JPEG (${frames.at(-1)!.size} bytes for ${width}x${height})`);

    // kill the child the hard way while a call is in flight
    const inFlight = runtime.generate(latents(1, s.stage.model.manifest.generator.z.dim, 1), 1);
    process.kill(first, 'SIGKILL');
    await assert.rejects(inFlight, RuntimeCrashError, 'a call in flight is rejected, not left hanging');
    const atCrash = frames.at(-1)!.index;
    await waitFor(() => lines.some((l) => l.level >= 50 && /torch runtime child process crashed/.test(l.msg)), 10000, 'the crash in the log');
    assert.equal(await metric(s.url, 'latentstage_runtime_worker_crashes_total'), 1);
    await waitFor(() => runtime.state === 'running', 60000, 'a fresh child');
    pid = runtime.pid!;
    assert.ok(pid !== first && alive(pid), 'a fresh child took over');
    await waitFor(() => frames.at(-1)!.index > atCrash + 3, 30000, 'frames after the restart');
    assert.deepEqual((await (await fetch(`${s.url}/api/state`)).json()).runtime, { worker: 'running', crashes: 1 });
    assert.ok(lines.some((l) => /torch runtime child process restarted/.test(l.msg)));
    assert.equal((await s.command({ type: 'set', speed: 0.5 })).status, 200, 'commands still apply');
    // a prompt steers by the CLIP-guided search, whose candidates go to the child a batch per call
    assert.equal((await s.command({ type: 'prompt', text: 'a red heart' })).status, 200);
    await waitFor(() => (s.steering.search?.evaluated ?? 0) > 0, 60000, 'the search to evaluate candidates');
    viewer.close();
  } finally {
    await s.stop();
  }
  assert.equal(alive(pid), false, 'shutdown ended the child');
  assert.equal(s.stage.model.runtime instanceof TorchRuntime && s.stage.model.runtime.state, 'closed');
});

test('torch frames match ONNX Runtime on the same weights', async (t) => {
  const dir = await model();
  const onnx = await loadModel(dir);
  const torch = await loadModel(dir, { runtime: 'torch', info: () => {} });
  t.after(() => Promise.all([onnx.runtime.close(), torch.runtime.close()]));
  const m = onnx.manifest;
  const dim = m.generator.z.dim;
  const batch = 3;
  const z = latents(batch, dim, 2);
  const a = await onnx.runtime.generate(z, batch);
  const b = await torch.runtime.generate(z, batch);
  assert.equal(b.length, a.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  assert.ok(worst <= FLOAT_TOL, `max |torch - onnx| = ${worst} over ${batch} pictures`);

  // a live frame: 8-bit RGB made in the child, as toRgb makes it from ONNX's floats
  const { width, height } = m.resolution;
  const one = z.subarray(0, dim);
  const frame = await torch.runtime.frame!(one, null, false);
  const want = toRgb(a, width, height, m.generator.output.range);
  assert.equal(frame.rgb.length, want.length);
  let off = 0;
  let rgbWorst = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(want[i]! - frame.rgb[i]!);
    rgbWorst = Math.max(rgbWorst, d);
    if (d) off++;
  }
  assert.ok(rgbWorst <= RGB_TOL, `8-bit values differ by at most ${RGB_TOL} (worst ${rgbWorst})`);
  assert.ok(off / want.length < 0.01, `${off} of ${want.length} values on a rounding edge`);
  t.diagnostic(`${m.id}: max |torch - onnx| ${worst.toExponential(2)} (float, ${batch} pictures); 8-bit: ${off} of ${want.length} values differ, by at most ${rgbWorst}`);

  // the search's batch call: embeddings of generated pictures, as the ONNX path computes them;
  // the live frame's embedding; the text encoder
  assert.ok(m.image && m.text && m.torch?.image && m.torch.text, 'the fixture has CLIP encoders in both formats');
  const diff = (x: Float32Array, y: Float32Array) => {
    assert.equal(x.length, y.length);
    let w = 0;
    for (let i = 0; i < x.length; i++) w = Math.max(w, Math.abs(x[i]! - y[i]!));
    return w;
  };
  const wantEmb = await onnx.runtime.encodeImage!(toEncoderInput(a, batch, m), batch);
  const ew = diff(await torch.runtime.embedLatents!(z, batch), wantEmb);
  assert.ok(ew <= FLOAT_TOL, `search embeddings: max difference ${ew}`);
  const live = await torch.runtime.frame!(one, null, true);
  const fw = diff(live.embedding!, wantEmb.subarray(0, m.image.dim));
  assert.ok(fw <= FLOAT_TOL, `live frame embedding: max difference ${fw}`);
  const len = m.text.length ?? 77;
  const ids = new BigInt64Array(2 * len);
  [49406, 320, 1125, 49407].forEach((t, i) => (ids[i] = BigInt(t % 800)));
  [49406, 2368, 49407].forEach((t, i) => (ids[len + i] = BigInt(t % 800)));
  const tw = diff(await torch.runtime.encodeText!(ids, 2), await onnx.runtime.encodeText!(ids, 2));
  assert.ok(tw <= FLOAT_TOL, `text embeddings: max difference ${tw}`);
  t.diagnostic(`embeddings: search batch ${ew.toExponential(2)}, live frame ${fw.toExponential(2)}, text ${tw.toExponential(2)}`);
});

test('a batch of candidates is one call; bad input is refused and the runtime serves on', async () => {
  const rt = (await loadModel(await model(), { runtime: 'torch', info: () => {} })).runtime as TorchRuntime;
  try {
    const dim = rt.manifest.generator.z.dim;
    const { width, height } = rt.manifest.resolution;
    const out = await rt.generate(latents(8, dim, 3), 8);
    assert.equal(out.length, 8 * 3 * width * height);
    await assert.rejects(rt.generate(new Float32Array(dim + 1), 1), RangeError);
    await assert.rejects(rt.frame(new Float32Array(3), null, false), RangeError);
    const f = await rt.frame(latents(1, dim, 4), null, false);
    assert.equal(f.rgb.length, width * height * 3);
    assert.equal(rt.crashes, 0);
  } finally {
    await rt.close();
  }
});

test('no torch: one clear message that says what to install', async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'ls-notorch-'));
  // a python3 whose torch import fails as a python without torch fails
  const fake = path.join(tmp, 'python3');
  writeFileSync(fake, `#!/bin/sh\necho "ModuleNotFoundError: No module named 'torch'" >&2\nexit 1\n`);
  chmodSync(fake, 0o755);
  await assert.rejects(findPython(fake), (err: Error) => err instanceof PythonError && /no torch module/.test(err.message) && /apt-get install --no-install-recommends python3-torch/.test(err.message) && /pip install torch/.test(err.message));
  await assert.rejects(findPython(path.join(tmp, 'nowhere', 'python3')), (err: Error) => err instanceof PythonError && /not found/.test(err.message) && /python3-torch/.test(err.message));
  // the runtime says the same at start
  const dir = await model();
  await assert.rejects(loadModel(dir, { runtime: 'torch', torch: { python: fake } }), /no torch module.*python3-torch/);
  // a folder without PyTorch weights cannot run on it, and says why
  const plain = writeFixtureModel(path.join(tmp, 'plain'));
  await assert.rejects(loadModel(plain, { runtime: 'torch' }), /no PyTorch weights.*--runtime torch/);
});

/** This process's torch runtime children (python -m latentstage.serve): ready or still starting. */
const serveChildren = () => childrenOf(process.pid).filter((pid) => commandLine(pid).includes('latentstage.serve'));

test('a child that keeps dying is held, not restarted in a loop: calls fail at once, close() does not wait out the hold', async () => {
  const rt = (await loadModel(await model(), { runtime: 'torch', info: () => {}, warn: () => {} })).runtime as TorchRuntime;
  const events: string[] = [];
  let heldFor = 0;
  rt.on('crash', () => events.push('crash'));
  rt.on('restartFailed', () => events.push('restartFailed'));
  rt.on('held', (_err, ms) => {
    events.push('held');
    heldFor = ms;
  });
  // a model that kills its child over and over (a driver fault at every load): kill each child as it appears
  const killer = setInterval(() => {
    for (const pid of serveChildren()) process.kill(pid, 'SIGKILL');
  }, 20);
  try {
    await waitFor(() => rt.state === 'held', 30_000, 'the runtime to hold');
    clearInterval(killer);
    assert.equal(events.filter((e) => e === 'crash').length, 1, events.join(' '));
    assert.equal(events.filter((e) => e === 'restartFailed').length, MAX_CRASHES - 1, events.join(' '));
    assert.equal(events.at(-1), 'held');
    assert.equal(heldFor, HOLD_MS);
    const t0 = performance.now();
    await assert.rejects(rt.frame(latents(1, rt.manifest.generator.z.dim, 1), null, false), (err: Error) => err instanceof RuntimeCrashError && /crashed 5 times in 60 s.*holding, next try in 60 s/.test(err.message));
    assert.ok(performance.now() - t0 < 1000, 'a held runtime answers at once');
    assert.deepEqual(serveChildren(), [], 'no child runs while held');
  } finally {
    clearInterval(killer);
    const t0 = performance.now();
    await rt.close();
    assert.ok(performance.now() - t0 < 10_000, `close() took ${Math.round(performance.now() - t0)} ms`);
  }
  assert.equal(rt.state, 'closed');
  assert.deepEqual(serveChildren(), []);
});
