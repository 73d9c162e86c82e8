// The control page at / drives the real server: prompt, sliders, selects, seed, presets, tokens.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { launchBrowser, openPage, sampleCanvas, difference, artifact, eventually, hasChromium } from '../helpers/browser.ts';

async function state(server: TestServer): Promise<any> {
  return (await fetch(`${server.url}/api/state`)).json();
}

/** Wait until the page's control socket is open (commands then go over WebSocket). */
async function controlOpen(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as any).stage?.controlStatus === 'open', null, { timeout: 15_000 });
}

describe('control page', { skip: !hasChromium() && 'chromium not installed', timeout: 120_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let recordings: string;

  before(async () => {
    recordings = mkdtempSync(path.join(tmpdir(), 'latentstage-rec-'));
    server = await startTestServer({ fps: 30, params: { speed: 2 }, recordings });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(recordings, { recursive: true, force: true });
  });

  test('typing a prompt changes the server state while the projector keeps drawing', async () => {
    const control = await openPage(browser, `${server.url}/`, { width: 1200, height: 900 });
    const projector = await openPage(browser, `${server.url}/sketches/projector/?overlay=1`);
    try {
      await controlOpen(control.page);
      await control.page.fill('#prompt', 'red heart | fire:0.5');
      await control.page.press('#prompt', 'Enter');
      await eventually(async () => (await state(server)).prompt.text === 'red heart | fire:0.5', 10_000, 'the prompt in /api/state');
      await control.page.waitForFunction(() => document.getElementById('prompt-active')?.textContent === 'red heart | fire:0.5');
      // latency of the ack is shown
      await control.page.waitForFunction(() => /ms$/.test(document.getElementById('stat-latency')?.textContent ?? ''));

      // a second prompt, then history recall with the up arrow
      await control.page.fill('#prompt', 'ocean wave');
      await control.page.press('#prompt', 'Enter');
      await eventually(async () => (await state(server)).prompt.text === 'ocean wave', 10_000, 'the second prompt');
      // the page remembers a prompt once its ack arrives, which may be just after the state changed
      await control.page.waitForFunction(() => JSON.parse(localStorage.getItem('latentstage.promptHistory') ?? '[]').at(-1) === 'ocean wave');
      await control.page.fill('#prompt', '');
      await control.page.press('#prompt', 'ArrowUp');
      assert.equal(await control.page.inputValue('#prompt'), 'ocean wave');
      await control.page.press('#prompt', 'ArrowUp');
      assert.equal(await control.page.inputValue('#prompt'), 'red heart | fire:0.5');

      // the projector shows the new prompt in its overlay and its frames still change
      await projector.page.waitForFunction(() => document.querySelector('.overlay')?.textContent?.includes('ocean wave'), null, { timeout: 10_000 });
      const a = await eventually(async () => {
        const s = await sampleCanvas(projector.page);
        return s.colours > 12 && s;
      }, 10_000, 'projector frame');
      await eventually(async () => difference(a, await sampleCanvas(projector.page)) > 2, 15_000, 'projector pixels to change');
      await control.page.screenshot({ path: artifact('control-prompt.png') });
      await projector.page.screenshot({ path: artifact('control-projector.png') });
      assert.deepEqual(control.errors, []);
      assert.deepEqual(projector.errors, []);
    } finally {
      await control.page.close();
      await projector.page.close();
    }
  });

  test('sliders and selects are generated from /api/schema and move the state', async () => {
    const { page, errors } = await openPage(browser, `${server.url}/`, { width: 1200, height: 900 });
    try {
      await controlOpen(page);
      const schema = await (await fetch(`${server.url}/api/schema`)).json();
      // a slider and a number box per parameter; a 0/1 parameter is a switch
      for (const [name, p] of Object.entries<any>(schema.params)) {
        const toggle = p.min === 0 && p.max === 1 && p.step === 1;
        assert.equal(await page.locator(toggle ? `#param-${name}[type=checkbox]` : `#param-${name}[type=range]`).count(), 1, `control for ${name}`);
        if (!toggle) assert.equal(await page.locator(`#param-${name}-value[type=number]`).count(), 1, `number box for ${name}`);
      }
      for (const name of Object.keys(schema.enums)) assert.equal(await page.locator(`select#param-${name}`).count(), 1, `select for ${name}`);
      assert.match((await page.getAttribute('#param-speed', 'title')) ?? '', /Drift rate/);

      // drag the truncation slider to the far right with the mouse
      const before = (await state(server)).params.truncation;
      const box = (await page.locator('#param-truncation').boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
      await page.mouse.down();
      for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + box.width * (0.4 + i * 0.06), box.y + box.height / 2);
      await page.mouse.up();
      await eventually(async () => (await state(server)).params.truncation > before + 0.3, 10_000, 'truncation to follow the drag');
      // the last value of the drag always reaches the server (throttling keeps the trailing value)
      const shown = Number(await page.inputValue('#param-truncation-value'));
      await eventually(async () => (await state(server)).params.truncation === shown, 10_000, `truncation ${shown} on the server`);

      // keyboard on a focused slider
      await page.focus('#param-speed');
      await page.keyboard.press('ArrowRight');
      await eventually(async () => (await state(server)).params.speed === 2.01, 10_000, 'speed +1 step');

      // a select
      await page.selectOption('#param-mode', 'loop');
      await eventually(async () => (await state(server)).params.mode === 'loop', 10_000, 'mode loop');

      // and the page follows changes made elsewhere
      assert.equal((await server.command({ type: 'set', speed: 3.5, mode: 'drift' })).status, 200);
      await page.waitForFunction(() => (document.getElementById('param-speed') as HTMLInputElement).value === '3.5', null, { timeout: 10_000 });
      await page.waitForFunction(() => (document.getElementById('param-mode') as HTMLSelectElement).value === 'drift', null, { timeout: 10_000 });
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  test('seed, presets, recording and commands the server may not know yet', async () => {
    const { page, errors } = await openPage(browser, `${server.url}/`, { width: 1200, height: 900 });
    try {
      await controlOpen(page);
      await page.fill('#seed', '4242');
      await page.click('#seed-form button[type=submit]');
      await eventually(async () => (await state(server)).seed === 4242, 10_000, 'seed 4242');
      await page.click('#seed-random');
      await eventually(async () => (await state(server)).seed !== 4242, 10_000, 'a random seed');

      await page.fill('#preset-name', 'from-the-page');
      await page.click('#preset-save button');
      await page.waitForSelector('#presets button[data-preset="from-the-page"]', { timeout: 10_000 });
      await page.fill('#seed', '7');
      await page.click('#seed-form button[type=submit]');
      await eventually(async () => (await state(server)).seed === 7, 10_000, 'seed 7');
      await page.click('#presets button[data-preset="from-the-page"]');
      await eventually(async () => (await state(server)).seed !== 7, 10_000, 'the preset to restore its seed');

      // Space toggles recording when not typing (or shows why not, on a server without it).
      await page.locator('body').click({ position: { x: 5, y: 5 } });
      await page.keyboard.press('Space');
      await eventually(
        async () => (await state(server)).recording?.active === true || (await page.locator('#log li').count()) > 0,
        10_000,
        'recording to start or an error to show',
      );
      if ((await state(server)).recording?.active) {
        await page.waitForFunction(() => /recording \d\d:\d\d/.test(document.getElementById('record-status')?.textContent ?? ''), null, { timeout: 10_000 });
        await page.screenshot({ path: artifact('control-recording.png') });
        await page.click('#record-toggle');
        await eventually(async () => (await state(server)).recording?.active === false, 15_000, 'recording to stop');
      }

      // tempo and beat: applied, or a readable message if this server does not have them
      await page.click('#beat');
      await page.fill('#bpm', '128');
      await page.click('#tempo-form button[type=submit]');
      await page.waitForTimeout(500);
      const messages = await page.locator('#log li').allTextContents();
      for (const m of messages) assert.doesNotMatch(m, /undefined|\[object/, m);

      // vocabulary warnings published in the state are listed under the prompt
      await server.command({ type: 'prompt', text: 'zyzzyva' });
      await page.waitForFunction(() => document.getElementById('warnings')?.textContent?.includes('zyzzyva'), null, { timeout: 10_000 });
      await server.command({ type: 'prompt', text: '' });
      await page.waitForSelector('#warnings', { state: 'hidden', timeout: 10_000 });

      // a bad value gets a clear message and changes nothing
      const seed = (await state(server)).seed;
      await page.fill('#keys', '1, -3');
      await page.click('#keys-form button');
      await page.waitForFunction(() => Array.from(document.querySelectorAll('#log li'), (li) => li.textContent ?? '').some((t) => /keyframes/.test(t)));
      assert.equal((await state(server)).seed, seed);
      assert.equal((await state(server)).params.mode, 'drift');
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  test('works on a phone-sized screen, and "?" shows the shortcuts', async () => {
    const { page, errors } = await openPage(browser, `${server.url}/`, { width: 390, height: 844 });
    try {
      await controlOpen(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
      const send = (await page.locator('#prompt-form button').boundingBox())!;
      assert.ok(send.height >= 40, 'touch-sized buttons');
      await page.keyboard.press('?');
      assert.equal(await page.locator('#help-dialog').evaluate((d) => (d as HTMLDialogElement).open), true);
      await page.keyboard.press('Escape');
      // typing "?" or "r" into the prompt must not trigger shortcuts
      const seed = (await state(server)).seed;
      await page.fill('#prompt', '');
      await page.type('#prompt', 'r?');
      assert.equal(await page.inputValue('#prompt'), 'r?');
      assert.equal(await page.locator('#help-dialog').evaluate((d) => (d as HTMLDialogElement).open), false);
      assert.equal((await state(server)).seed, seed);
      await page.screenshot({ path: artifact('control-phone.png'), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
});

describe('control page with a token', { skip: !hasChromium() && 'chromium not installed', timeout: 60_000 }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    server = await startTestServer({ fps: 15, token: 'stage-secret' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('asks for the token, remembers it, then controls the stage', async () => {
    const { page } = await openPage(browser, `${server.url}/`, { width: 1000, height: 800 });
    try {
      await page.waitForSelector('#token-dialog[open]', { timeout: 15_000 });
      assert.match((await page.textContent('#conn')) ?? '', /token/);
      // a wrong token is rejected and asked for again
      await page.fill('#token', 'wrong');
      await page.click('#token-form button[type=submit]');
      await page.waitForSelector('#token-dialog[open]', { timeout: 15_000 });
      assert.match((await page.textContent('#token-why')) ?? '', /not accepted/);
      await page.fill('#token', 'stage-secret');
      await page.click('#token-form button[type=submit]');
      await controlOpen(page);
      assert.equal(await page.evaluate(() => localStorage.getItem('latentstage.token')), 'stage-secret');
      await page.fill('#prompt', 'sun tree');
      await page.press('#prompt', 'Enter');
      await eventually(async () => (await state(server)).prompt.text === 'sun tree', 10_000, 'the prompt with a token');

      // the stored token is used on the next visit without asking
      await page.reload({ waitUntil: 'load' });
      await controlOpen(page);
      assert.equal(await page.locator('#token-dialog[open]').count(), 0);
    } finally {
      await page.close();
    }
  });

  test('a token in the address (/?token=…) is used, remembered and removed from the address', async () => {
    const { page, errors } = await openPage(browser, `${server.url}/?token=stage-secret`, { width: 1000, height: 800 });
    try {
      await controlOpen(page);
      assert.equal(new URL(page.url()).search, '');
      assert.equal(await page.evaluate(() => localStorage.getItem('latentstage.token')), 'stage-secret');
      await page.click('#seed-random');
      await eventually(async () => (await state(server)).seed !== 1, 10_000, 'a seed with the token');
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
});
