// The walk modes as pure functions of (seed, dimension, position). Each returns a point on the
// sphere of radius sqrt(dim), where standard-normal latents concentrate.
import { gaussian } from './prng.ts';
import { toRadius, slerp, type Vec } from './vec.ts';
import type { Ease } from '../params.ts';

const DRIFT = 1;
const LOOP = 2;
const KEY = 3;

/** The standard-normal latent that a seed names (on the sphere of radius sqrt(dim)). */
export function seedLatent(seed: number, dim: number): Vec {
  const v = new Float64Array(dim);
  for (let i = 0; i < dim; i++) v[i] = gaussian(KEY, seed, i);
  return toRadius(v, Math.sqrt(dim));
}

/**
 * Drift: a Catmull-Rom spline through hashed Gaussian keypoints at integer phases, per dimension,
 * projected onto the sphere. Smooth (C1), never repeating, and addressable at any phase.
 */
export function drift(seed: number, dim: number, phase: number): Vec {
  const k = Math.floor(phase);
  const t = phase - k;
  const t2 = t * t;
  const t3 = t2 * t;
  const v = new Float64Array(dim);
  for (let i = 0; i < dim; i++) {
    const p0 = gaussian(DRIFT, seed, i, k - 1);
    const p1 = gaussian(DRIFT, seed, i, k);
    const p2 = gaussian(DRIFT, seed, i, k + 1);
    const p3 = gaussian(DRIFT, seed, i, k + 2);
    v[i] = 0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3);
  }
  return toRadius(v, Math.sqrt(dim));
}

const HARMONICS = [1, 0.5, 0.25];

/**
 * Loop: a closed orbit made of three harmonics, projected onto the sphere. u in [0, 1) is the
 * position along the lap; loop(u = 0) is the start, and every whole lap lands exactly on it.
 */
export function loop(seed: number, dim: number, u: number): Vec {
  const v = new Float64Array(dim);
  const frac = u - Math.floor(u);
  HARMONICS.forEach((w, h) => {
    const angle = 2 * Math.PI * (h + 1) * frac;
    const c = frac === 0 ? 1 : Math.cos(angle);
    const s = frac === 0 ? 0 : Math.sin(angle);
    for (let i = 0; i < dim; i++) {
      v[i] += w * (c * gaussian(LOOP, seed, h, 0, i) + s * gaussian(LOOP, seed, h, 1, i));
    }
  });
  return toRadius(v, Math.sqrt(dim));
}

export function ease(kind: Ease, t: number): number {
  const x = Math.min(1, Math.max(0, t));
  if (kind === 'linear') return x;
  if (kind === 'cosine') return 0.5 - 0.5 * Math.cos(Math.PI * x);
  return x * x * (3 - 2 * x);
}

export type Key = number | number[];

export function keyLatent(key: Key, dim: number): Vec {
  if (typeof key === 'number') return seedLatent(key, dim);
  if (key.length !== dim) throw new RangeError(`a stored latent must have ${dim} values, got ${key.length}`);
  return Float64Array.from(key);
}

/**
 * Keyframes: hold on each key for `hold` seconds, then slerp to the next over `transition`
 * seconds with the given ease, cycling through the keys.
 */
export function keyframes(keys: Vec[], time: number, hold: number, transition: number, kind: Ease): Vec {
  if (keys.length === 1) return Float64Array.from(keys[0]);
  const segment = hold + transition;
  const lap = segment * keys.length;
  const t = ((time % lap) + lap) % lap;
  const i = Math.min(keys.length - 1, Math.floor(t / segment));
  const s = t - i * segment;
  const a = keys[i];
  const b = keys[(i + 1) % keys.length];
  if (s < hold) return Float64Array.from(a);
  return slerp(a, b, ease(kind, (s - hold) / transition));
}
