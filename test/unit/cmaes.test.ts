import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CmaEs, symmetricEigen } from '../../server/steer/cmaes.ts';

type F = (x: Float64Array) => number;
const sphere: F = (x) => x.reduce((s, v) => s + (v - 1) ** 2, 0);
const ellipsoid: F = (x) => x.reduce((s, v, i) => s + 10 ** ((6 * i) / (x.length - 1)) * v * v, 0);
const rosenbrock: F = (x) => {
  let s = 0;
  for (let i = 0; i + 1 < x.length; i++) s += 100 * (x[i]! ** 2 - x[i + 1]!) ** 2 + (1 - x[i]!) ** 2;
  return s;
};

function minimise(f: F, n: number, seed: number, maxEvals = 20000): CmaEs {
  const es = new CmaEs({ mean: new Float64Array(n).fill(0.5), sigma: 0.5, seed });
  while (es.evaluations < maxEvals && es.best.cost > 1e-10) {
    const xs = es.ask();
    es.tell(xs, xs.map(f));
  }
  return es;
}

test('symmetric eigendecomposition reconstructs the matrix', () => {
  const n = 7;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = Math.sin(i * 3 + j * 7) + (i === j ? 3 : 0);
  const { values, vectors } = symmetricEigen(n, a);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += vectors[i * n + k]! * values[k]! * vectors[j * n + k]!;
      assert.ok(Math.abs(s - a[i * n + j]!) < 1e-10, `entry ${i},${j}`);
    }
  }
});

for (const [name, f, n, optimum] of [
  ['sphere', sphere, 5, 1],
  ['ellipsoid', ellipsoid, 5, 0],
  ['rosenbrock', rosenbrock, 4, 1],
] as const) {
  test(`CMA-ES finds the optimum of the ${n}-d ${name}`, () => {
    const es = minimise(f, n, 7);
    assert.ok(es.best.cost < 1e-8, `cost ${es.best.cost} after ${es.evaluations} evaluations`);
    for (const v of es.best.x) assert.ok(Math.abs(v - optimum) < 1e-3, `x = ${[...es.best.x]}`);
  });
}

test('CMA-ES is deterministic per seed', () => {
  const a = minimise(sphere, 3, 5, 300);
  const b = minimise(sphere, 3, 5, 300);
  const c = minimise(sphere, 3, 6, 300);
  assert.deepEqual(a.mean, b.mean);
  assert.notDeepEqual(a.mean, c.mean);
});

test('CMA-ES rejects bad input', () => {
  assert.throws(() => new CmaEs({ mean: [], sigma: 1 }), /dimension/);
  assert.throws(() => new CmaEs({ mean: [0], sigma: 0 }), /sigma/);
  const es = new CmaEs({ mean: [0, 0], sigma: 1 });
  assert.throws(() => es.tell(es.ask().slice(0, 1), [1]), /at least/);
});

test('a deferred eigendecomposition (in another thread) gives exactly the same search as tell()', async () => {
  const { eigenOffThread } = await import('../../server/steer/eigen.ts');
  const f = (x: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += (i + 1) * (x[i]! - 0.3) ** 2;
    return s;
  };
  const inline = new CmaEs({ mean: new Float64Array(12).fill(0.5), sigma: 0.5, seed: 3 });
  const deferred = new CmaEs({ mean: new Float64Array(12).fill(0.5), sigma: 0.5, seed: 3 });
  let decompositions = 0;
  for (let g = 0; g < 40; g++) {
    const a = inline.ask();
    inline.tell(a, a.map(f));
    const b = deferred.ask();
    const due = deferred.tellDeferred(b, b.map(f));
    if (due) {
      decompositions++;
      deferred.applyEigen(await eigenOffThread(deferred.n, due));
    }
  }
  assert.ok(decompositions > 0, 'some decompositions ran in the worker');
  assert.deepEqual([...deferred.mean], [...inline.mean]);
  assert.equal(deferred.sigma, inline.sigma);
  assert.throws(() => deferred.applyEigen({ values: [1], vectors: [1] }), /12 x 12/);
});

test('drawing candidates one at a time with sample() gives exactly what ask() gives, generation after generation', () => {
  const f = (x: Float64Array) => x.reduce((s, v, i) => s + (v - i / 10) ** 2, 0);
  const whole = new CmaEs({ mean: new Float64Array(16).fill(1), sigma: 0.5, seed: 11 });
  const drawn = new CmaEs({ mean: new Float64Array(16).fill(1), sigma: 0.5, seed: 11 });
  for (let g = 0; g < 40; g++) {
    const a = whole.ask();
    // in uneven chunks, as the paced search draws them
    const b: Float64Array[] = [];
    for (const take of [1, 3, 5]) for (let k = 0; k < take && b.length < drawn.lambda; k++) b.push(drawn.sample());
    while (b.length < drawn.lambda) b.push(drawn.sample());
    assert.deepEqual(b.map((x) => [...x]), a.map((x) => [...x]), `generation ${g}`);
    whole.tell(a, a.map(f));
    drawn.tell(b, b.map(f));
  }
  assert.ok(whole.generation === 40 && f(whole.mean) < f(new Float64Array(16).fill(1)), 'the search went somewhere');
});
