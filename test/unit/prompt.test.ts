import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrompt } from '../../server/steer/prompt.ts';

test('weighted parts, default weight 1, negative weights', () => {
  assert.deepEqual(parsePrompt('robot | red heart:0.5 | water:-0.3'), [
    { text: 'robot', weight: 1, at: 0 },
    { text: 'red heart', weight: 0.5, at: 8 },
    { text: 'water', weight: -0.3, at: 24 },
  ]);
  assert.deepEqual(parsePrompt('  fire  '), [{ text: 'fire', weight: 1, at: 2 }]);
  assert.deepEqual(parsePrompt('a:+2|b: .5|c:1e-1'), [
    { text: 'a', weight: 2, at: 0 },
    { text: 'b', weight: 0.5, at: 5 },
    { text: 'c', weight: 0.1, at: 11 },
  ]);
});

test('a colon followed by anything but a number is text; only ":number" at the end of a part is a weight', () => {
  assert.deepEqual(parsePrompt('person: white hair'), [{ text: 'person: white hair', weight: 1, at: 0 }]);
  assert.deepEqual(parsePrompt('person: white hair:0.5 | clock: 12:30'), [
    { text: 'person: white hair', weight: 0.5, at: 0 },
    { text: 'clock: 12', weight: 30, at: 25 },
  ]);
  assert.deepEqual(parsePrompt('robot | red:abc'), [
    { text: 'robot', weight: 1, at: 0 },
    { text: 'red:abc', weight: 1, at: 8 },
  ]);
  assert.deepEqual(parsePrompt('robot:'), [{ text: 'robot:', weight: 1, at: 0 }]);
  assert.deepEqual(parsePrompt('note: a:NaN'), [{ text: 'note: a:NaN', weight: 1, at: 0 }]);
  assert.deepEqual(parsePrompt('ratio 16:9 screen'), [{ text: 'ratio 16:9 screen', weight: 1, at: 0 }]);
});

test('empty text clears the prompt', () => {
  assert.deepEqual(parsePrompt(''), []);
  assert.deepEqual(parsePrompt('   '), []);
});

test('errors name the character position', () => {
  assert.throws(() => parsePrompt('robot | red:500'), { message: 'prompt: weight 500 at position 12 is outside -100..100' });
  assert.throws(() => parsePrompt('robot: -101'), { message: 'prompt: weight -101 at position 7 is outside -100..100' });
  assert.throws(() => parsePrompt('robot || fire'), { message: 'prompt: empty part at position 7' });
  assert.throws(() => parsePrompt('robot | :2'), { message: 'prompt: empty part at position 8' });
  assert.throws(() => parsePrompt('a:1000'), /outside/);
  assert.throws(() => parsePrompt('a:0 | b:0'), /every weight is 0/);
  assert.throws(() => parsePrompt(Array(17).fill('x').join('|')), /at most 16 parts/);
});
