// Slider scales of the control page (sketches/control/scale.js): parameters that span decades get
// a log slider, so one pixel of a 300 px slider moves a 16 s period by well under a second (it
// jumped 16 s -> 61 s on a linear 96 px slider); both ends stay reachable and values round-trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLog, isToggle, toUnit, fromUnit, nudge } from '../../sketches/control/scale.js';
import { numericParams } from '../../server/params.ts';

const PX = 300;

test('period, fade, hold and transition are log; speed, truncation, strength linear; search a switch', () => {
  for (const name of ['period', 'fade', 'hold', 'transition'] as const) assert.ok(isLog(numericParams[name]), name);
  for (const name of ['speed', 'truncation', 'strength'] as const) assert.ok(!isLog(numericParams[name]), name);
  assert.ok(isToggle(numericParams.search));
});

test('one pixel moves a short time a little and a long time more', () => {
  const p = numericParams.period;
  const at16 = toUnit(p, 16);
  const next = fromUnit(p, at16 + 1 / PX);
  assert.ok(next - 16 <= 1, `one pixel from 16 s goes to ${next} s`);
  const at1800 = toUnit(p, 1800);
  assert.ok(fromUnit(p, at1800 + 1 / PX) - 1800 > 10, 'near an hour a pixel is many seconds');
  for (const name of ['fade', 'hold', 'transition'] as const) {
    const q = numericParams[name];
    const step = fromUnit(q, toUnit(q, 2) + 1 / PX) - 2;
    assert.ok(step <= 0.2, `${name}: one pixel from 2 s moves ${step} s (was about 6 s)`);
  }
});

test('ends reachable, values round-trip to the step, arrows step (shift: a tenth)', () => {
  for (const p of Object.values(numericParams)) {
    assert.equal(fromUnit(p, 0), p.min);
    assert.equal(fromUnit(p, 1), p.max);
    for (const v of [p.min, p.default, p.max]) assert.ok(Math.abs(fromUnit(p, toUnit(p, v)) - v) <= (p.step ?? 0.01) / 2 + 1e-9, `${v} round-trips`);
  }
  const s = numericParams.speed;
  assert.equal(nudge(s, 0.3, 1), 0.31);
  assert.equal(nudge(s, 0.3, 1, true), 0.301);
  assert.equal(nudge(s, 0, -1), 0, 'stays in range');
  assert.equal(nudge(numericParams.period, 100, 1), 105, 'a log parameter steps by 5%');
});
