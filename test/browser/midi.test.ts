// Web MIDI on the control page, in Chromium. navigator.requestMIDIAccess is the one stand-in: a
// scripted input port that delivers real MIDI bytes (CC, note on, clock, start/stop) to the page.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { launchBrowser, openPage, eventually, hasChromium, artifact } from '../helpers/browser.ts';
import { numericParams } from '../../server/params.ts';
import { fakeMidi } from '../helpers/midi.ts';


async function state(server: TestServer): Promise<any> {
  return (await fetch(`${server.url}/api/state`)).json();
}

async function midi(page: Page, bytes: number[]): Promise<void> {
  await page.evaluate((b) => (window as any).scriptedMidi.send(b), bytes);
}

describe('MIDI on the control page', { skip: !hasChromium() && 'chromium not installed', timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    server = await startTestServer({ fps: 30 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('learn a CC onto speed and a note onto a random seed; the mapping is shared; clock sets the tempo', async () => {
    const { page, errors, close } = await openPage(browser, `${server.url}/`, { width: 1200, height: 1000 }, fakeMidi);
    try {
      await page.waitForFunction(() => (window as any).stage?.controlStatus === 'open' && (window as any).midi?.inputs === 1);
      await page.waitForSelector('#param-speed');

      // Learn CC 21 (channel 1) onto speed: click learn, click the slider, turn the knob.
      await page.click('#midi-learn');
      await page.click('#param-speed');
      await midi(page, [0xb0, 21, 64]);
      await eventually(async () => (await state(server)).midi.mappings.some((m: any) => m.cc === 21 && m.param === 'speed' && m.channel === 1), 10_000, 'the learned CC mapping on the server');
      // Moving the knob moves the state.
      await midi(page, [0xb0, 21, 127]);
      await eventually(async () => (await state(server)).params.speed === 4, 10_000, 'speed at the top of its range');
      await midi(page, [0xb0, 21, 0]);
      await eventually(async () => (await state(server)).params.speed === 0, 10_000, 'speed at 0');
      await midi(page, [0xb0, 21, 32]);
      await eventually(async () => Math.abs((await state(server)).params.speed - 1.01) < 0.011, 10_000, 'speed at a quarter');
      // Another channel is a different knob.
      await midi(page, [0xb1, 21, 127]);

      // Learn note 36 onto the random seed: the pad changes the seed.
      await page.click('#midi-learn');
      await page.click('#seed-random');
      const seed0 = (await state(server)).seed;
      await midi(page, [0x90, 36, 100]);
      await eventually(async () => (await state(server)).midi.mappings.some((m: any) => m.note === 36 && m.action === 'seed.random'), 10_000, 'the learned note mapping');
      assert.equal((await state(server)).seed, seed0, 'learning does not fire the trigger');
      await midi(page, [0x90, 36, 100]);
      await midi(page, [0x80, 36, 0]);
      await eventually(async () => (await state(server)).seed !== seed0, 10_000, 'a new seed from the pad');
      assert.equal((await state(server)).params.speed, 1.01, 'channel 2 did not move speed');

      // Every control page gets the same mapping.
      const other = await openPage(browser, `${server.url}/`);
      await other.page.waitForFunction(() => document.querySelectorAll('#midi-map li').length === 2);
      await other.page.close();

      // MIDI clock at 128 BPM sets the tempo.
      await page.evaluate(() => (window as any).scriptedMidi.send([0xfa]));
      await page.evaluate(() => (window as any).scriptedMidi.clock(128, 12));
      await eventually(async () => Math.abs((await state(server)).tempo.bpm - 128) <= 1, 10_000, 'tempo 128 from the clock');
      const estimate = await page.evaluate(() => (window as any).midi.bpm);
      assert.ok(Math.abs(estimate - 128) <= 1, `clock estimate ${estimate}`);
      // what the page shows is what the server holds (they were up to 0.5 BPM apart)
      await eventually(async () => (await state(server)).tempo.bpm === (await page.evaluate(() => (window as any).midi.bpm)), 5_000, 'the server to hold the tempo the page shows');
      await page.screenshot({ path: artifact('control-midi.png') });
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('clock start and stop start and stop the schedule; modulated sliders show their live value', async () => {
    const { page, errors, close } = await openPage(browser, `${server.url}/`, undefined, fakeMidi);
    try {
      await page.waitForFunction(() => (window as any).stage?.controlStatus === 'open' && (window as any).midi?.inputs === 1);
      await server.command({ type: 'schedule.start', schedule: { unit: 'beats', loop: true, steps: [{ at: 0, prompt: 'sun' }, { at: 4, prompt: 'tree' }] } });
      await server.command({ type: 'schedule.stop' });
      assert.equal((await state(server)).schedule, null);
      await midi(page, [0xfa]);
      await eventually(async () => (await state(server)).schedule !== null, 10_000, 'the schedule to start');
      await midi(page, [0xfc]);
      await eventually(async () => (await state(server)).schedule === null, 10_000, 'the schedule to stop');

      // The page's modulation form adds a route; a modulated slider shows its live value moving
      // (the set value stays put); × removes the route.
      await page.selectOption('#mod-target', 'truncation');
      await page.selectOption('#mod-source', 'lfo:sine');
      await page.fill('#mod-rate', '1');
      await page.fill('#mod-depth', '25');
      await page.click('#mod-form button[type=submit]');
      await eventually(async () => {
        const r = (await state(server)).modulation.routes;
        return r.length === 1 && r[0].target === 'truncation' && r[0].depth === 0.5 && r[0].source.lfo === 'sine' && r[0].source.hz === 1;
      }, 10_000, 'the route from the form');
      await page.waitForSelector('#mod-routes li');
      await page.waitForSelector('#param-truncation + .mod-mark:not([hidden])');
      const seen = new Set<string>();
      await eventually(async () => {
        seen.add(await page.$eval('#param-truncation', (el) => (el as HTMLElement).dataset.live ?? ''));
        return seen.size >= 5;
      }, 10_000, 'the live value to move');
      assert.equal(await page.inputValue('#param-truncation'), String(numericParams.truncation.default));
      await page.click('#mod-routes li button');
      await eventually(async () => (await state(server)).modulation.routes.length === 0, 10_000, 'the route removed');
      await page.waitForSelector('#param-truncation + .mod-mark[hidden]', { state: 'attached' });
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('a knob held still stays live while the page is open; closing the page releases it', async () => {
    const { page, errors, close } = await openPage(browser, `${server.url}/`, undefined, fakeMidi);
    try {
      await page.waitForFunction(() => (window as any).stage?.controlStatus === 'open' && (window as any).midi?.inputs === 1);
      assert.equal((await server.command({ type: 'mod.set', id: 'knob', target: 'strength', source: 'cc:30', depth: -0.5 })).status, 200);
      await page.waitForFunction(() => (window as any).stage?.state?.modulation?.routes?.some((r: any) => r.source === 'cc:30'));
      await midi(page, [0xb0, 30, 127]);
      await eventually(async () => (await state(server)).modulation.inputs['cc:30'] === 1, 10_000, 'the knob as an input');
      // held still for longer than the server holds a CC (3 s): the page keeps it alive
      const until = Date.now() + 4500;
      while (Date.now() < until) {
        const m = (await state(server)).modulation;
        assert.equal(m.inputs['cc:30'], 1, 'still 1 while the page is open');
        assert.ok(!m.stale.includes('cc:30'), 'not stale while the page is open');
        await new Promise((r) => setTimeout(r, 250));
      }
      await page.close();
      await eventually(async () => {
        const m = (await state(server)).modulation;
        return m.stale.includes('cc:30') && m.inputs['cc:30'] === 0;
      }, 10_000, 'the knob released once the page closed');
      await server.command({ type: 'mod.clear', id: 'knob' });
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });
});
