// The audio page's tempo estimate (sketches/audio/analysis.js) on synthetic onset trains: quarter
// notes, eighth notes, a kick with an off-beat hi-hat, swung eighths, and each with ±10 ms of
// jitter, from 90 to 174 BPM. The estimate is the beat, within half a BPM (one with jitter).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TempoEstimator } from '../../sketches/audio/analysis.js';
import { noise } from '../helpers/spectrum.ts';

const TEMPI = [90, 100, 118, 120, 128, 140, 160, 174];

/** Onset times (ms) over `beats` beats of a pattern that repeats every two beats (`at`: beats into it). */
function train(bpm: number, at: number[], beats = 16, jitterMs = 0, seed = 3): number[] {
  const p = 60000 / bpm;
  const n = noise(seed);
  const out: number[] = [];
  for (let b = 0; b < beats; b += 2) for (const f of at) out.push(1000 + (b + f) * p + jitterMs * n());
  return out;
}

const PATTERNS: Record<string, number[]> = {
  quarters: [0, 1],
  eighths: [0, 0.5, 1, 1.5],
  'kick on 1 and 3 with off-beat hats': [0, 0.5, 1.5],
  'swung eighths': [0, 2 / 3, 1, 5 / 3],
};

function estimate(times: number[]): number | null {
  const e = new TempoEstimator();
  for (const t of times) e.push(t);
  return e.bpm;
}

for (const [name, at] of Object.entries(PATTERNS)) {
  test(`${name}: the beat within 0.5 BPM, and within 1 BPM with ±10 ms jitter, at 90-174 BPM`, () => {
    const misses: string[] = [];
    for (const bpm of TEMPI) {
      const clean = estimate(train(bpm, at));
      if (clean === null || Math.abs(clean - bpm) > 0.5) misses.push(`${bpm} -> ${clean?.toFixed(2)}`);
      for (const seed of [3, 4, 5]) {
        const jittered = estimate(train(bpm, at, 16, 10, seed));
        if (jittered === null || Math.abs(jittered - bpm) > 1) misses.push(`${bpm} ±10 ms (${seed}) -> ${jittered?.toFixed(2)}`);
      }
    }
    assert.deepEqual(misses, []);
  });
}

test('the issue\'s case: kick on the beat and hat off the beat at 120 BPM reads 120, not 116 or 123', () => {
  const bpm = estimate(train(120, [0, 0.5, 1, 1.5], 12, 5));
  assert.ok(bpm !== null && Math.abs(bpm - 120) < 0.5, `read ${bpm}`);
});

test('fewer than five onsets give no estimate; a wild onset among regular ones moves it little', () => {
  assert.equal(estimate([0, 500, 1000, 1500]), null);
  const times = train(128, [0, 1]);
  times.splice(10, 0, times[9] + 137); // a stray onset between two beats
  const bpm = estimate(times);
  assert.ok(bpm !== null && Math.abs(bpm - 128) < 0.5, `read ${bpm}`);
});
