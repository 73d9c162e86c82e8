// One short show on the performer's pages, at 1280x720: type a prompt, learn a MIDI knob on a
// slider, route the audio page's low band (a fake microphone playing kicks) onto the walk, then
// close the audio page and watch the route's input go stale and release. Screenshots of the
// control page and the audio page go to test/artifacts.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { launchBrowser, openPage, eventually, hasChromium, artifact } from '../helpers/browser.ts';
import { kickWav } from '../helpers/audio.ts';
import { fakeMidi } from '../helpers/midi.ts';
import { STALE_AFTER, RELEASE } from '../../server/engine/modulation.ts';

const VIEWPORT = { width: 1280, height: 720 };

async function state(server: TestServer): Promise<any> {
  return (await fetch(`${server.url}/api/state`)).json();
}

/** Is the element entirely on screen without scrolling? */
async function inView(page: Page, selector: string): Promise<boolean> {
  const box = await page.locator(selector).first().boundingBox();
  return Boolean(box && box.y >= 0 && box.y + box.height <= VIEWPORT.height && box.x >= 0 && box.x + box.width <= VIEWPORT.width);
}

describe('a short show', { skip: !hasChromium() && 'chromium not installed', timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let tmp: string;

  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-show-'));
    const wav = path.join(tmp, 'kicks.wav');
    kickWav(wav, 30);
    server = await startTestServer({ fps: 30 });
    browser = await launchBrowser(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required']);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('prompt, MIDI learn, an audio route, then the audio page closes and its input releases', async () => {
    const { page: control, errors, close } = await openPage(browser, `${server.url}/`, VIEWPORT, fakeMidi);
    try {
      await control.waitForFunction(() => (window as any).stage?.controlStatus === 'open' && (window as any).midi?.inputs === 1);
      await control.waitForSelector('#param-truncation');

      // 1. a prompt
      await control.fill('#prompt', 'flame in the dark');
      await control.press('#prompt', 'Enter');
      await eventually(async () => (await state(server)).prompt.text === 'flame in the dark', 10_000, 'the prompt');
      await control.waitForSelector('#warnings:not([hidden])'); // the fixture model warns about every word
      // What a show needs is on screen at 1280x720 without scrolling, warnings and all.
      for (const sel of ['#prompt', '#prompt-form button', '#param-speed', '#param-transition', '#param-search', '#seed-random', '#tap', '#beat', '#bpm', '#record-toggle', '#preset-next', '#mod-form button[type=submit]', '#midi-learn', '#preview']) {
        assert.ok(await inView(control, sel), `${sel} is on screen at 1280x720`);
      }


      // 2. learn CC 21 onto speed: the armed slider is marked and the banner says what to do
      await control.click('#midi-learn');
      assert.equal(await control.locator('#learn-banner').isVisible(), true);
      await control.click('#param-speed');
      assert.equal(await control.locator('.param.midi-armed #param-speed').count(), 1, 'the armed slider is marked');
      assert.match((await control.textContent('#learn-banner')) ?? '', /speed/);
      await control.evaluate(() => (window as any).scriptedMidi.send([0xb0, 21, 64]));
      await eventually(async () => (await state(server)).midi.mappings.some((m: any) => m.cc === 21 && m.param === 'speed'), 10_000, 'the learned mapping');
      assert.equal(await control.locator('#learn-banner').isVisible(), false);
      await control.evaluate(() => (window as any).scriptedMidi.send([0xb0, 21, 127]));
      await eventually(async () => (await state(server)).params.speed === 4, 10_000, 'the knob to move speed');

      // 3. a route from the audio page's low band onto truncation, from the modulation form
      await control.selectOption('#mod-target', 'truncation');
      await control.selectOption('#mod-source', 'audio:low');
      assert.equal(await control.locator('#mod-rate').isVisible(), false, 'no rate for an audio source');
      await control.fill('#mod-depth', '50');
      await control.click('#mod-form button[type=submit]');
      await eventually(async () => (await state(server)).modulation.routes.some((r: any) => r.source === 'audio:low' && r.target === 'truncation'), 10_000, 'the audio route');
      const setTruncation = (await state(server)).params.truncation;

      const audio = await control.context().newPage();
      audio.on('pageerror', (err) => errors.push(`audio: ${err.message}`));
      await audio.goto(`${server.url}/sketches/audio/?autostart=1`);
      await audio.waitForFunction(() => (window as any).audio?.running === true, null, { timeout: 15_000 });
      // the kicks move the input and, through the route, the live truncation
      await eventually(async () => {
        const m = (await state(server)).modulation;
        return (m.inputs['audio:low'] ?? 0) > 0.3 && m.live.truncation > setTruncation + 0.1 && !m.stale.includes('audio:low');
      }, 15_000, 'audio:low moving the live truncation');
      await control.waitForFunction(() => /→/.test(document.querySelector('#params-panel output.live:not([hidden])')?.textContent ?? ''));
      await control.waitForSelector('#mod-routes li:not(.stale)');
      await control.screenshot({ path: artifact('show-control-1280x720.png') });
      await audio.setViewportSize(VIEWPORT);
      await audio.screenshot({ path: artifact('show-audio-1280x720.png') });

      // 4. the audio page closes: the input goes stale and releases, the walk returns to the set value
      const closedAt = performance.now();
      await audio.close();
      const released = await eventually(async () => {
        const m = (await state(server)).modulation;
        return m.stale.includes('audio:low') && m.inputs['audio:low'] === 0 && m.live.truncation === setTruncation && m;
      }, 10_000, 'audio:low to go stale and release');
      const after = (performance.now() - closedAt) / 1000;
      assert.ok(after >= STALE_AFTER.audio - 0.3, `released ${after.toFixed(2)} s after closing: not before the hold`);
      assert.ok(after < STALE_AFTER.audio + RELEASE + 3, `released ${after.toFixed(2)} s after closing`);
      assert.equal(released.routes.length, 1, 'the route stays, resting');
      await control.waitForSelector('#mod-routes li.stale');
      assert.match((await control.textContent('#mod-routes li')) ?? '', /stale/);
      await control.screenshot({ path: artifact('show-control-released.png') });
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });
});
