// Faults of the model and its runtime, made for real: a fixture generator that outputs NaN or fails
// while the walk is at latents the test chooses (stored keyframes), a runtime worker thread that
// dies every time it comes back up, and model files that are truncated, garbage or missing. The
// picture holds its last good frame, the server says so in /health, the state and /metrics, and
// retries with backoff instead of spinning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import WebSocket from 'ws';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { counter } from '../helpers/fuzz.ts';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { parseFrameHeader } from '../../server/frames/header.ts';
import { WorkerRuntime } from '../../server/runtime/worker.ts';
import { MAX_CRASHES } from '../../server/runtime/restarts.ts';
import { ROOT } from '../../server/server.ts';

const Z = 16;
/** A stored keyframe latent: z[k] = value, the rest 0.5 (z = truncation x key, so 1e5 is far beyond any threshold). */
const key = (k: number | null, value = 1e5) => Array.from({ length: Z }, (_, i) => (i === k ? value : 0.5));
const health = async (s: TestServer) => (await fetch(`${s.url}/health`)).json();
const faultOf = async (s: TestServer, kind: string) => ((await health(s)).faults as { kind: string; message: string; count: number }[]).find((f) => f.kind === kind);

/** JPEG frames a viewer receives, with the spread of their pixel values (a NaN frame would be flat). */
function viewer(s: TestServer) {
  const ws = new WebSocket(`${s.url.replace('http', 'ws')}/frames?format=jpeg`);
  const frames: { index: number; at: number; jpeg: Buffer }[] = [];
  ws.on('message', (d, binary) => {
    if (!binary) return;
    const buf = d as Buffer;
    const h = parseFrameHeader(buf);
    frames.push({ index: h.index, at: performance.now(), jpeg: buf.subarray(buf.length - h.payloadLength) });
  });
  return { ws, frames };
}

async function spread(jpeg: Buffer): Promise<number> {
  const { channels } = await sharp(jpeg).stats();
  return Math.max(...channels.map((c) => c.stdev));
}

