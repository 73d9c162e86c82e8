// A projector survives a server restart: it keeps its last picture, reconnects by itself when the
// server comes back on the same port, and draws live frames again.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { launchBrowser, openPage, sampleCanvas, difference, artifact, eventually, hasChromium } from '../helpers/browser.ts';

describe('reconnect', { skip: !hasChromium() && 'chromium not installed', timeout: 120_000 }, () => {
  let server: TestServer | null = null;
  let browser: Browser;

  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('the projector and the control page reconnect after a restart on the same port', async () => {
    server = await startTestServer({ fps: 30, params: { speed: 2 } });
    const port = server.port;
    const projector = await openPage(browser, `${server.url}/sketches/projector/?overlay=1`);
    const control = await openPage(browser, `${server.url}/`, { width: 1000, height: 800 });
    type Win = { stage: { status: string; controlStatus: string; meta: { index: number } | null; frames: number } };
    const stageOf = () => projector.page.evaluate(() => {
      const s = (window as unknown as Win).stage;
      return { status: s.status, index: s.meta?.index ?? -1, frames: s.frames };
    });
    try {
      await eventually(async () => (await stageOf()).frames > 5, 15_000, 'first frames');
      await control.page.waitForFunction(() => (window as unknown as Win).stage.controlStatus === 'open', null, { timeout: 15_000 });

      await server.stop();
      server = null;
      await eventually(async () => (await stageOf()).status !== 'open', 10_000, 'the projector to notice the server is gone');
      const held = await sampleCanvas(projector.page);
      assert.ok(held.colours > 12, 'the last picture stays on screen while disconnected');
      await projector.page.screenshot({ path: artifact('reconnect-disconnected.png') });
      await control.page.waitForFunction(() => document.getElementById('conn')?.dataset.state !== 'open', null, { timeout: 10_000 });

      // let a few reconnect attempts fail (each is a console error in both pages), then come back on the same port
      const refused = (errors: string[]) => errors.filter((e) => /WebSocket connection to .* failed/.test(e)).length;
      const [p0, c0] = [refused(projector.errors), refused(control.errors)];
      await eventually(async () => refused(projector.errors) >= p0 + 2 && refused(control.errors) >= c0 + 2, 15_000, 'two refused reconnects in each page');
      server = await startTestServer({ port, fps: 30, params: { speed: 2 }, seed: 99 });
      assert.equal(server.port, port);

      const framesBefore = (await stageOf()).frames;
      await eventually(async () => {
        const s = await stageOf();
        return s.status === 'open' && s.frames > framesBefore + 5;
      }, 20_000, 'the projector to reconnect and receive frames');
      const a = await sampleCanvas(projector.page);
      await eventually(async () => difference(a, await sampleCanvas(projector.page)) > 2, 15_000, 'pixels to change after reconnecting');
      assert.equal((await projector.page.evaluate(() => (window as unknown as { stage: { state: { seed: number } } }).stage.state.seed)), 99, 'state from the new server');
      await projector.page.screenshot({ path: artifact('reconnect-reconnected.png') });

      // the control page reconnects too and can command the new server
      await control.page.waitForFunction(() => (window as unknown as Win).stage.controlStatus === 'open', null, { timeout: 20_000 });
      await control.page.fill('#prompt', 'after restart');
      await control.page.press('#prompt', 'Enter');
      await eventually(async () => (await (await fetch(`${server!.url}/api/state`)).json()).prompt.text === 'after restart', 10_000, 'a prompt after the restart');
      // page errors (exceptions) never; console errors only from the refused connections
      for (const e of [...projector.errors, ...control.errors]) assert.doesNotMatch(e, /^pageerror/, e);
    } finally {
      await projector.page.close();
      await control.page.close();
    }
  });
});
