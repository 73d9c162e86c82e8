// The restart policy both runtimes share (worker thread and torch child): backoff by the crashes of
// the last minute, a hold after MAX_CRASHES, the window forgetting old crashes, and cancel().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Restarts, MAX_CRASHES, CRASH_WINDOW_MS, HOLD_MS } from '../../server/runtime/restarts.ts';
import { RuntimeCrashError } from '../../server/runtime/runtime.ts';

/** A clock the test moves (the policy reads time, it does not wait on it: delays come back as numbers). */
function clock() {
  let t = 1000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('restarts back off with the crashes of the window and hold after MAX_CRASHES, with a clear error', async () => {
  const c = clock();
  const r = new Restarts('torch runtime child process', c.now);
  const delays: number[] = [];
  for (let i = 1; i < MAX_CRASHES; i++) {
    const w = r.crashed(new Error(`boom ${i}`));
    assert.equal(w.held, false, `crash ${i} is not a hold`);
    assert.equal(r.heldError, null);
    delays.push(w.delay);
    r.cancel();
    await w.due;
    c.advance(100);
  }
  assert.deepEqual(delays, [0, 250, 1000, 5000]);
  const held = r.crashed(new Error('boom 5'));
  assert.equal(held.delay, HOLD_MS);
  assert.equal(held.held, true);
  assert.ok(r.heldError instanceof RuntimeCrashError, 'calls fail with the held error while the hold lasts');
  assert.match(r.heldError.message, /torch runtime child process crashed 5 times in 60 s \(last: boom 5\); holding, next try in 60 s/);
  // close() does not wait out the hold
  r.cancel();
  await held.due;
  assert.equal(r.heldError, null, 'the hold ends with its wait');
  // after a hold the count starts again: the next crash restarts at once
  const after = r.crashed(new Error('again'));
  assert.equal(after.delay, 0);
  assert.equal(after.held, false);
  r.cancel();
  await after.due;
});

test('crashes older than the window are forgotten: a runtime that crashes once in a while is never held', async () => {
  const c = clock();
  const r = new Restarts('runtime worker', c.now);
  for (let i = 0; i < 3 * MAX_CRASHES; i++) {
    const w = r.crashed(new Error('rare'));
    assert.equal(w.held, false);
    assert.equal(w.delay, 0, 'one crash in the window restarts at once');
    r.cancel();
    await w.due;
    c.advance(CRASH_WINDOW_MS + 1);
  }
  // but two close together back off
  r.crashed(new Error('a'));
  c.advance(10);
  const second = r.crashed(new Error('b'));
  assert.equal(second.delay, 250);
  r.cancel();
  await second.due;
});

test('a restart that is due resolves by itself after its delay', async () => {
  // the policy's timers do not keep a process alive (a server closing does not wait for them): this one does
  const alive = setTimeout(() => {}, 5000);
  const r = new Restarts('runtime worker');
  const w = r.crashed(new Error('x'));
  assert.equal(w.delay, 0);
  await w.due; // no cancel: the timer fires
  const w2 = r.crashed(new Error('y'));
  assert.equal(w2.delay, 250);
  const t0 = performance.now();
  await w2.due;
  assert.ok(performance.now() - t0 >= 240, 'the backoff is waited');
  clearTimeout(alive);
});
