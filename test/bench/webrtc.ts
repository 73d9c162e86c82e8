// WebRTC glass-to-glass latency through Janus (Debian package janus, the repo's config): the
// server streams to a Streaming mountpoint, headless Chromium plays it, and each frame's burnt-in
// index is timed from the server publishing it to the page showing it (test/helpers/webrtc-latency.ts).
// Target: p95 under 500 ms on loopback. Standalone: `npx tsx test/bench/webrtc.ts`; BENCH_SECONDS
// sets the measuring window (default 8 s).
import { pathToFileURL } from 'node:url';
import { startTestServer } from '../helpers/server.ts';
import { hasChromium, launchBrowser } from '../helpers/browser.ts';
import { janusSkip } from '../helpers/janus.ts';
import { measureWebrtcLatency, quantile } from '../helpers/webrtc-latency.ts';
import { round } from './util.ts';

export async function benchWebrtc(opts: { seconds?: number } = {}): Promise<Record<string, number | string>> {
  if (janusSkip) return { skipped: janusSkip };
  if (!hasChromium()) return { skipped: 'chromium is not installed' };
  const seconds = opts.seconds ?? Number(process.env.BENCH_SECONDS ?? 8);
  const fps = 60;
  const s = await startTestServer({ fixture: { width: 128, height: 128 }, fps });
  const browser = await launchBrowser();
  try {
    const r = await measureWebrtcLatency(s, browser, { seconds, size: 512 });
    return {
      setup: `fixture model at ${fps} fps, streamed at ${r.width}x${r.height} (H.264 baseline, keyframe every 0.5 s), Janus on loopback, headless Chromium`,
      glass_to_glass_p50_ms: round(quantile(r.samples, 0.5), 0),
      glass_to_glass_p95_ms: round(quantile(r.samples, 0.95), 0),
      glass_to_glass_max_ms: round(Math.max(...r.samples), 0),
      target_p95_ms: 500,
      frames_seen: r.samples.length,
      frames_published: r.published,
      page_open_to_first_frame_ms: r.firstFrameMs,
    };
  } finally {
    await browser.close();
    await s.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchWebrtc().then((r) => {
    console.log(JSON.stringify(r, null, 2));
    process.exit(0);
  });
}
