import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, applyCommand, step, liveParams, type EngineState, type EngineCommand } from '../../server/engine/engine.ts';
import { lfoShape, curve } from '../../server/engine/modulation.ts';
import { parseCommand } from '../../server/commands.ts';
import { norm } from '../../server/engine/vec.ts';

const DIM = 32;
const FPS = 60;

interface Sample {
  t: number;
  params: ReturnType<typeof liveParams>;
  z: Float32Array;
  s: EngineState;
}

/** Run n frames at FPS, applying commands (validated like any surface's) at frame indices. */
function run(n: number, script: Record<number, unknown[]> = {}, seed = 3): Sample[] {
  // the expectations below are around a set truncation of 0.8, whatever the default is
  let s = createEngine({ dim: DIM, seed, params: { truncation: 0.8 } });
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    for (const c of script[i] ?? []) s = applyCommand(s, parseCommand(c) as EngineCommand);
    const r = step(s, 1 / FPS);
    s = r.state;
    out.push({ t: s.time, params: liveParams(s), z: r.z, s });
  }
  return out;
}

/** Times where the series crosses `level` going up (linear interpolation between samples). */
function upCrossings(xs: { t: number; v: number }[], level: number): number[] {
  const out: number[] = [];
  for (let i = 1; i < xs.length; i++) {
    const [a, b] = [xs[i - 1], xs[i]];
    if (a.v < level && b.v >= level) out.push(a.t + ((level - a.v) / (b.v - a.v)) * (b.t - a.t));
  }
  return out;
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

describe('modulation', () => {
  test('an LFO on truncation at 1 Hz moves it with a period of 1 s and the given depth, in the latents too', () => {
    const frames = run(4 * FPS, { 0: [{ type: 'mod.set', target: 'truncation', source: { lfo: 'sine', hz: 1 }, depth: 0.3 }] });
    const series = frames.map((f) => ({ t: f.t, v: f.params.truncation }));
    const vs = series.map((x) => x.v);
    assert.ok(Math.abs(Math.max(...vs) - 1.1) < 0.002, `max ${Math.max(...vs)}`);
    assert.ok(Math.abs(Math.min(...vs) - 0.5) < 0.002, `min ${Math.min(...vs)}`);
    const ups = upCrossings(series, 0.8);
    assert.ok(ups.length >= 3, `${ups.length} cycles`);
    for (let i = 1; i < ups.length; i++) assert.ok(Math.abs(ups[i] - ups[i - 1] - 1) < 1e-6, `period ${ups[i] - ups[i - 1]}`);
    // Without a prompt the latent is truncation x a point on the sphere of radius sqrt(dim).
    for (const f of frames) assert.ok(Math.abs(norm(f.z) / Math.sqrt(DIM) - f.params.truncation) < 1e-4);
    // The set value stays what the performer set; only the live value moves.
    assert.equal(frames.at(-1)!.s.params.truncation, 0.8);
  });

  test('an LFO in beats follows the tempo', () => {
    const period = (bpm: number) => {
      const frames = run(6 * FPS, { 0: [{ type: 'tempo', bpm }, { type: 'mod.set', target: 'speed', source: { lfo: 'triangle', beats: 2 }, depth: 0.2 }] });
      const ups = upCrossings(frames.map((f) => ({ t: f.t, v: f.params.speed })), 0.3);
      return (ups.at(-1)! - ups[0]) / (ups.length - 1);
    };
    assert.ok(Math.abs(period(120) - 1) < 1e-6);
    assert.ok(Math.abs(period(60) - 2) < 1e-6);
  });

  test('inputs drive routes through curve, offset and smoothing; values stay in range', () => {
    const frames = run(3 * FPS, {
      0: [
        { type: 'mod.set', id: 'knob', target: 'speed', source: 'cc:74', depth: 2, curve: 'exp' },
        { type: 'mod.set', target: 'truncation', source: 'audio:low', depth: 1, offset: 0.1, smoothing: 0.5 },
        { type: 'mod.input', values: { 'cc:74': 0.5 } },
      ],
      30: [{ type: 'mod.input', values: { 'audio:low': 1, 'cc:74': 1 } }],
      // the audio page keeps sending (an input left alone goes stale: modulation-stale.test.ts)
      ...Object.fromEntries([60, 90, 120, 150].map((f) => [f, [{ type: 'mod.input', values: { 'audio:low': 1 } }]])),
    });
    assert.ok(Math.abs(frames[10].params.speed - (0.3 + 2 * 0.25)) < 1e-12, 'exp curve: 0.5 -> 0.25');
    assert.equal(frames[40].params.speed, 2.3);
    assert.ok(Math.abs(frames[10].params.truncation - 0.9) < 1e-12, 'offset alone while the input is 0');
    // One time constant (0.5 s = 30 frames) after the step: 63% of the way from 0.9 to 1.9 (clamped at 2 later).
    const after = frames[59].params.truncation;
    assert.ok(Math.abs(after - (0.9 + (1 - Math.exp(-1)))) < 0.01, `smoothed ${after}`);
    assert.ok(Math.abs(frames.at(-1)!.params.truncation - 1.9) < 0.02, 'settles at 0.8 + 0.1 + 1');
    const big = run(5, { 0: [{ type: 'mod.set', target: 'truncation', source: 'osc:x', depth: 2 }, { type: 'mod.input', values: { 'osc:x': 1 } }] });
    assert.equal(big[4].params.truncation, 2, 'clamped to the top of the range');
  });

  test('a walk with modulation replays bit for bit; without it, it differs', () => {
    const script = {
      0: [{ type: 'mod.set', target: 'truncation', source: { lfo: 'random', hz: 2, seed: 9 }, depth: 0.4, smoothing: 0.1 }],
      5: [{ type: 'mod.set', target: 'speed', source: 'audio:loudness', depth: 3 }],
      10: [{ type: 'mod.input', values: { 'audio:loudness': 0.7 } }],
      50: [{ type: 'mod.input', values: { 'audio:loudness': 0.1 } }, { type: 'beat' }],
      70: [{ type: 'mod.clear', id: 'speed' }],
    };
    const a = run(120, script).map((f) => bits(f.z));
    const b = run(120, script).map((f) => bits(f.z));
    assert.deepEqual(a, b);
    const plain = run(120).map((f) => bits(f.z));
    assert.notEqual(a[60], plain[60]);
  });

  test('shapes: bipolar, periodic; smooth random is seeded and continuous; curves stay in 0..1', () => {
    for (const shape of ['sine', 'triangle', 'saw', 'square', 'random'] as const) {
      for (let p = 0; p < 3; p += 0.01) {
        const v = lfoShape(shape, p, 4);
        assert.ok(v >= -1 && v <= 1, `${shape}(${p}) = ${v}`);
        if (shape !== 'random') assert.ok(Math.abs(v - lfoShape(shape, p + 1)) < 1e-9);
      }
    }
    assert.equal(lfoShape('sine', 0.25), 1);
    assert.equal(lfoShape('triangle', 0), 0);
    assert.equal(lfoShape('triangle', 0.25), 1);
    assert.equal(lfoShape('saw', 0), 0);
    assert.equal(lfoShape('random', 1.3, 1), lfoShape('random', 1.3, 1));
    assert.notEqual(lfoShape('random', 1.3, 1), lfoShape('random', 1.3, 2));
    for (let p = 0; p < 5; p += 0.001) assert.ok(Math.abs(lfoShape('random', p + 0.001, 1) - lfoShape('random', p, 1)) < 0.01);
    for (const c of ['linear', 'exp', 'log', 'smooth'] as const) {
      assert.equal(curve(c, 0), 0);
      assert.equal(curve(c, 1), 1);
      assert.equal(curve(c, 2), 1);
    }
  });

  test('bad modulation commands get clear errors', () => {
    const bad = (cmd: unknown, re: RegExp) => assert.throws(() => parseCommand(cmd), re);
    bad({ type: 'mod.set', target: 'fade', source: { lfo: 'sine', hz: 1 }, depth: 1 }, /target must be one of speed, truncation, period, strength/);
    bad({ type: 'mod.set', target: 'speed', source: { lfo: 'sine' }, depth: 1 }, /an LFO needs a rate: hz or beats/);
    bad({ type: 'mod.set', target: 'speed', source: { lfo: 'sine', hz: 1, beats: 2 }, depth: 1 }, /hz or beats/);
    bad({ type: 'mod.set', target: 'speed', source: { lfo: 'wobble', hz: 1 }, depth: 1 }, /source/);
    bad({ type: 'mod.set', target: 'speed', source: 'midi:74', depth: 1 }, /source/);
    bad({ type: 'mod.set', target: 'truncation', source: 'cc:1', depth: 5 }, /depth must be within ±2/);
    bad({ type: 'mod.set', target: 'speed', source: 'cc:1', depth: 1, smoothing: 60 }, /smoothing must be <= 10/);
    bad({ type: 'mod.set', target: 'speed', source: 'cc:128', depth: 1 }, /source/);
    bad({ type: 'mod.input', values: { 'cc:1': 1.5 } }, /between 0 and 1/);
    bad({ type: 'mod.input', values: {} }, /at least one input/);
    bad({ type: 'mod.input', values: { 'audio:bass': 0.5 } }, /audio:low\|mid\|high/);
    let s = createEngine({ dim: DIM });
    assert.throws(() => applyCommand(s, { type: 'mod.clear', id: 'nope' }), /no modulation route "nope"/);
    s = applyCommand(s, parseCommand({ type: 'mod.set', target: 'speed', source: 'cc:1', depth: 1 }) as EngineCommand);
    assert.equal(s.mod.routes.length, 1);
    assert.equal(applyCommand(s, { type: 'mod.clear' }).mod.routes.length, 0);
  });
});
