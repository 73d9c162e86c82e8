import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, applyCommand, step, type EngineState, type EngineCommand } from '../../server/engine/engine.ts';
import { slerp, norm, dot } from '../../server/engine/vec.ts';
import { drift, loop, seedLatent, keyframes, ease } from '../../server/engine/walks.ts';

const DIM = 32;

/** Run the engine for n frames at fps, applying scripted commands at given frame indices. */
function run(n: number, fps: number, script: Record<number, EngineCommand[]> = {}, seed = 7): Float32Array[] {
  let s: EngineState = createEngine({ dim: DIM, seed });
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    for (const c of script[i] ?? []) s = applyCommand(s, c);
    const r = step(s, 1 / fps);
    s = r.state;
    out.push(r.z);
  }
  return out;
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

describe('engine determinism', () => {
  test('same seed and same commands at the same frames give bit-identical latents', () => {
    const script = { 10: [{ type: 'set', speed: 1.5 } as const], 40: [{ type: 'seed', seed: 99 } as const], 70: [{ type: 'set', mode: 'loop' } as const] };
    const a = run(120, 60, script);
    const b = run(120, 60, script);
    assert.deepEqual(a.map(bits), b.map(bits));
  });

  test('a different seed gives a different walk', () => {
    const a = run(5, 60, {}, 1);
    const b = run(5, 60, {}, 2);
    assert.notEqual(bits(a[4]), bits(b[4]));
  });

  test('the same command at a different frame gives a different walk afterwards', () => {
    const a = run(60, 60, { 10: [{ type: 'set', speed: 3 }] });
    const b = run(60, 60, { 11: [{ type: 'set', speed: 3 }] });
    assert.equal(bits(a[9]), bits(b[9]));
    assert.notEqual(bits(a[10]), bits(b[10]));
    assert.notEqual(bits(a[59]), bits(b[59]));
  });

  test('applyCommand never mutates its input state', () => {
    const s = createEngine({ dim: DIM, seed: 3 });
    const snapshot = JSON.stringify({ ...s, walker: [...s.walker] });
    applyCommand(s, { type: 'set', speed: 2, mode: 'loop' });
    applyCommand(s, { type: 'seed', seed: 5 });
    step(s, 0.1);
    assert.equal(JSON.stringify({ ...s, walker: [...s.walker] }), snapshot);
  });

  test('skipping frames lands on the same time as stepping through them', () => {
    let a = createEngine({ dim: DIM, seed: 4 });
    let b = createEngine({ dim: DIM, seed: 4 });
    for (let i = 0; i < 4; i++) a = step(a, 1 / 60).state;
    b = step(b, 4 / 60, 4).state;
    assert.equal(a.frame, b.frame);
    assert.ok(Math.abs(a.time - b.time) < 1e-12);
    assert.ok(Math.abs(a.phase - b.phase) < 1e-12);
  });
});

