// Text steering on a live server: the search runs between frames while the loop keeps its rate;
// acks carry warnings and errors; /metrics and the frame header carry the similarity.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { parseFrameHeader } from '../../server/frames/header.ts';

describe('steering on a live server (fixture model without a prior: CLIP-guided search)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ fps: 30, fixture: { prior: false } });
  });
  after(() => server.stop());

  test('the frame loop keeps producing consecutive frames while the search runs', async () => {
    const { stage } = server;
    const res = await server.command({ type: 'prompt', text: 'robot | red heart:0.5', fade: 1 });
    assert.equal(res.status, 200);
    assert.equal(res.body.steering.path, 'search');
    const indices: number[] = [];
    const onFrame = (f: { info: { index: number } }) => indices.push(f.info.index);
    stage.on('frame', onFrame);
    await waitFor(() => indices.length >= 60, 20_000, '60 frames');
    stage.off('frame', onFrame);
    // Behaviour, not timing: frames keep coming and indices advance by ~1 (a busy CI machine may
    // skip some slots; the benchmark measures the rate).
    const steps = indices.slice(1).map((v, i) => v - indices[i]!);
    const average = (indices.at(-1)! - indices[0]!) / steps.length;
    assert.ok(average < 2.5, `frame indices advance by ~1 (average ${average.toFixed(2)}): ${steps.join(',')}`);
    assert.ok(steps.filter((d) => d === 1).length >= steps.length / 2, `mostly consecutive: ${steps.join(',')}`);
    const state = () => stage.state() as unknown as { steering: { search: { generation: number } }; similarity: number | null };
    await waitFor(() => state().steering.search.generation >= 2, 20_000, 'two search generations');
    assert.equal(typeof state().similarity, 'number');
  });

  test('similarity is in the frame header and in /metrics, which holds the last measured value across a prompt change', async () => {
    const { stage } = server;
    const gauge = async () => (await stage.metrics.registry.metrics()).match(/^latentstage_similarity (\S+)$/m)![1]!;
    assert.ok(Number.isFinite(Number(await gauge())), 'measured under the first test\'s prompt');
    // The frames in flight across the change were asked under the old prompt: they are not
    // measured (NaN in their header), and the gauge keeps the last measured value meanwhile.
    const readings: string[] = [];
    const onFrame = () => void gauge().then((g) => readings.push(g));
    stage.on('frame', onFrame);
    await server.command({ type: 'prompt', text: 'fire' });
    await waitFor(() => readings.length >= 6, 20_000, '6 frames after the change');
    stage.off('frame', onFrame);
    assert.ok(readings.every((g) => Number.isFinite(Number(g))), `gauge after each frame: ${readings.join(', ')}`);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/frames?format=rgba`);
    try {
      const header = await new Promise<ReturnType<typeof parseFrameHeader>>((resolve, reject) => {
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          if (!isBinary) return; // JSON state messages
          const h = parseFrameHeader(data);
          if (Number.isFinite(h.similarity)) resolve(h);
        });
        ws.on('error', reject);
      });
      assert.ok(header.similarity >= -1 && header.similarity <= 1, `similarity ${header.similarity}`);
    } finally {
      ws.close();
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^latentstage_similarity -?[\d.]+(e-?\d+)?$/m);
  });

  test('acks carry warnings; a bad prompt gets 400 with its position and changes nothing', async () => {
    const ok = await server.command({ type: 'prompt', text: 'robot | intelligence' });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.warnings, ["'intelligence' does not appear in the training captions of fixture"]);
    const bad = await server.command({ type: 'prompt', text: 'robot | water:400' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'prompt: weight 400 at position 14 is outside -100..100');
    const state = await (await fetch(`${server.url}/api/state`)).json();
    assert.equal(state.prompt.text, 'robot | intelligence');

    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/control`);
    try {
      await new Promise((r) => ws.once('open', r));
      const replies: any[] = [];
      ws.on('message', (d) => replies.push(JSON.parse(d.toString())));
      ws.send(JSON.stringify({ type: 'prompt', text: 'zzqx cat', id: 1 }));
      ws.send(JSON.stringify({ type: 'prompt', text: 'cat:-200', id: 2 }));
      await waitFor(() => replies.some((m) => m.id === 2), 10_000, 'ws replies');
      const ack = replies.find((m) => m.id === 1);
      assert.equal(ack.type, 'ack');
      assert.deepEqual(ack.state.warnings, ["'zzqx' does not appear in the training captions of fixture"]);
      const err = replies.find((m) => m.id === 2);
      assert.equal(err.type, 'error');
      assert.match(err.error, /weight -200 at position 4 is outside/);
    } finally {
      ws.close();
    }
  });

  test('/api/model carries the model card facts', async () => {
    const model = await (await fetch(`${server.url}/api/model`)).json();
    assert.equal(typeof model.facts, 'object');
    assert.ok(model.vocabularySize > 0);
  });

  test('tempo, beat and schedules are commands like any other', async () => {
    assert.equal((await server.command({ type: 'tempo', bpm: 128 })).body.tempo.bpm, 128);
    assert.equal((await server.command({ type: 'beat' })).status, 200);
    const started = await server.command({ type: 'schedule.start', schedule: { unit: 'seconds', steps: [{ at: 0, prompt: 'sun' }] } });
    assert.equal(started.status, 200);
    await waitFor(async () => (await (await fetch(`${server.url}/api/state`)).json()).prompt.text === 'sun', 10_000, 'scheduled prompt');
    const bad = await server.command({ type: 'schedule.start', schedule: { unit: 'bars', steps: [] } });
    assert.equal(bad.status, 400);
  });
});
