// Small vector helpers on plain number arrays (float64 inside the engine; float32 at the edge).

export type Vec = Float64Array;

export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Scale v to length r (returns a new vector; a zero vector stays zero). */
export function toRadius(v: ArrayLike<number>, r: number): Vec {
  const n = norm(v);
  const out = new Float64Array(v.length);
  if (n === 0) return out;
  for (let i = 0; i < v.length; i++) out[i] = (v[i] / n) * r;
  return out;
}

export function lerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Vec {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + (b[i] - a[i]) * t;
  return out;
}

/**
 * Spherical interpolation between a and b (any lengths: the radius is interpolated linearly).
 * slerp(a, b, 0) === a and slerp(a, b, 1) === b exactly.
 */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Vec {
  if (t <= 0) return Float64Array.from(a);
  if (t >= 1) return Float64Array.from(b);
  const na = norm(a);
  const nb = norm(b);
  if (na === 0 || nb === 0) return lerp(a, b, t);
  const cos = Math.min(1, Math.max(-1, dot(a, b) / (na * nb)));
  const omega = Math.acos(cos);
  const sin = Math.sin(omega);
  if (sin < 1e-6) return lerp(a, b, t);
  const wa = Math.sin((1 - t) * omega) / sin;
  const wb = Math.sin(t * omega) / sin;
  const r = na + (nb - na) * t;
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = wa * (a[i] / na) + wb * (b[i] / nb);
  const no = norm(out);
  for (let i = 0; i < a.length; i++) out[i] = (out[i] / no) * r;
  return out;
}
