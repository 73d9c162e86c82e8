// No single message, packet or request on any surface stops the process or the frame loop.
// The seeded fuzzers (test/integration/hostile/) share one server with OSC, one surface after
// another; the stalled-viewer test runs beside them on its own server, since it mostly waits.
// FUZZ_SEED=n reruns with other inputs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { FUZZ_SEED } from '../helpers/fuzz.ts';
import { deepIds, controlFuzz, CONTROL_INPUTS } from './hostile/control.ts';
import { httpFuzz, HTTP_REQUESTS } from './hostile/http.ts';
import { oscFuzz, OSC_DATAGRAMS } from './hostile/osc.ts';
import { stalledViewers, SECONDS, HZ } from './hostile/stalled.ts';

describe('hostile input', { concurrency: true, timeout: 240_000 }, () => {
  test(`defect 4: stalled viewers stay bounded while a fader moves at ${HZ} Hz for ${SECONDS} s`, async (t) => {
    const m = await stalledViewers();
    t.diagnostic(`stalled viewers: process rss (fuzzers included) ${m.rssBeforeMiB.toFixed(1)} -> ${m.rssAfterMiB.toFixed(1)} MiB, max backlog ${m.maxBacklogKiB.toFixed(0)} KiB, ${m.coalesced} messages coalesced, state message ${m.stateBytes} bytes with 80 stored keys`);
  });

  describe(`seeded fuzz (seed ${FUZZ_SEED})`, { concurrency: 1 }, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ fps: 20, osc: { port: 0 } });
      await waitFor(() => s.stage.latest !== null, 20_000, 'the first frame');
    });
    after(async () => {
      await s?.stop();
    });

    test('defect 1: a /control message whose id is 5,000 levels deep is answered, and the process lives', async () => {
      await deepIds(s);
    });
    test(`/control: ${CONTROL_INPUTS} messages, each answered, rejects counted and change nothing`, async (t) => {
      t.diagnostic(`control fuzz: ${JSON.stringify(await controlFuzz(s))}`);
    });
    test(`HTTP: ${HTTP_REQUESTS} requests on one keep-alive connection, each answered, refusals counted`, async (t) => {
      t.diagnostic(`http fuzz: ${JSON.stringify(await httpFuzz(s))}`);
    });
    test(`OSC: ${OSC_DATAGRAMS} datagrams over UDP, each counted, hostile ones change nothing`, async (t) => {
      t.diagnostic(`osc fuzz: ${JSON.stringify(await oscFuzz(s))}`);
    });
    test('the process is alive and the frame loop runs after all of it', async () => {
      const frame = s.stage.engine.frame;
      await waitFor(() => s.stage.engine.frame > frame + 5, 10_000, 'frames after the fuzz');
      const health = await (await fetch(`${s.url}/health`)).json();
      assert.equal(health.ok, true);
    });
  });
});
