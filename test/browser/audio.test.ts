// The audio page in Chromium with a fake capture device playing a generated WAV (a kick every
// 500 ms): band energies reach the server as modulation inputs, onsets come every 500 ms, and the
// tempo estimate is 120 BPM.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { launchBrowser, openPage, eventually, hasChromium, artifact } from '../helpers/browser.ts';
import type { Command } from '../../server/commands.ts';
import { kickWav } from '../helpers/audio.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

describe('audio page', { skip: !hasChromium() && 'chromium not installed', timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let tmp: string;
  const inputs: { t: number; values: Record<string, number> }[] = [];

  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-audio-'));
    const wav = path.join(tmp, 'kicks.wav');
    kickWav(wav);
    server = await startTestServer({ fps: 30 });
    server.stage.on('command', (cmd) => {
      if (cmd.type === 'mod.input') inputs.push({ t: performance.now(), values: (cmd as Extract<Command, { type: 'mod.input' }>).values });
    });
    browser = await launchBrowser(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required']);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('bands move on the server, onsets every 500 ms, tempo 120 BPM', async () => {
    assert.equal((await server.command({ type: 'mod.set', target: 'truncation', source: 'audio:low', depth: 1 })).status, 200);
    const { page, errors } = await openPage(browser, `${server.url}/sketches/audio/?autostart=1`);
    try {
      await page.selectOption('#onset-action', 'beat');
      await page.check('#follow-tempo');
      // Enough onsets for a steady estimate, and the tempo it sets on the server.
      await eventually(async () => (await page.evaluate(() => (window as any).audio.onsets.length)) >= 14, 60_000, '14 onsets in the page');
      await eventually(async () => {
        const bpm = server.stage.state().tempo?.bpm ?? 0;
        return Math.abs(bpm - 120) <= 3;
      }, 30_000, 'the server tempo to follow the estimate');
      const audio = await page.evaluate(() => ({ onsets: (window as any).audio.onsets as number[], bpm: (window as any).audio.bpm as number, error: (window as any).audio.error }));
      await page.screenshot({ path: artifact('audio-page.png') });
      assert.equal(audio.error, null);
      const gaps = audio.onsets.slice(1).map((t, i) => t - audio.onsets[i]);
      assert.ok(Math.abs(median(gaps) - 500) <= 30, `median onset gap ${median(gaps)} ms (${gaps.map((g) => g.toFixed(0)).join(' ')})`);
      assert.ok(Math.abs(audio.bpm - 120) <= 3, `tempo estimate ${audio.bpm}`);

      // On the server: the bands moved, and onsets arrived as inputs about every 500 ms.
      const lows = inputs.map((x) => x.values['audio:low']).filter((v) => v !== undefined);
      assert.ok(lows.length > 50, `${lows.length} inputs`);
      assert.ok(Math.max(...lows) - Math.min(...lows) > 0.2, `audio:low ranged ${Math.min(...lows)}..${Math.max(...lows)}`);
      const hits = inputs.filter((x) => x.values['audio:onset'] === 1).map((x) => x.t);
      assert.ok(hits.length >= 10, `${hits.length} onsets on the server`);
      const serverGaps = hits.slice(1).map((t, i) => t - hits[i]);
      assert.ok(Math.abs(median(serverGaps) - 500) <= 50, `median onset gap on the server ${median(serverGaps)} ms`);
      // The route makes the live truncation follow the low band.
      const live = server.stage.state().modulation?.live.truncation;
      assert.equal(typeof live, 'number');
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
});
