// Headless Debian chromium through playwright-core, for the browser tests.
import { chromium, type Browser, type Page } from 'playwright-core';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

/** Launch chromium; `extraArgs` add flags (e.g. --host-resolver-rules for a second origin). */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

export interface WatchedPage {
  page: Page;
  /** Console errors, page errors and failed requests seen so far. */
  errors: string[];
  /** Close the page and its browser context. */
  close(): Promise<void>;
}

/**
 * Open a page that records every console error, uncaught exception and failed request. `init` is a
 * script run before the page's own in every frame (a stand-in for a browser API with no device here,
 * such as Web MIDI).
 */
export async function openPage(browser: Browser, url: string, viewport = { width: 640, height: 400 }, init?: string): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport });
  if (init) await context.addInitScript({ content: init });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (msg) => {
    // "Failed to load resource" lacks the URL; the response handler below records it with one.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(`console: ${msg.text()}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) errors.push(`http ${res.status()}: ${res.url()}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => {
    // WebSocket retries while a server restarts are expected; anything else is a failure.
    if (!req.url().startsWith('ws')) errors.push(`requestfailed: ${req.url()} ${req.failure()?.errorText ?? ''}`);
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors, close: () => context.close() };
}

/** Summary of the first canvas on the page: mean brightness, variety, and a coarse fingerprint. */
export interface CanvasSample {
  width: number;
  height: number;
  mean: number;
  /** Number of distinct coarse colours (quantised to 4 bits per channel). */
  colours: number;
  /** 16x16 grid of mean luminances. */
  grid: number[];
}

export async function sampleCanvas(page: Page, selector = 'canvas'): Promise<CanvasSample> {
  return page.evaluate((sel) => {
    const canvas = document.querySelector(sel) as HTMLCanvasElement | null;
    if (!canvas) throw new Error(`no ${sel} on the page`);
    // Copy through a small 2D canvas so this works for any canvas kind.
    const N = 64;
    const copy = document.createElement('canvas');
    copy.width = N;
    copy.height = N;
    const ctx = copy.getContext('2d')!;
    ctx.drawImage(canvas, 0, 0, N, N);
    const d = ctx.getImageData(0, 0, N, N).data;
    let sum = 0;
    const colours = new Set<number>();
    const grid = new Array(256).fill(0);
    for (let i = 0; i < N * N; i++) {
      const r = d[i * 4];
      const g = d[i * 4 + 1];
      const b = d[i * 4 + 2];
      const lum = 0.299 * r + 0.587 * g + 0.114 * b;
      sum += lum;
      colours.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4));
      const x = (i % N) >> 2;
      const y = Math.floor(i / N) >> 2;
      grid[y * 16 + x] += lum / 16;
    }
    return { width: canvas.width, height: canvas.height, mean: sum / (N * N), colours: colours.size, grid };
  }, selector);
}

/** Mean absolute difference between two samples' grids (0-255). */
export function difference(a: CanvasSample, b: CanvasSample): number {
  let d = 0;
  for (let i = 0; i < a.grid.length; i++) d += Math.abs(a.grid[i] - b.grid[i]);
  return d / a.grid.length;
}

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

/** Poll `fn` in node until it returns a truthy value; returns it, or throws after `ms`. */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, ms = 15000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}
