// Modulation through the real server: routes and inputs as commands, visible in the state, saved
// with presets, and a recorded walk with modulation re-rendered frame-identically through the real
// recorder and renderer. Also the shared MIDI mapping store.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { numericParams } from '../../server/params.ts';
import { readFileSync, readdirSync, existsSync, writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import sharp from 'sharp';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { readWalk } from '../../server/record/walk-file.ts';
import { walkShots, renderWalk } from '../../server/record/render.ts';
import { norm } from '../../server/engine/vec.ts';
import type { Frame } from '../../server/frames/frame.ts';

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('modulation on the live server', () => {
  let s: TestServer;
  let rec: string;

  before(async () => {
    rec = mkdtempSync(path.join(tmpdir(), 'latentstage-modrec-'));
    s = await startTestServer({ fps: 30, recordings: rec });
  });
  after(async () => {
    await s?.stop();
    rmSync(rec, { recursive: true, force: true });
  });

  test('a recorded walk with an LFO and live inputs re-renders frame-identically', async () => {
    const live = new Map<string, Buffer>(); // z bits -> the live frame's pixels
    const onFrame = (f: Frame) => {
      if (f.latent) live.set(bits(f.latent.z), f.rgb);
    };
    s.stage.on('frame', onFrame);
    let r = await s.command({ type: 'mod.set', target: 'truncation', source: { lfo: 'sine', hz: 2 }, depth: 0.6 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await s.command({ type: 'mod.set', target: 'speed', source: 'audio:low', depth: 3, smoothing: 0.05 })).status, 200);
    assert.equal((await s.command({ type: 'record.start', name: 'modwalk' })).status, 200);
    // Input values arrive over /control the way the audio page sends them.
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/control`, { headers: { origin: s.url } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    for (let i = 0; i < 45; i++) {
      ws.send(JSON.stringify({ type: 'mod.input', values: { 'audio:low': (Math.sin(i / 3) + 1) / 2 } }));
      await sleep(33);
    }
    ws.close();
    r = await s.command({ type: 'record.stop' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    s.stage.off('frame', onFrame);

    const walk = await readWalk(path.join(rec, 'modwalk.walk.jsonl'));
    assert.ok(walk.frames.length > 20, `${walk.frames.length} frames`);
    // The modulation is in the recorded latents: |z| follows the LFO on truncation.
    const norms = walk.frames.map((f) => norm(f.z) / Math.sqrt(f.z.length));
    assert.ok(Math.max(...norms) - Math.min(...norms) > 0.5, `|z| swings ${Math.min(...norms)}..${Math.max(...norms)}`);
    for (const f of walk.frames) assert.ok(live.has(bits(f.z)), `frame ${f.index} is a frame the server showed`);

    const framesDir = path.join(s.tmp, 'render-frames');
    const fps = walk.header.fps;
    const out = await renderWalk({ walk: path.join(rec, 'modwalk.walk.jsonl'), model: s.modelDir, modelsDir: s.tmp, out: path.join(s.tmp, 'modwalk.mp4'), framesDir, fps, batch: 1 });
    const { shots } = walkShots(walk, fps);
    const expected = shots.flatMap((shot) => Array.from({ length: shot.repeat }, () => live.get(bits(shot.z))!));
    const pngs = readdirSync(framesDir).filter((f) => f.endsWith('.png')).sort();
    assert.equal(pngs.length, out.frames);
    assert.equal(pngs.length, expected.length);
    let differing = 0;
    for (let k = 0; k < pngs.length; k++) {
      const { data, info } = await sharp(path.join(framesDir, pngs[k])).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      assert.equal(info.width * info.height * 3, expected[k].length, 'native size');
      if (!data.equals(expected[k])) differing++;
    }
    assert.equal(differing, 0, `${differing} of ${pngs.length} rendered frames differ from the live ones`);
  });

  test('routes, live values and inputs are in the state; bad routes change nothing', async () => {
    await s.command({ type: 'mod.clear' });
    const r = await s.command({ type: 'mod.set', id: 'wobble', target: 'truncation', source: { lfo: 'triangle', beats: 1 }, depth: 0.4, curve: 'smooth' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.modulation.routes, [{ id: 'wobble', target: 'truncation', source: { lfo: 'triangle', beats: 1 }, depth: 0.4, offset: 0, curve: 'smooth', smoothing: 0 }]);
    // The live value moves while the set value stays.
    const seen = new Set<number>();
    await waitFor(async () => {
      const st = await (await fetch(`${s.url}/api/state`)).json();
      seen.add(st.modulation.live.truncation);
      assert.equal(st.params.truncation, numericParams.truncation.default);
      return seen.size > 5;
    }, 10_000, 'the live truncation to move');
    const bad = await s.command({ type: 'mod.set', target: 'fade', source: 'cc:1', depth: 1 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /mod\.set: target: target must be one of speed, truncation, period, strength/);
    assert.equal((await s.command({ type: 'mod.clear', id: 'nope' })).status, 400);
    const st = await (await fetch(`${s.url}/api/state`)).json();
    assert.deepEqual(st.modulation.routes.map((x: { id: string }) => x.id), ['wobble']);
    assert.equal((await s.command({ type: 'mod.input', values: { 'cc:7': 0.25 } })).body.modulation.inputs['cc:7'], 0.25);
  });

  test('presets save and restore the routes; a preset without routes clears them', async () => {
    await s.command({ type: 'mod.clear' });
    await s.command({ type: 'mod.set', target: 'speed', source: { lfo: 'random', hz: 0.5, seed: 4 }, depth: 1, smoothing: 0.2 });
    assert.equal((await s.command({ type: 'preset.save', name: 'modded' })).status, 200);
    const saved = JSON.parse(readFileSync(path.join(s.presetsDir, 'modded.json'), 'utf8'));
    assert.deepEqual(saved.modulation, [{ id: 'speed', target: 'speed', source: { lfo: 'random', hz: 0.5, seed: 4 }, depth: 1, offset: 0, curve: 'linear', smoothing: 0.2 }]);
    await s.command({ type: 'mod.clear' });
    await s.command({ type: 'preset.save', name: 'plain' });
    assert.equal((await s.command({ type: 'preset.load', name: 'modded' })).body.modulation.routes.length, 1);
    assert.equal((await s.command({ type: 'preset.load', name: 'plain' })).body.modulation.routes.length, 0);
  });
});

describe('the shared MIDI mapping', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ fps: 10 });
  });
  after(async () => {
    await s?.stop();
  });

  test('midi.map stores the mapping in presets/midi-map.json and in the state; bad maps change nothing', async () => {
    const mappings = [
      { cc: 74, param: 'speed' },
      { cc: 1, channel: 2, param: 'truncation', min: 0.2, max: 1.2 },
      { note: 36, action: 'seed.random' },
    ];
    const r = await s.command({ type: 'midi.map', mappings });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.midi.mappings, mappings);
    assert.deepEqual(JSON.parse(readFileSync(path.join(s.presetsDir, 'midi-map.json'), 'utf8')), { mappings });
    for (const [bad, re] of [
      [[{ cc: 200, param: 'speed' }], /cc must be 0-127/],
      [[{ cc: 1, param: 'loudness' }], /a mapping is \{cc, param\} or \{note, action\}|param must be one of/],
      [[{ cc: 1, param: 'speed', max: 9 }], /max must be within speed's range/],
      [[{ note: 1, action: 'explode' }], /action must be one of|a mapping is/],
    ] as const) {
      const res = await s.command({ type: 'midi.map', mappings: bad });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(res.body.error, re);
    }
    assert.deepEqual((await (await fetch(`${s.url}/api/state`)).json()).midi.mappings, mappings);
    // midi-map.json is not a preset
    assert.ok(!(await (await fetch(`${s.url}/api/presets`)).json()).some((p: { name: string }) => p.name === 'midi-map'));
  });

  test('a server reads the stored mapping at start; a broken file is reported, not fatal', async () => {
    const dir = path.join(s.tmp, 'p2');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'midi-map.json'), JSON.stringify({ mappings: [{ note: 40, action: 'beat' }] }));
    let t = await startTestServer({ fps: 10, presets: dir });
    try {
      assert.deepEqual(t.stage.state().midi, { mappings: [{ note: 40, action: 'beat' }] });
    } finally {
      await t.close();
    }
    writeFileSync(path.join(dir, 'midi-map.json'), '{"mappings": [');
    t = await startTestServer({ fps: 10, presets: dir });
    try {
      assert.match(t.stage.state().midi!.error ?? '', /midi-map\.json: malformed JSON/);
      assert.equal((await t.command({ type: 'midi.map', mappings: [] })).status, 200);
      assert.deepEqual(t.stage.state().midi, { mappings: [] });
      assert.ok(existsSync(path.join(dir, 'midi-map.json')));
    } finally {
      await t.close();
    }
  });
});
