// Inputs whose source has gone quiet release: an audio band, a MIDI CC or an OSC value that stops
// arriving holds for its timeout (audio 1 s, cc and osc 3 s, or the `hold` it was sent with), then
// fades to rest (0) over 0.5 s and is listed as stale; a new value brings it back at once. All on
// engine time, so a recorded walk replays the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, applyCommand, step, liveParams, type EngineState, type EngineCommand } from '../../server/engine/engine.ts';
import { staleInputs, inputValue, STALE_AFTER, RELEASE } from '../../server/engine/modulation.ts';
import { parseCommand } from '../../server/commands.ts';

const FPS = 50;

/** Run until `seconds`, applying commands at the given times (s); returns the state at each frame. */
function run(seconds: number, script: [number, unknown][]): EngineState[] {
  let s = createEngine({ dim: 8, seed: 1, params: { speed: 0.3 } });
  const out: EngineState[] = [];
  const todo = [...script].sort((a, b) => a[0] - b[0]);
  for (let i = 0; i < seconds * FPS; i++) {
    while (todo.length && todo[0][0] <= s.time + 1e-9) s = applyCommand(s, parseCommand(todo.shift()![1]) as EngineCommand);
    s = step(s, 1 / FPS).state;
    out.push(s);
  }
  return out;
}

const at = (frames: EngineState[], t: number) => frames[Math.round(t * FPS) - 1];
const speed = (s: EngineState) => liveParams(s).speed;

/** A source that sends `value` every 50 ms from 0 until `until` seconds. */
function feed(key: string, value: number, until: number, extra: Record<string, unknown> = {}): [number, unknown][] {
  const out: [number, unknown][] = [];
  for (let t = 0; t <= until + 1e-9; t += 0.05) out.push([t, { type: 'mod.input', values: { [key]: value }, ...extra }]);
  return out;
}

test('an audio input releases 1 s after its page stops sending, and shows as stale', () => {
  const frames = run(5, [[0, { type: 'mod.set', target: 'speed', source: 'audio:low', depth: 1 }], ...feed('audio:low', 0.8, 2)]);
  assert.ok(Math.abs(speed(at(frames, 1.5)) - 1.1) < 1e-9, 'moving with the input while it arrives');
  assert.ok(Math.abs(speed(at(frames, 2 + STALE_AFTER.audio - 0.05)) - 1.1) < 1e-9, 'held until the timeout');
  assert.deepEqual(staleInputs(at(frames, 2.5).mod, at(frames, 2.5).time), []);
  const fading = speed(at(frames, 2 + STALE_AFTER.audio + RELEASE / 2));
  assert.ok(fading > 0.35 && fading < 1.05, `fading: ${fading}`);
  const released = at(frames, 2 + STALE_AFTER.audio + RELEASE + 0.1);
  assert.equal(speed(released), 0.3, 'back to the set speed');
  assert.deepEqual(staleInputs(released.mod, released.time), ['audio:low']);
  assert.equal(inputValue(released.mod, 'audio:low', released.time), 0);
});

test('CC and OSC inputs release after 3 s; a new value brings them back at once', () => {
  const script: [number, unknown][] = [
    [0, { type: 'mod.set', id: 'k', target: 'speed', source: 'cc:74', depth: 1 }],
    [0, { type: 'mod.set', id: 'o', target: 'truncation', source: 'osc:fader3', depth: 0.5 }],
    [0, { type: 'mod.input', values: { 'cc:74': 0.5, 'osc:fader3': 1 } }],
    [6, { type: 'mod.input', values: { 'cc:74': 0.5 } }],
  ];
  const frames = run(7, script);
  const base = liveParams(createEngine({ dim: 8, seed: 1, params: { speed: 0.3 } })).truncation;
  assert.ok(Math.abs(speed(at(frames, 2.9)) - 0.8) < 1e-9);
  assert.ok(Math.abs(liveParams(at(frames, 2.9)).truncation - (base + 0.5)) < 1e-9);
  assert.equal(speed(at(frames, 3 + RELEASE + 0.1)), 0.3);
  assert.equal(liveParams(at(frames, 3 + RELEASE + 0.1)).truncation, base);
  assert.deepEqual(staleInputs(at(frames, 4).mod, at(frames, 4).time).sort(), ['cc:74', 'osc:fader3']);
  assert.ok(Math.abs(speed(at(frames, 6.1)) - 0.8) < 1e-9, 'a fresh value applies at once');
  assert.deepEqual(staleInputs(at(frames, 6.1).mod, at(frames, 6.1).time), ['osc:fader3']);
});

test('a value sent with a hold stays that long (an OSC controller that sends only on change)', () => {
  const frames = run(8, [
    [0, { type: 'mod.set', target: 'speed', source: 'osc:fader1', depth: 1 }],
    [0, { type: 'mod.input', values: { 'osc:fader1': 0.25 }, hold: 6 }],
  ]);
  assert.ok(Math.abs(speed(at(frames, 5.9)) - 0.55) < 1e-9);
  assert.equal(speed(at(frames, 6 + RELEASE + 0.1)), 0.3);
  assert.throws(() => parseCommand({ type: 'mod.input', values: { 'osc:x': 1 }, hold: -1 }), /hold must be/);
});