describe('walk modes', () => {
  test('drift stays on the latent sphere and moves smoothly', () => {
    const r = Math.sqrt(DIM);
    let prevStep = 0;
    for (let i = 0; i < 200; i++) {
      const a = drift(1, DIM, i * 0.01);
      const b = drift(1, DIM, i * 0.01 + 0.01);
      assert.ok(Math.abs(norm(a) - r) < 1e-9);
      const d = norm(a.map((v, k) => v - b[k]));
      assert.ok(d < 0.5, `step ${d} too large at ${i}`);
      if (i > 0) assert.ok(Math.abs(d - prevStep) < 0.1, 'speed along the path changes smoothly');
      prevStep = d;
    }
  });

  test('drift does not repeat', () => {
    const a = drift(1, DIM, 3.25);
    for (let p = 4.25; p < 200; p += 1) {
      const b = drift(1, DIM, p);
      assert.ok(dot(a, b) / (norm(a) * norm(b)) < 0.99);
    }
  });

  test('loop returns exactly to its start after period seconds', () => {
    const fps = 60;
    const period = 5;
    let s = createEngine({ dim: DIM, seed: 11, params: { mode: 'loop', period } });
    const first = step(s, 0).z;
    s = step(s, 0).state;
    const zs: Float32Array[] = [];
    for (let i = 0; i < period * fps; i++) {
      const r = step(s, 1 / fps);
      s = r.state;
      zs.push(r.z);
    }
    const last = zs[zs.length - 1];
    for (let i = 0; i < DIM; i++) assert.ok(Math.abs(last[i] - first[i]) < 1e-5, `dim ${i}: ${last[i]} vs ${first[i]}`);
    assert.equal(bits(Float32Array.from(loop(11, DIM, 0))), bits(Float32Array.from(loop(11, DIM, 1))));
    // and it actually went somewhere in between
    const mid = zs[Math.floor(zs.length / 2)];
    assert.ok(norm(mid.map((v, k) => v - first[k])) > 1);
  });

  test('keyframes hold on each key then slerp to the next', () => {
    const keys = [seedLatent(1, DIM), seedLatent(2, DIM)];
    assert.deepEqual(keyframes(keys, 0.5, 1, 2, 'linear'), keys[0]);
    assert.deepEqual(keyframes(keys, 3.0, 1, 2, 'linear'), keys[1]);
    const mid = keyframes(keys, 2.0, 1, 2, 'linear');
    assert.ok(Math.abs(norm(mid) - Math.sqrt(DIM)) < 1e-9);
    const expected = slerp(keys[0], keys[1], 0.5);
    for (let i = 0; i < DIM; i++) assert.ok(Math.abs(mid[i] - expected[i]) < 1e-12);
  });

  test('keyframes command accepts stored latents and rejects wrong lengths', () => {
    const s = createEngine({ dim: DIM });
    const latent = Array.from(seedLatent(5, DIM));
    const ok = applyCommand(s, { type: 'keyframes', keys: [3, latent], hold: 0, transition: 1 });
    assert.equal(ok.params.mode, 'keyframes');
    assert.throws(() => applyCommand(s, { type: 'keyframes', keys: [[1, 2, 3]] }), /32 values/);
  });

  test('easing curves hit their endpoints', () => {
    for (const k of ['linear', 'smooth', 'cosine'] as const) {
      assert.equal(ease(k, 0), 0);
      assert.equal(ease(k, 1), 1);
    }
  });
});

describe('slerp', () => {
  test('endpoints are exact and the path keeps the radius', () => {
    const a = seedLatent(1, DIM);
    const b = seedLatent(2, DIM);
    assert.deepEqual(slerp(a, b, 0), a);
    assert.deepEqual(slerp(a, b, 1), b);
    for (const t of [0.1, 0.5, 0.9]) assert.ok(Math.abs(norm(slerp(a, b, t)) - Math.sqrt(DIM)) < 1e-9);
  });
});

describe('truncation and regions', () => {
  test('truncation scales the latent radius', () => {
    for (const psi of [0, 0.5, 1, 1.5]) {
      const s = createEngine({ dim: DIM, params: { truncation: psi } });
      const z = step(s, 1 / 60).z;
      assert.ok(Math.abs(norm(z) - psi * Math.sqrt(DIM)) < 1e-4, `psi ${psi}: ${norm(z)}`);
    }
  });

  test('a target region moves the walk toward its mean over the fade', () => {
    let s = createEngine({ dim: DIM, params: { truncation: 0.1 } });
    const mean = new Float64Array(DIM).fill(3);
    s = applyCommand(s, { type: 'target', region: { mean, scale: new Float64Array(DIM).fill(1) }, fade: 1 });
    const dist = (z: Float32Array) => norm(Array.from(z, (v, i) => v - mean[i]));
    const d0 = dist(step(s, 0).z);
    let prev = d0;
    let maxJump = 0;
    let prevZ = step(s, 0).z;
    for (let i = 0; i < 60; i++) {
      const r = step(s, 1 / 60);
      s = r.state;
      const d = dist(r.z);
      assert.ok(d <= prev + 0.05, 'distance to the target never grows much');
      maxJump = Math.max(maxJump, norm(Array.from(r.z, (v, k) => v - prevZ[k])));
      prev = d;
      prevZ = r.z;
    }
    assert.ok(prev < 0.1 * d0 + 1, `after the fade the walk sits at the target (${prev} vs ${d0})`);
    assert.ok(maxJump < d0 / 10, `fade is smooth (max jump ${maxJump})`);
  });

  test('seed changes glide over the fade instead of jumping', () => {
    let s = createEngine({ dim: DIM, params: { fade: 1 } });
    s = step(s, 1 / 60).state;
    const before = step(s, 0).z;
    s = applyCommand(s, { type: 'seed', seed: 1234 });
    const after = step(s, 1 / 60).z;
    assert.ok(norm(Array.from(after, (v, i) => v - before[i])) < 0.5);
  });
});
