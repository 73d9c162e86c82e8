// Onsets on the audio page (sketches/audio/analysis.js) from synthetic signals through the same
// spectra an AnalyserNode gives: a bass-only kick, a snare, a hi-hat each register on their own,
// at the right times; steady noise does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OnsetDetector } from '../../sketches/audio/analysis.js';
import { detect, noise } from '../helpers/spectrum.ts';

const RATE = 48000;
const SECONDS = 8;
const PERIOD = 0.5;

/** `hit(t)` (t = seconds since the hit) every PERIOD seconds from 0.25 s, over noise of amplitude `hiss`. */
function pattern(hit: (t: number, n: () => number) => number, hiss: number): Float32Array {
  const out = new Float32Array(SECONDS * RATE);
  const n = noise(7);
  const n2 = noise(11);
  for (let i = 0; i < out.length; i++) {
    const s = i / RATE;
    const t = s < 0.25 ? Infinity : (s - 0.25) % PERIOD;
    out[i] = hiss * n() + (t < 0.3 ? hit(t, n2) : 0);
  }
  return out;
}

const kick = (t: number) => 0.7 * Math.sin(2 * Math.PI * 60 * t) * Math.exp(-t * 10);
const snare = (t: number, n: () => number) => (0.3 * Math.sin(2 * Math.PI * 190 * t) + 0.4 * n()) * Math.exp(-t * 25);
let prevHat = 0;
const hat = (t: number, n: () => number) => {
  // white noise, differenced twice (a crude high-pass), short decay
  const x = n();
  const y = x - prevHat;
  prevHat = x;
  return 0.25 * y * Math.exp(-t * 60);
};

/** The hits near each expected time (within 40 ms after it). */
function check(name: string, hits: number[]): void {
  const expected: number[] = [];
  for (let s = 0.25; s < SECONDS - 0.05; s += PERIOD) expected.push(s * 1000);
  const found = expected.filter((e) => hits.some((h) => h >= e - 10 && h <= e + 40)).length;
  const extra = hits.filter((h) => !expected.some((e) => h >= e - 10 && h <= e + 40)).length;
  // the detector needs a few frames of history before it fires
  assert.ok(found >= expected.length - 1, `${name}: ${found} of ${expected.length} hits found (onsets at ${hits.map((h) => h.toFixed(0)).join(', ')})`);
  assert.ok(extra <= 1, `${name}: ${extra} onsets where there was no hit`);
}

test('a bass-only kick (60 Hz burst over noise) gives an onset per kick', () => {
  const d = new OnsetDetector({ sampleRate: RATE });
  check('kick', detect(pattern(kick, 0.05), RATE, (s, t) => d.push(s, t)));
});

test('a snare and a hi-hat each register on their own', () => {
  const s = new OnsetDetector({ sampleRate: RATE });
  check('snare', detect(pattern(snare, 0.02), RATE, (x, t) => s.push(x, t)));
  const h = new OnsetDetector({ sampleRate: RATE });
  check('hat', detect(pattern(hat, 0.02), RATE, (x, t) => h.push(x, t)));
});

test('the band that fired is named', () => {
  const d = new OnsetDetector({ sampleRate: RATE });
  const fired = new Set<string>();
  detect(pattern(kick, 0.05), RATE, (s, t) => {
    const hit = d.push(s, t);
    if (hit) d.fired.forEach((b) => fired.add(b));
    return hit;
  });
  assert.ok(fired.has('low'), `fired: ${[...fired].join(', ')}`);
  assert.ok(!fired.has('high'), `a 60 Hz kick fired the high band: ${[...fired].join(', ')}`);
});

test('steady noise gives (almost) no onsets', () => {
  const d = new OnsetDetector({ sampleRate: RATE });
  const hits = detect(pattern(() => 0, 0.1), RATE, (s, t) => d.push(s, t));
  assert.ok(hits.length <= 1, `${hits.length} onsets in noise alone`);
});
