// A page from another origin (http://evil.example, resolved to this machine by the browser) tries
// to drive a loopback server the way a malicious site would (test/fixtures/cross-origin-page.html):
// fetch POSTs (simple and preflighted) and a /control WebSocket must fail and change nothing,
// while watching /frames and reading the state work. A page that reaches the server under its
// own name (DNS rebinding) is refused.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { ROOT } from '../../server/server.ts';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { launchBrowser, hasChromium } from '../helpers/browser.ts';

const EVIL = 'evil.example';

describe('a cross-origin page in chromium', { skip: !hasChromium() && 'chromium not installed', timeout: 120_000 }, () => {
  let server: TestServer;
  let site: http.Server;
  let sitePort: number;
  let browser: Browser;

  before(async () => {
    server = await startTestServer({ fps: 15 });
    await waitFor(() => server.stage.latest !== null, 20_000, 'the first frame');
    const html = readFileSync(path.join(ROOT, 'test/fixtures/cross-origin-page.html'));
    site = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(html);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    sitePort = (site.address() as AddressInfo).port;
    browser = await launchBrowser([`--host-resolver-rules=MAP ${EVIL} 127.0.0.1`]);
  });
  after(async () => {
    await browser?.close();
    await new Promise<void>((r) => site?.close(() => r()));
    await server?.stop();
  });

  test('fetch and WebSocket control fail; watching frames and reading state work', async () => {
    const page = await browser.newPage();
    try {
      const before = server.stage.state().params.speed;
      const target = `http://127.0.0.1:${server.port}`;
      await page.goto(`http://${EVIL}:${sitePort}/?target=${encodeURIComponent(target)}`);
      assert.equal(await page.evaluate('location.origin'), `http://${EVIL}:${sitePort}`);
      const result = (await page.evaluate('window.result')) as Record<string, unknown>;
      const all = JSON.stringify(result);
      assert.equal(result.control, 'refused', all);
      assert.equal(result.json, 403, all);
      assert.match(String(result.jsonError), /origin http:\/\/evil\.example:\d+ is not allowed/);
      assert.ok(typeof result.frames === 'number' && result.frames > 32, all);
      assert.equal(result.stateModel, 'fixture', all);
      assert.equal(server.stage.state().params.speed, before, 'nothing the page sent was applied');
      assert.equal(server.streamer.active, false, 'no stream was started');
    } finally {
      await page.close();
    }
  });

  test('a page that reaches the server under a foreign name (DNS rebinding) is refused', async () => {
    const page = await browser.newPage();
    try {
      const res = await page.goto(`http://${EVIL}:${server.port}/`);
      assert.equal(res?.status(), 403);
      const res2 = await page.goto(`http://${EVIL}:${server.port}/api/state`);
      assert.equal(res2?.status(), 403);
    } finally {
      await page.close();
    }
  });
});
