// Frames drawn in the browser: headless Chromium runs the model with onnxruntime-web (WASM here)
// from /frames?format=latent, and its picture matches the server's frame of the same latent. When
// the page cannot keep up (CPU throttled) it falls back to JPEG frames and says so.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { hasChromium, launchBrowser, openPage, eventually } from '../helpers/browser.ts';
import { writeBrowserModel, psnr } from '../helpers/browser-model.ts';

/** The page's current stage.frame as RGBA bytes, with its frame index and the path it came by. */
export async function pageFrame(page: Page): Promise<{ index: number; width: number; height: number; rgba: Uint8Array; path: string }> {
  const got = await page.evaluate(() => {
    const s = (window as any).stage;
    const f = s.frame;
    const ctx = f.canvas.getContext('2d');
    const d = ctx.getImageData(0, 0, f.width, f.height).data as Uint8ClampedArray;
    let bin = '';
    for (let i = 0; i < d.length; i += 8192) bin += String.fromCharCode(...d.subarray(i, i + 8192));
    return { index: s.meta.index, width: f.width, height: f.height, data: btoa(bin), path: s.path };
  });
  return { index: got.index, width: got.width, height: got.height, rgba: new Uint8Array(Buffer.from(got.data, 'base64')), path: got.path };
}

describe('frames drawn in the browser from latents', { skip: !hasChromium() && 'chromium is not installed' }, () => {
  let s: TestServer;
  let browser: Browser;
  let tmp: string;
  const served = new Map<number, Buffer>();
  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-local-'));
    s = await startTestServer({ model: writeBrowserModel(path.join(tmp, 'model')), fps: 30 });
    s.stage.on('frame', (f) => {
      served.set(f.info.index, f.rgb);
      served.delete(f.info.index - 600);
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the browser draws the same picture as the server for the same latent (PSNR)', async () => {
    const { page, errors } = await openPage(browser, `${s.url}/sketches/viewer/?render=local&backend=wasm`);
    await eventually(() => page.evaluate(() => (window as any).stage.frames >= 5 && (window as any).stage.path === 'local'), 30000, 'frames drawn locally');
    const scores: number[] = [];
    for (let i = 0; i < 5; i++) {
      const f = await pageFrame(page);
      assert.equal(f.path, 'local');
      const rgb = served.get(f.index);
      assert.ok(rgb, `the server published frame ${f.index}`);
      assert.equal(f.width * f.height * 3, rgb.length);
      scores.push(psnr(rgb, f.rgba));
      await new Promise((r) => setTimeout(r, 100));
    }
    const worst = Math.min(...scores);
    console.log(`# local render PSNR vs server: min ${worst.toFixed(1)} dB over ${scores.length} frames (backend ${await page.evaluate(() => (window as any).stage.local.backend)})`);
    assert.ok(worst >= 40, `browser frames match the server's (PSNR ${worst.toFixed(1)} dB >= 40)`);
    const viewers = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(viewers, /latentstage_viewers\{surface="latent"\} 1/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a page that draws fewer frames than it must falls back to JPEG frames and says why', async () => {
    // keepUp=2: the page must draw twice the frames the server sends, which no page can: the
    // measured shortfall switches it to JPEG (a slow machine gets there with the default 0.8)
    const { page } = await openPage(browser, `${s.url}/sketches/viewer/?render=local&backend=wasm&keepUp=2`);
    const reason = await eventually(() => page.evaluate(() => (window as any).stage.path === 'jpeg' && (window as any).stage.pathReason), 60000, 'fallback to jpeg');
    assert.match(String(reason), /drew \d+ of \d+ frames in \d+ ms/);
    const before = await page.evaluate(() => (window as any).stage.frames);
    await eventually(() => page.evaluate((n) => (window as any).stage.frames > n + 3, before), 15000, 'JPEG frames after the fallback');
    const f = await pageFrame(page);
    assert.equal(f.path, 'jpeg');
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /latentstage_viewers\{surface="latent"\} 0/, 'the latent socket is closed');
    await page.close();
  });
});
