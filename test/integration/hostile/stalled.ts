// Defect 4: viewers that stop reading while a fader moves at 30 Hz for 20 s. Each holds a bounded
// backlog (latest-wins for frames and state alike), state messages stay small with 80 stored
// keyframe latents, and a viewer that reads again gets the newest state.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startTestServer, waitFor } from '../../helpers/server.ts';
import { counter } from '../../helpers/fuzz.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
export const SECONDS = 20;
export const HZ = 30;

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Defect 4, on its own server: returns what it measured. */
export async function stalledViewers(): Promise<Record<string, number>> {
  const s = await startTestServer({ fps: 30 });
  const ws = s.url.replace('http', 'ws');
  const opened: WebSocket[] = [];
  try {
    // 80 stored latents: the state used to repeat all of them in every message.
    const dim = s.stage.model.manifest.generator.z.dim;
    const keys = Array.from({ length: 80 }, (_, k) => Array.from({ length: dim }, (_, i) => Math.sin(k * 31 + i)));
    const set = await s.command({ type: 'keyframes', keys, hold: 1, transition: 1 });
    assert.equal(set.status, 200);
    const stateBytes = JSON.stringify({ type: 'state', state: set.body }).length;
    assert.ok(stateBytes < 8 * 1024, `a state message with 80 stored keys is ${stateBytes} bytes`);
    assert.equal(set.body.keyframes.count, 80);
    const full = await (await fetch(`${s.url}/api/keys`)).json();
    assert.equal(full.keys.length, 80);
    assert.equal(full.hash, set.body.keyframes.hash);

    // Viewers that never read again: two frame viewers (JPEG 512 and RGBA 256) and a control client.
    const stalled = await Promise.all([open(`${ws}/frames?format=jpeg&size=512`), open(`${ws}/frames?format=rgba&size=256`), open(`${ws}/control`)]);
    opened.push(...stalled);
    for (const v of stalled) v.pause();
    const fader = await open(`${ws}/control`);
    opened.push(fader);
    fader.on('message', () => {});

    let maxBacklog = 0;
    let last = 0;
    let rssBefore = 0;
    let dropsBefore = 0;
    const warmup = HZ; // encoders and buffers reach their working size first
    const total = warmup + SECONDS * HZ;
    for (let i = 0; i < total; i++) {
      if (i === warmup) {
        gc();
        rssBefore = process.memoryUsage().rss;
        dropsBefore = await counter(s.url, 'latentstage_ws_text_coalesced_total');
      }
      last = Math.round((1 + Math.sin(i / 10)) * 150) / 100; // 0..3
      fader.send(JSON.stringify({ type: 'set', speed: last }));
      await new Promise((r) => setTimeout(r, 1000 / HZ));
      if (i % HZ === 0) maxBacklog = Math.max(maxBacklog, await counter(s.url, 'latentstage_ws_backlog_bytes'));
    }
    await waitFor(() => s.stage.engine.params.speed === last, 5000, 'the last fader value applied');
    maxBacklog = Math.max(maxBacklog, await counter(s.url, 'latentstage_ws_backlog_bytes'));
    gc();
    const rssAfter = process.memoryUsage().rss;
    const drops = (await counter(s.url, 'latentstage_ws_text_coalesced_total')) - dropsBefore;
    // 256 KiB of text limit + one RGBA frame in flight + the newest waiting messages.
    assert.ok(maxBacklog < 768 * 1024, `a stalled client's backlog reached ${maxBacklog} bytes`);
    assert.ok(drops > 0, 'stalled clients had state messages replaced rather than queued');
    // RSS is reported, not asserted: it is the whole process's, and the fuzzers run beside this test.

    // A stalled control client that reads again gets the newest state.
    const control = stalled[2];
    const newest = new Promise<void>((resolve) => {
      control.on('message', (d) => {
        const m = JSON.parse(d.toString());
        if (m.type === 'state' && m.state.params.speed === last) resolve();
      });
    });
    control.resume();
    await newest;

    return { rssBeforeMiB: rssBefore / 2 ** 20, rssAfterMiB: rssAfter / 2 ** 20, maxBacklogKiB: maxBacklog / 1024, coalesced: drops, stateBytes };
  } finally {
    for (const w of opened) w.terminate();
    await s.stop();
  }
}
