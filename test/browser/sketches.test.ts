// Every sketch loads in a real browser without errors and draws live, changing imagery.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { launchBrowser, openPage, sampleCanvas, difference, artifact, eventually, hasChromium, type CanvasSample } from '../helpers/browser.ts';

const SKETCHES: { name: string; query: string; label?: string; webgl?: boolean }[] = [
  { name: 'projector', query: '?overlay=1' },
  { name: 'projector', query: '?format=rgba&fit=contain&size=128&crossfade=0', label: 'projector-rgba-contain' },
  { name: 'projector', query: '?renderer=webgl&fit=cover', label: 'projector-webgl', webgl: true },
  { name: 'feedback', query: '' },
  { name: 'kaleidoscope', query: '?segments=6' },
  { name: 'kaleidoscope', query: '?segments=6&renderer=webgl', label: 'kaleidoscope-webgl', webgl: true },
  { name: 'grid', query: '?delay=2' },
  { name: 'typography', query: '?text=neon%20city%20%7C%20rain:0.5' },
  { name: 'viewer', query: '?size=128' },
];

const drawn = (s: CanvasSample) => s.colours >= 12 && s.mean > 8;

describe('sketches', { skip: !hasChromium() && 'chromium not installed', timeout: 120_000 }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    // A fast drift so a second of frames visibly moves the picture.
    server = await startTestServer({ fps: 30, params: { speed: 2 } });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  for (const s of SKETCHES) {
    const label = s.label ?? s.name;
    test(`${label} draws changing frames with no console errors`, async () => {
      const { page, errors } = await openPage(browser, `${server.url}/sketches/${s.name}/${s.query}`);
      try {
        const first = await eventually(async () => {
          const sample = await sampleCanvas(page);
          return drawn(sample) && sample;
        }, 15_000, `${label} to draw a frame`);
        const dims = await page.evaluate(() => [innerWidth, innerHeight]);
        assert.equal(first.width, dims[0] * (await page.evaluate(() => devicePixelRatio)), 'the canvas fills the window');
        await eventually(async () => difference(first, await sampleCanvas(page)) > 2, 15_000, `${label} pixels to change`);
        const status = await page.evaluate(() => (window as unknown as { stage: { status: string; frames: number } }).stage.status);
        assert.equal(status, 'open');
        const webgl = await page.evaluate(() => {
          // global mode exposes drawingContext; instance mode (kaleidoscope): the canvas's context kind
          const canvas = document.querySelector('canvas') as HTMLCanvasElement;
          const ctx = (window as any).drawingContext ?? (canvas.getContext('2d') ? null : canvas.getContext('webgl2') ?? canvas.getContext('webgl'));
          return ctx instanceof WebGLRenderingContext || ctx instanceof WebGL2RenderingContext;
        });
        assert.equal(webgl, Boolean(s.webgl), `${label} draws on a ${s.webgl ? 'WEBGL' : '2D'} canvas`);
        await page.screenshot({ path: artifact(`sketch-${label}.png`) });
        assert.deepEqual(errors, []);
      } finally {
        await page.close();
      }
    });
  }

  test('a sketch in WEBGL mode: async setup awaits stage.ready(), frames are drawn through p5 where 2D draws them', async () => {
    const { page, errors } = await openPage(browser, `${server.url}/sketches/projector/?renderer=webgl&fit=contain&crossfade=0`);
    try {
      const first = await page.evaluate(async () => {
        const f = await (window as any).stage.ready();
        return { width: f.width, height: f.height };
      });
      assert.deepEqual(first, { width: 512, height: 512 });
      const sample = await eventually(async () => {
        const x = await sampleCanvas(page);
        return drawn(x) && x;
      }, 15_000, 'the WEBGL projector to draw');
      // 640x400 window, square frame contained: black bars left and right (120 px = 3 of 16
      // columns each), picture in between, upright and not offset by WEBGL's centred origin
      const column = (c: number) => sample.grid.filter((_, i) => i % 16 === c).reduce((a, b) => a + b, 0) / 16;
      for (const c of [0, 1, 2, 13, 14, 15]) assert.ok(column(c) < 2, `column ${c} is a black bar (${column(c).toFixed(1)})`);
      for (const c of [3, 7, 8, 12]) assert.ok(column(c) > 8, `column ${c} shows the frame (${column(c).toFixed(1)})`);
      await page.screenshot({ path: artifact('sketch-projector-webgl-contain.png') });
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  test('the example at the top of sketches/lib/README.md runs as written', async () => {
    const readme = readFileSync(new URL('../../sketches/lib/README.md', import.meta.url), 'utf8');
    const example = /```html\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(example, 'an html example');
    const { page, errors } = await openPage(browser, `${server.url}/health`);
    try {
      // same origin as the server, so the example's absolute paths resolve as on a real page
      await page.setContent(`<!doctype html><html><head><link rel="icon" href="data:,"><style>body{margin:0}</style></head><body>${example}</body></html>`, { waitUntil: 'load' });
      const first = await eventually(async () => {
        const s = await sampleCanvas(page);
        return drawn(s) && s;
      }, 15_000, 'the example to draw');
      await eventually(async () => difference(first, await sampleCanvas(page)) > 2, 15_000, 'the example to animate');
      const seed = (await (await fetch(`${server.url}/api/state`)).json()).seed;
      await page.mouse.click(100, 100);
      await eventually(async () => (await (await fetch(`${server.url}/api/state`)).json()).seed !== seed, 10_000, 'a click to change the seed');
      await page.screenshot({ path: artifact('readme-example.png') });
      assert.deepEqual(errors.filter((e) => !e.endsWith('/favicon.ico')), []);
    } finally {
      await page.close();
    }
  });

  test('the sketch index links to every sketch and the control page', async () => {
    const { page, errors } = await openPage(browser, `${server.url}/sketches/`);
    try {
      const links = await page.$$eval('a', (as) => as.map((a) => (a as HTMLAnchorElement).href));
      for (const name of ['projector', 'feedback', 'kaleidoscope', 'grid', 'typography', 'viewer']) {
        const href = links.find((l) => l.endsWith(`/sketches/${name}/`));
        assert.ok(href, `link to ${name}`);
        const res = await fetch(href);
        assert.equal(res.status, 200, href);
        assert.match(await res.text(), /\/vendor\/p5\/p5\.min\.js/);
      }
      assert.ok(links.some((l) => new URL(l).pathname === '/'), 'link to the control page');
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
});
