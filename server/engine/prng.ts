// Seeded, stateless randomness. Every value is a pure function of its integer inputs, so a walk
// can be evaluated at any time without replaying history, and results are identical on every run.

/** 32-bit avalanche hash (lowbias32 by Chris Wellons). */
export function hash32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Hash of several integers (order matters). */
export function hashN(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = hash32((h ^ (p | 0)) + 0x632be5ab);
  return h;
}

/** Uniform in (0, 1), never exactly 0 or 1. */
export function uniform(h: number): number {
  return ((h >>> 8) + 0.5) / 16777216;
}

/** Standard normal value addressed by integers (Box-Muller on two hashed uniforms). */
export function gaussian(...parts: number[]): number {
  const h = hashN(...parts);
  const u1 = uniform(h);
  const u2 = uniform(hash32(h ^ 0x68e31da4));
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** A seeded sequential generator (mulberry32) for places where a stream is more natural. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
