// Numbers as performers typed them: float32 inputs become the shortest decimal of the same float32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { float32Decimal } from '../../server/numbers.ts';

test('a float32 becomes the shortest decimal that is the same float32', () => {
  for (const typed of [0.41, 0.1, 0.35, 1.25, 0.3, 2.2, 1e-7, 3.4e38, 0.123456, 440.5]) {
    const wire = Math.fround(typed);
    assert.equal(float32Decimal(wire), typed, `${wire} -> ${typed}`);
    assert.equal(Math.fround(float32Decimal(wire)), wire, 'reads back as the same float32');
  }
  assert.equal(String(float32Decimal(Math.fround(0.41))), '0.41');
});

test('other numbers stay as they are', () => {
  for (const v of [0.41, 1 / 3, Math.PI, 123456789, -0.1, 0, 42, NaN, Infinity]) assert.ok(Object.is(float32Decimal(v), v), String(v));
});
