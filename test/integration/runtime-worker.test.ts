// The runtime runs in a worker thread: a crash there is reported and recovered without stopping
// the server, and shutdown joins the thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startTestServer, waitFor } from '../helpers/server.ts';
import { parseFrameHeader } from '../../server/frames/header.ts';
import { WorkerRuntime } from '../../server/runtime/worker.ts';
import { RuntimeCrashError } from '../../server/runtime/runtime.ts';
import { RuntimePool } from '../../server/runtime/pool.ts';
import { capturedLogger, metric } from '../helpers/log.ts';



test('a runtime worker crash is reported and recovered while the server keeps serving', async () => {
  const { logger, lines } = capturedLogger();
  const s = await startTestServer({ fps: 30, logger });
  try {
    const runtime = s.stage.model.runtime;
    assert.ok(runtime instanceof WorkerRuntime, 'the server runs its runtime in a worker');
    const first = runtime.worker!;
    const viewer = new WebSocket(`${s.url.replace('http', 'ws')}/frames?format=jpeg`);
    const indexes: number[] = [];
    viewer.on('message', (d, binary) => binary && indexes.push(parseFrameHeader(d as Buffer).index));
    await waitFor(() => indexes.length > 2, 10000, 'frames before the crash');

    runtime.simulateCrash();
    const inFlight = runtime.generate(new Float32Array(s.stage.model.manifest.generator.z.dim), 1);
    await assert.rejects(inFlight, RuntimeCrashError, 'a call in flight is rejected, not left hanging');
    const atCrash = indexes.at(-1)!;

    // reported: log, /metrics counter, state
    await waitFor(() => lines.some((l) => l.level >= 50 && /runtime worker crashed/.test(l.msg)), 5000, 'the crash in the log');
    assert.equal(await metric(s.url, 'latentstage_runtime_worker_crashes_total'), 1);
    // recovered: a fresh worker, frames flow again, the state says so
    await waitFor(() => runtime.state === 'running', 20000, 'the worker to restart');
    assert.notEqual(runtime.worker, first);
    await waitFor(() => indexes.at(-1)! > atCrash + 3, 20000, 'frames after the restart');
    const state = await (await fetch(`${s.url}/api/state`)).json();
    assert.deepEqual(state.runtime, { worker: 'running', crashes: 1 });
    assert.ok(lines.some((l) => /runtime worker restarted/.test(l.msg)));
    assert.equal(s.stage.state().frame > atCrash, true);
    // commands still apply after the restart
    const r = await s.command({ type: 'set', speed: 0.5 });
    assert.equal(r.status, 200);
    viewer.close();
  } finally {
    await s.stop();
  }
});

test('shutdown joins the runtime worker', async () => {
  const s = await startTestServer({ fps: 30 });
  const runtime = s.stage.model.runtime as WorkerRuntime;
  await waitFor(() => s.stage.engine.frame > 2, 10000, 'a few frames');
  const worker = runtime.worker!;
  let exitCode: number | null = null;
  worker.once('exit', (code) => (exitCode = code));
  await s.stop();
  assert.equal(exitCode, 0, 'the worker released its sessions and exited by itself before close() resolved');
  assert.equal(runtime.worker, null);
  assert.equal(runtime.state, 'closed');
  await assert.rejects(runtime.generate(new Float32Array(s.stage.model.manifest.generator.z.dim), 1), /closed/);
});

test('the steering search goes on after a runtime worker crash', async () => {
  const s = await startTestServer({ fps: 30, fixture: { prior: false } });
  try {
    const runtime = s.stage.model.runtime as WorkerRuntime;
    assert.equal(s.steering.path, 'search');
    assert.equal((await s.command({ type: 'prompt', text: 'robot' })).status, 200);
    await waitFor(() => (s.steering.search?.evaluated ?? 0) > 0, 20000, 'the search to evaluate candidates');
    runtime.simulateCrash();
    await waitFor(() => runtime.crashes === 1 && runtime.state === 'running', 20000, 'the worker to restart');
    // whether a call was in flight (the search starts over) or not (it just goes on)
    const after = s.steering.search;
    const seen = after?.evaluated ?? 0;
    await waitFor(() => s.steering.search !== null && (s.steering.search !== after || s.steering.search.evaluated > seen), 20000, 'the search to evaluate candidates again');
  } finally {
    await s.stop();
  }
});

test('uncapped with two workers: frames arrive in order, a worker crash is recovered, shutdown joins both', async () => {
  const { logger, lines } = capturedLogger();
  const s = await startTestServer({ fps: 0, workers: 2, logger });
  try {
    await twoWorkers(s, lines);
  } finally {
    await s.stop();
  }
});

async function twoWorkers(s: Awaited<ReturnType<typeof startTestServer>>, lines: { level: number; msg: string }[]): Promise<void> {
  const pool = s.stage.model.runtime;
  assert.ok(pool instanceof RuntimePool, 'the server runs a pool of workers');
  assert.equal(pool.lanes, 2);
  const viewer = new WebSocket(`${s.url.replace('http', 'ws')}/frames?format=jpeg`);
  const indexes: number[] = [];
  viewer.on('message', (d, binary) => binary && indexes.push(parseFrameHeader(d as Buffer).index));
  await waitFor(() => indexes.length > 20, 10000, 'uncapped frames');
  pool.members[1].simulateCrash();
  await waitFor(() => lines.some((l) => l.level >= 50 && /runtime worker crashed/.test(l.msg)), 5000, 'the crash in the log');
  await waitFor(() => pool.state === 'running', 20000, 'the worker to restart');
  const atRestart = indexes.at(-1)!;
  await waitFor(() => indexes.at(-1)! > atRestart + 20, 20000, 'frames after the restart');
  assert.deepEqual((await (await fetch(`${s.url}/api/state`)).json()).runtime, { worker: 'running', crashes: 1 });
  assert.equal(await metric(s.url, 'latentstage_runtime_worker_crashes_total'), 1);
  // prompts are encoded by the first worker, the only one with the text encoder and prior
  assert.ok(!pool.members[1].encodeText && !pool.members[1].prior);
  const prompted = await s.command({ type: 'prompt', text: 'robot' });
  assert.equal(prompted.status, 200, JSON.stringify(prompted.body));
  assert.equal(prompted.body.prompt.text, 'robot');
  viewer.close();
  for (let i = 1; i < indexes.length; i++) assert.ok(indexes[i] > indexes[i - 1], `frame ${indexes[i]} after ${indexes[i - 1]}`);
  const exits = pool.members.map((m) => new Promise<number>((r) => m.worker!.once('exit', r)));
  await s.stop(); // (stopping twice is harmless: close() is idempotent)
  assert.deepEqual(await Promise.all(exits), [0, 0], 'both workers released their sessions and exited');
  assert.equal(pool.state, 'closed');
}
