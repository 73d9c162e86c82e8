// Glass-to-glass latency of the WebRTC path, measured end to end: the server's frames carry their
// index burnt into the picture (stamp.ts), the server streams them to Janus (webrtc://), headless
// Chromium plays the mountpoint through connectStage({ via: 'webrtc' }) and notes when each index
// first appears in stage.frame. Latency = that moment - the moment the server published the frame
// (both on the system clock: performance.timeOrigin + performance.now(), same machine).
import { performance } from 'node:perf_hooks';
import type { Browser } from 'playwright-core';
import type { TestServer } from './server.ts';
import { openPage, eventually } from './browser.ts';
import { startJanus } from './janus.ts';
import { stampIndex, READ_STAMP } from './stamp.ts';

export interface WebrtcLatency {
  /** ms from publish to display, one per frame index seen in the browser. */
  samples: number[];
  /** ms from opening the page to its first video frame. */
  firstFrameMs: number;
  /** Frames the server published during the measurement. */
  published: number;
  width: number;
  height: number;
  janusLog: string;
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN;
}

export async function measureWebrtcLatency(s: TestServer, browser: Browser, opts: { seconds: number; size?: number }): Promise<WebrtcLatency> {
  const janus = await startJanus();
  const published = new Map<number, number>();
  const onFrame = (f: { rgb: Buffer; width: number; height: number; info: { index: number; readyAt: number } }) => {
    const index = f.info.index & 0xffff;
    stampIndex(f.rgb, f.width, f.height, index);
    published.set(index, performance.timeOrigin + f.info.readyAt);
  };
  s.stage.on('frame', onFrame);
  try {
    const started = await s.command({ type: 'stream.start', url: janus.rtpUrl, ...(opts.size ? { size: opts.size } : {}) });
    if (started.status !== 200) throw new Error(`stream.start failed: ${JSON.stringify(started.body)}`);
    const t0 = Date.now();
    const { page, errors } = await openPage(browser, `${s.url}/sketches/viewer/?via=webrtc&janus=${encodeURIComponent(janus.api)}&mountpoint=1`);
    await page.evaluate(`(() => {
      const read = ${READ_STAMP};
      window.__seen = new Map();
      window.stage.on('frame', (b) => {
        const t = performance.timeOrigin + performance.now();
        const h = Math.max(2, Math.floor(b.height / 8));
        const d = b.canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, b.width, h).data;
        const i = read(d, b.width, h * 8);
        if (!window.__seen.has(i)) window.__seen.set(i, t);
      });
    })()`);
    await eventually(() => page.evaluate(() => (window as any).stage.frames > 0), 30000, `the first WebRTC frame (page errors: ${errors.join('; ')})`);
    const firstFrameMs = Date.now() - t0;
    const from = published.size;
    await new Promise((r) => setTimeout(r, opts.seconds * 1000));
    const seen: [number, number][] = await page.evaluate(() => [...(window as any).__seen.entries()]);
    const { width, height } = await page.evaluate(() => ({ width: (window as any).stage.frame.width, height: (window as any).stage.frame.height }));
    await page.close();
    // an index read wrongly (a block caught mid-transition) would give a wild number: only indices
    // the server published within the last 10 s count
    const samples = seen.map(([i, t]) => t - (published.get(i) ?? NaN)).filter((ms) => ms > -50 && ms < 10000);
    return { samples, firstFrameMs, published: published.size - from, width, height, janusLog: janus.log() };
  } finally {
    s.stage.off('frame', onFrame);
    await s.command({ type: 'stream.stop' });
    await janus.stop();
  }
}
