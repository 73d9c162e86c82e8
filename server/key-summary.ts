// A compact description of the keyframe list for state messages: a stored latent is 512 floats,
// and 80 of them repeated in every state message starve viewers while a fader moves. Full keys are
// at GET /api/keys.
export type Key = number | number[];

export interface KeySummary {
  count: number;
  /** Each key's seed, or null for a stored latent. */
  seeds: (number | null)[];
  /** Changes whenever any key changes (FNV-1a over the values), for clients that cache /api/keys. */
  hash: string;
}

const cache = new WeakMap<readonly Key[], KeySummary>();

export function summarizeKeys(keys: readonly Key[]): KeySummary {
  let s = cache.get(keys);
  if (s) return s;
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    h = Math.imul(h ^ (x & 0xffff), 0x01000193);
    h = Math.imul(h ^ (x >>> 16), 0x01000193);
  };
  const f = new Float64Array(1);
  const words = new Uint32Array(f.buffer);
  for (const k of keys) {
    if (typeof k === 'number') {
      mix(1);
      mix(k >>> 0);
      continue;
    }
    mix(2);
    mix(k.length);
    for (const v of k) {
      f[0] = v;
      mix(words[0]);
      mix(words[1]);
    }
  }
  s = { count: keys.length, seeds: keys.map((k) => (typeof k === 'number' ? k : null)), hash: (h >>> 0).toString(16).padStart(8, '0') };
  cache.set(keys, s);
  return s;
}
