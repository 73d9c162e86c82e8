// The control page as a performer meets it: the preview keeps the frame's shape at every screen
// size, and what a show needs is within reach at 1280x720 (screenshots in test/artifacts).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { launchBrowser, openPage, artifact, hasChromium } from '../helpers/browser.ts';

/** Wait until the page's control socket is open and the preview has drawn a frame. */
async function ready(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as any).stage?.controlStatus === 'open' && (window as any).stage?.frame, null, { timeout: 15_000 });
  await page.waitForFunction(() => document.querySelectorAll('#params input[type=range]').length > 0, null, { timeout: 15_000 });
}

const SIZES = [
  { name: '1280x720', width: 1280, height: 720 },
  { name: '1440x900', width: 1440, height: 900 },
  { name: 'phone', width: 390, height: 844 },
];

describe('the control page at a performer\'s screen sizes', { skip: !hasChromium() && 'chromium not installed', timeout: 120_000 }, () => {
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

  for (const size of SIZES) {
    test(`the preview shows the square frame square at ${size.name}`, async () => {
      const { page, errors } = await openPage(browser, `${server.url}/`, { width: size.width, height: size.height });
      try {
        await ready(page);
        await page.waitForTimeout(100); // one display frame for the preview to size itself
        const box = (await page.locator('#preview').boundingBox())!;
        const frame = await page.evaluate(() => ({ w: (window as any).stage.frame.width, h: (window as any).stage.frame.height }));
        assert.ok(box.width > 100, `the preview is ${box.width} px wide`);
        assert.ok(Math.abs(box.width / box.height - frame.w / frame.h) < 0.02, `a ${frame.w}x${frame.h} frame is drawn at ${box.width.toFixed(0)}x${box.height.toFixed(0)}`);
        await page.screenshot({ path: artifact(`performer-control-${size.name}.png`) });
        assert.deepEqual(errors, []);
      } finally {
        await page.close();
      }
    });
  }
});
