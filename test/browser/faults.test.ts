// The control page's fault banner, in real Chromium against a real server: a real fault (the
// recording's ffmpeg killed) appears in the banner with its kind, message and age; the one command
// that mends it (record.start) clears it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestServer, waitFor } from '../helpers/server.ts';
import { launchBrowser, openPage, hasChromium } from '../helpers/browser.ts';

test('the control page shows a fault banner while something is degraded, and hides it after', { skip: !hasChromium() && 'chromium not installed', timeout: 120_000 }, async () => {
  const recordings = mkdtempSync(path.join(tmpdir(), 'latentstage-banner-'));
  const server = await startTestServer({ fps: 30, recordings });
  const browser = await launchBrowser();
  try {
    const { page, errors } = await openPage(browser, `${server.url}/`, { width: 1000, height: 800 });
    await page.waitForFunction(() => (window as any).stage?.controlStatus === 'open', null, { timeout: 15_000 });
    assert.equal(await page.isHidden('#fault-banner'), true, 'no banner while all is well');

    assert.equal((await server.command({ type: 'record.start', name: 'take1' })).status, 200);
    await waitFor(() => server.stage.state().recording!.videoFrames > 90, 15_000, 'video frames');
    process.kill(server.recorder.videoPid!, 'SIGKILL');
    await page.waitForSelector('#fault-banner li[data-kind="recording"]', { timeout: 15_000 });
    const text = await page.textContent('#fault-banner');
    assert.match(text!, /recording/i);
    assert.match(text!, /the video of "take1" stopped .*Send record\.start/);
    assert.match(text!, /since \d+ s/);
    assert.equal(await page.getAttribute('#fault-banner', 'role'), 'alert');

    assert.equal((await server.command({ type: 'record.start', name: 'take2' })).status, 200);
    await page.waitForSelector('#fault-banner', { state: 'hidden', timeout: 15_000 });
    await server.command({ type: 'record.stop' });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.stop();
    rmSync(recordings, { recursive: true, force: true });
  }
});