test('a model that outputs NaN on a schedule: NaN frames are never sent, the last good frame stays, they are counted', { timeout: 120_000 }, async () => {
  const s = await startTestServer({ fps: 30, fixture: { nanAbove: 1000 } });
  try {
    const v = viewer(s);
    await waitFor(() => v.frames.length > 5, 10_000, 'good frames');
    assert.equal((await health(s)).ok, true);
    // alternate a poisoned key and a good one every 0.3 s: about half the frames come out NaN
    assert.equal((await s.command({ type: 'set', fade: 0 })).status, 200);
    const poisonedFrom = v.frames.length;
    const r = await s.command({ type: 'keyframes', keys: [key(0), key(null)], hold: 0.3, transition: 0.05 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitFor(async () => (await counter(s.url, 'latentstage_frames_nonfinite_total')) > 10, 30_000, 'NaN frames');
    const seen = v.frames.length;
    await waitFor(() => v.frames.length > seen + 10, 30_000, 'good frames between the NaN ones');
    const f = await faultOf(s, 'frames');
    assert.ok(f, 'the frames fault is listed');
    assert.match(f.message, /NaN or infinite.*last good frame/);
    assert.ok(f.count > 10, `count ${f.count}`);
    const h = await health(s);
    assert.equal(h.ok, false);
    assert.equal(h.status, 'degraded');
    assert.deepEqual((await (await fetch(`${s.url}/api/state`)).json()).faults.map((x: { kind: string }) => x.kind), ['frames']);
    assert.ok((await counter(s.url, 'latentstage_faults_total', 'kind="frames"')) >= 1);
    // every frame sent while NaN came and went is a picture (the fixture's blobs), none the flat frame NaN would make
    for (const fr of v.frames.slice(poisonedFrom, poisonedFrom + 120)) assert.ok((await spread(fr.jpeg)) > 3, `frame ${fr.index} is flat`);
    // back to good latents only: the fault clears after a quiet while
    await s.command({ type: 'keyframes', keys: [key(null)], hold: 1, transition: 0.05 });
    await waitFor(async () => !(await faultOf(s, 'frames')), 30_000, 'the fault to clear');
    assert.equal((await health(s)).ok, true);
    v.ws.close();
  } finally {
    await s.stop();
  }
});

test('a generator that fails: retried with backoff (not a tight loop), the last frame holds, the fault says so, and it recovers', { timeout: 120_000 }, async () => {
  const s = await startTestServer({ fps: 30, fixture: { failAbove: 1000 } });
  try {
    const v = viewer(s);
    await waitFor(() => v.frames.length > 5, 10_000, 'good frames');
    await s.command({ type: 'set', fade: 0 });
    await s.command({ type: 'keyframes', keys: [key(1)], hold: 1, transition: 0.05 });
    await waitFor(async () => !!(await faultOf(s, 'frames')), 10_000, 'the frames fault');
    const f = (await faultOf(s, 'frames'))!;
    assert.match(f.message, /frames are failing \(.*Reshape.*\): holding the last frame, retrying every/);
    // the loop backs off to one try every 2 s: over 4 s at most a few tries, where 100 ms would make 40
    await new Promise((r) => setTimeout(r, 2500));
    const before = await counter(s.url, 'latentstage_frame_failures_total');
    const sent = v.frames.length;
    await new Promise((r) => setTimeout(r, 4000));
    const tries = (await counter(s.url, 'latentstage_frame_failures_total')) - before;
    assert.ok(tries >= 1 && tries <= 4, `${tries} tries in 4 s`);
    assert.equal(v.frames.length, sent, 'no frame sent while failing');
    // the last good frame is still what a new client gets
    assert.equal((await fetch(`${s.url}/frame.jpg`)).status, 200);
    // a good latent again: frames come back and the fault clears
    await s.command({ type: 'keyframes', keys: [key(null)], hold: 1, transition: 0.05 });
    await waitFor(() => v.frames.length > sent + 5, 10_000, 'frames after recovery');
    await waitFor(async () => !(await faultOf(s, 'frames')), 10_000, 'the fault to clear');
    v.ws.close();
  } finally {
    await s.stop();
  }
});

test('a runtime worker that crashes whenever it comes up: restarts back off, then it holds the last frame and says so', { timeout: 180_000 }, async () => {
  const s = await startTestServer({ fps: 30 });
  try {
    const runtime = s.stage.model.runtime as WorkerRuntime;
    const v = viewer(s);
    await waitFor(() => v.frames.length > 5, 10_000, 'frames before the crashes');
    const crashes: number[] = [];
    runtime.on('crash', () => crashes.push(performance.now()));
    // the thread dies of an uncaught error each time a fresh one is ready: a crash loop
    runtime.on('restart', () => runtime.simulateCrash());
    runtime.simulateCrash();
    await waitFor(() => runtime.state === 'held', 150_000, 'the runtime to hold'); // five worker starts: slow on a loaded machine
    assert.equal(crashes.length, MAX_CRASHES);
    // restarts waited 0, 0.25, 1 and 5 s: not a tight loop
    const gaps = crashes.slice(1).map((t, i) => t - crashes[i]);
    assert.ok(gaps[1] >= 250 && gaps[2] >= 1000 && gaps[3] >= 5000, `gaps between crashes ${gaps.map(Math.round)}`);
    const state = await (await fetch(`${s.url}/api/state`)).json();
    assert.deepEqual(state.runtime, { worker: 'held', crashes: MAX_CRASHES });
    const f = await faultOf(s, 'runtime');
    assert.ok(f);
    assert.match(f.message, /keeps crashing.*holding the last frame, next try in 60 s/);
    assert.equal(await counter(s.url, 'latentstage_runtime_worker_crashes_total'), MAX_CRASHES);
    // held: no new thread, the frame loop tries at most every 2 s, the last frame is served
    const sent = v.frames.length;
    const before = await counter(s.url, 'latentstage_frame_failures_total');
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(runtime.crashes, MAX_CRASHES);
    assert.equal(runtime.worker, null);
    assert.ok((await counter(s.url, 'latentstage_frame_failures_total')) - before <= 3);
    assert.equal(v.frames.length, sent);
    assert.equal((await fetch(`${s.url}/frame.jpg`)).status, 200);
    // commands still apply while held
    assert.equal((await s.command({ type: 'set', speed: 0.5 })).status, 200);
    v.ws.close();
  } finally {
    const t0 = performance.now();
    await s.stop();
    assert.ok(performance.now() - t0 < 5000, 'shutdown does not wait out the hold');
  }
});

test('a truncated or garbage ONNX file, or a manifest naming a missing file: serve stops at start with an error naming the file', { timeout: 480_000 }, async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-badmodel-'));
  const serve = (model: string) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'serve', '--model', model, '--port', '0', '--presets', path.join(tmp, 'presets')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const t = setTimeout(() => child.kill('SIGKILL'), 150_000);
      child.on('exit', (code) => {
        clearTimeout(t);
        resolve({ code, out });
      });
    });
  try {
    const truncated = writeFixtureModel(path.join(tmp, 'truncated'));
    const gen = path.join(truncated, 'generator.onnx');
    writeFileSync(gen, readFileSync(gen).subarray(0, 2000));
    const garbage = writeFixtureModel(path.join(tmp, 'garbage'));
    writeFileSync(path.join(garbage, 'image_encoder.onnx'), 'this is not an ONNX file\n');
    const missing = writeFixtureModel(path.join(tmp, 'missing'));
    rmSync(path.join(missing, 'prior.onnx'));
    for (const [model, file] of [
      [truncated, 'generator.onnx'],
      [garbage, 'image_encoder.onnx'],
      [missing, 'prior.onnx'],
    ]) {
      const { code, out } = await serve(model);
      assert.equal(code, 1, `serve with a bad ${file} exits 1: ${out}`);
      assert.match(out, new RegExp(`latentstage: .*${file.replace('.', '\\.')}`), out);
      assert.doesNotMatch(out, /control page/);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
