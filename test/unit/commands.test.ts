import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand, parseJson, CommandError, commandTypes } from '../../server/commands.ts';
import { defaultParams, numericParams } from '../../server/params.ts';

test('valid commands parse', () => {
  assert.deepEqual(parseCommand({ type: 'prompt', text: 'red heart', fade: 2 }), { type: 'prompt', text: 'red heart', fade: 2 });
  assert.deepEqual(parseCommand({ type: 'set', speed: 0.5, mode: 'loop' }), { type: 'set', speed: 0.5, mode: 'loop' });
  assert.deepEqual(parseCommand({ type: 'seed', seed: 42 }), { type: 'seed', seed: 42 });
  assert.deepEqual(parseCommand({ type: 'preset.load', name: 'calm-drift' }), { type: 'preset.load', name: 'calm-drift' });
  assert.deepEqual(parseCommand({ type: 'keyframes', keys: [1, 2, [0.1, 0.2]] }).type, 'keyframes');
});

const bad: [unknown, RegExp][] = [
  [null, /JSON object/],
  [[1, 2], /JSON object/],
  ['prompt', /JSON object/],
  [{}, /string "type"/],
  [{ type: 3 }, /string "type"/],
  [{ type: 'explode' }, /unknown command "explode" \(known: /],
  [{ type: 'prompt' }, /prompt: text/],
  [{ type: 'prompt', text: 5 }, /text must be a string/],
  [{ type: 'prompt', text: 'x'.repeat(1001) }, /at most 1000/],
  [{ type: 'prompt', text: 'a', fade: -1 }, /fade must be >= 0/],
  [{ type: 'prompt', text: 'a', colour: 'red' }, /colour/],
  [{ type: 'set' }, /at least one parameter/],
  [{ type: 'set', speed: 'fast' }, /speed must be a number/],
  [{ type: 'set', speed: 99 }, /speed must be between 0 and 4/],
  [{ type: 'set', speed: Number.NaN }, /speed/],
  [{ type: 'set', mode: 'spiral' }, /mode/],
  [{ type: 'set', wobble: 1 }, /wobble/],
  [{ type: 'seed', seed: 1.5 }, /seed must be an integer/],
  [{ type: 'seed', seed: -1 }, /seed must be >= 0/],
  [{ type: 'seed', seed: 2 ** 32 }, /seed must be < 2\^32/],
  [{ type: 'seed' }, /seed/],
  [{ type: 'keyframes', keys: [] }, /at least one/],
  [{ type: 'preset.load', name: '../etc/passwd' }, /name must be 1-64 characters/],
  [{ type: 'preset.save', name: 'UPPER' }, /name must be/],
  [{ type: 'preset.save', name: 'a'.repeat(65) }, /name must be/],
];

for (const [input, why] of bad) {
  test(`rejects ${JSON.stringify(input)?.slice(0, 60)}`, () => {
    assert.throws(
      () => parseCommand(input),
      (err: unknown) => err instanceof CommandError && err.status === 400 && why.test(err.message),
    );
  });
}

test('malformed JSON is reported as such', () => {
  assert.throws(() => parseCommand(parseJson('{"type": "set",')), (err: unknown) => err instanceof CommandError && err.status === 400 && /malformed JSON/.test(err.message));
});

test('every command type has a schema and the defaults are within their ranges', () => {
  assert.ok(commandTypes.includes('prompt') && commandTypes.includes('set'));
  const d = defaultParams();
  for (const [name, p] of Object.entries(numericParams)) {
    const v = d[name as keyof typeof numericParams];
    assert.ok(v >= p.min && v <= p.max, name);
    parseCommand({ type: 'set', [name]: p.min });
    parseCommand({ type: 'set', [name]: p.max });
  }
});
