// The audio page's input gain and noise gate (sketches/audio/analysis.js): hiss alone reads 0 in
// every band, a kick still fills the low band, and gain lifts a quiet input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BANDS, bandDb, bandLevel, GATE_DB } from '../../sketches/audio/analysis.js';
import { spectrumDb, noise } from '../helpers/spectrum.ts';

const RATE = 48000;

function signal(f: (t: number, n: () => number) => number): Float32Array {
  const out = new Float32Array(4096);
  const n = noise(5);
  for (let i = 0; i < out.length; i++) out[i] = f(i / RATE, n);
  return out;
}
const low = (x: Float32Array, opts?: { gain?: number; gate?: number }) => bandLevel(bandDb(spectrumDb(x, x.length), RATE, BANDS.low), opts);

test('hiss alone reads 0 with the default gate (it read about 0.2 before there was one)', () => {
  const hiss = signal((_, n) => 0.01 * n());
  assert.equal(low(hiss), 0);
  for (const band of Object.values(BANDS)) assert.equal(bandLevel(bandDb(spectrumDb(hiss, hiss.length), RATE, band)), 0);
  assert.ok(low(hiss, { gate: -100 }) > 0.1, 'with the gate open the hiss shows');
});

test('a bass tone over the hiss fills the low band; gain lifts a quiet one', () => {
  const loud = signal((t, n) => 0.5 * Math.sin(2 * Math.PI * 60 * t) + 0.01 * n());
  assert.ok(low(loud) > 0.5, `low ${low(loud)}`);
  const quiet = signal((t, n) => 0.01 * Math.sin(2 * Math.PI * 60 * t) + 0.001 * n());
  assert.ok(low(quiet, { gain: 24 }) > low(quiet) + 0.2, `gain: ${low(quiet)} -> ${low(quiet, { gain: 24 })}`);
  assert.ok(GATE_DB < -40 && GATE_DB > -90);
});
