// Frames drawn in the browser vs JPEG from the server: bytes per viewer (latent vs JPEG at 512 px)
// and, in headless Chromium (onnxruntime-web on WASM here), the drawing rate, time to first frame
// (vs the JPEG path's) and PSNR against the server's own frames of the same latents, all with the
// model; then the server's CPU per latent viewer and the latent viewer curve up to 1000 at 60 fps
// ("held" = every viewer >= 59 fps) with a fixture of the same latent size, so that the curve
// measures the fan-out and not how fast this machine generates.
// Standalone: `npx tsx test/bench/latent.ts`; BENCH_MODEL picks a model folder (default emoji-64,
// which may be drawn in browsers), BENCH_SECONDS the window (default 4 s), BENCH_ONLY=fanout only
// the CPU and curve part.
import WebSocket from 'ws';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { readManifest } from '../../server/model/manifest.ts';
import { parseFrameHeader, HEADER_BYTES } from '../../server/frames/header.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { round, benchModel, serveChild, metrics } from './util.ts';
import { writeBrowserModel } from '../helpers/browser-model.ts';
import { hasChromium, launchBrowser, openPage, eventually } from '../helpers/browser.ts';
import { psnr } from '../helpers/browser-model.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** n viewers of one query: frames and bytes each received over `seconds` (after a settle). */
async function watch(url: string, query: string, n: number, seconds: number): Promise<{ fps: number[]; bytesPerSecond: number[]; bytesPerFrame: number; serverCores: number; serverFps: number; clientCores: number }> {
  const frames = new Array(n).fill(0);
  const bytes = new Array(n).fill(0);
  let measuring = false;
  const sockets: WebSocket[] = [];
  // open in batches: 1000 sockets at once would measure the accept queue, not the viewers
  for (let i = 0; i < n; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, (_, k) => {
        const j = i + k;
        return new Promise<void>((resolve, reject) => {
          const s = new WebSocket(`${url.replace('http', 'ws')}/frames?${query}`, { perMessageDeflate: false });
          s.on('message', (d: Buffer, binary) => {
            if (!binary || !measuring) return;
            frames[j]++;
            bytes[j] += d.length;
          });
          s.once('open', () => resolve());
          s.once('error', reject);
          sockets.push(s);
        });
      }),
    );
  }
  await sleep(1000);
  const [cpu0, made0] = await metrics(url, ['latentstage_process_cpu_seconds_total', 'latentstage_frames_total']);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  measuring = true;
  await sleep(seconds * 1000);
  measuring = false;
  const secs = (performance.now() - t0) / 1000;
  const [cpu1, made1] = await metrics(url, ['latentstage_process_cpu_seconds_total', 'latentstage_frames_total']);
  const c = process.cpuUsage(c0);
  for (const s of sockets) s.close();
  await sleep(300);
  const allFrames = frames.reduce((a, b) => a + b, 0);
  return {
    fps: frames.map((f) => f / secs),
    bytesPerSecond: bytes.map((b) => b / secs),
    bytesPerFrame: allFrames ? bytes.reduce((a, b) => a + b, 0) / allFrames : NaN,
    serverCores: (cpu1! - cpu0!) / secs,
    serverFps: (made1! - made0!) / secs,
    clientCores: (c.user + c.system) / 1e6 / secs,
  };
}

/** The server's frames as raw RGBA by index (for PSNR against the browser's). */
function collectServerFrames(url: string): { frames: Map<number, Buffer>; close(): void } {
  const frames = new Map<number, Buffer>();
  const s = new WebSocket(`${url.replace('http', 'ws')}/frames?format=rgba`);
  s.on('message', (d: Buffer, binary) => {
    if (!binary) return;
    const h = parseFrameHeader(d);
    const rgba = d.subarray(HEADER_BYTES);
    const rgb = Buffer.alloc((rgba.length / 4) * 3);
    for (let i = 0, o = 0; i < rgba.length; i += 4, o += 3) {
      rgb[o] = rgba[i]!;
      rgb[o + 1] = rgba[i + 1]!;
      rgb[o + 2] = rgba[i + 2]!;
    }
    frames.set(h.index, rgb);
    frames.delete(h.index - 1000);
  });
  return { frames, close: () => s.close() };
}

/** With the model: bytes per frame, and the browser drawing it (rate, first frame, PSNR). */
async function benchModelPart(dir: string, seconds: number, r: Record<string, number | string>): Promise<void> {
  const server = await serveChild(['--model', dir, '--fps', '60']);
  try {
    await sleep(1500);
    // one viewer each: what the network carries per viewer (per frame: independent of how fast
    // this machine makes frames; per second at the rate it made them)
    const jpeg = await watch(server.url, 'format=jpeg&size=512', 1, seconds);
    const latent = await watch(server.url, 'format=latent', 1, seconds);
    r.jpeg_512_bytes_per_frame = round(jpeg.bytesPerFrame, 0);
    r.latent_bytes_per_frame = round(latent.bytesPerFrame, 0);
    r.jpeg_over_latent_bytes = round(jpeg.bytesPerFrame / latent.bytesPerFrame, 1);
    r.jpeg_512_bytes_per_s_at_60fps = round(jpeg.bytesPerFrame * 60, 0);
    r.latent_bytes_per_s_at_60fps = round(latent.bytesPerFrame * 60, 0);
    r.server_fps_while_measuring = round((jpeg.serverFps + latent.serverFps) / 2, 1);

    // the browser: onnxruntime-web drawing every frame it can (keepUp=0: never falls back here)
    if (hasChromium()) {
      const browser = await launchBrowser();
      const served = collectServerFrames(server.url);
      try {
        const tj = performance.now();
        const jpegPage = await openPage(browser, `${server.url}/sketches/viewer/?size=512`);
        await eventually(() => jpegPage.page.evaluate(() => (window as any).stage.frames > 0), 60000, 'the first JPEG frame');
        r.browser_jpeg_time_to_first_frame_ms = round(performance.now() - tj, 0);
        await jpegPage.page.close();
        const tl = performance.now();
        const { page } = await openPage(browser, `${server.url}/sketches/viewer/?render=local&keepUp=0`);
        const stats = await eventually(() => page.evaluate(() => (window as any).stage.local?.firstFrameMs != null && (window as any).stage.local), 120000, 'the first frame drawn locally');
        r.browser_backend = stats.backend;
        r.browser_local_time_to_first_frame_ms = round(performance.now() - tl, 0);
        const d0 = stats.drawn;
        const ms0 = stats.drawMs;
        const t0 = performance.now();
        await sleep(seconds * 1000);
        const after = await page.evaluate(() => (window as any).stage.local);
        r.browser_local_fps = round(((after.drawn - d0) * 1000) / (performance.now() - t0), 1);
        r.browser_ms_per_frame = round((after.drawMs - ms0) / Math.max(1, after.drawn - d0), 1);
        const scores: number[] = [];
        for (let i = 0; i < 5; i++) {
          const f = await page.evaluate(() => {
            const s = (window as any).stage;
            const d = s.frame.canvas.getContext('2d').getImageData(0, 0, s.frame.width, s.frame.height).data;
            return { index: s.meta.index, data: Array.from(d as Uint8ClampedArray) };
          });
          const rgb = served.frames.get(f.index);
          if (rgb) scores.push(psnr(rgb, Uint8Array.from(f.data)));
          await sleep(200);
        }
        r.browser_psnr_db_min = scores.length ? round(Math.min(...scores), 1) : 'no matching frame';
        r.browser_psnr_db_mean = scores.length ? round(mean(scores.map((x) => Math.min(x, 99))), 1) : 'no matching frame';
      } finally {
        served.close();
        await browser.close();
      }
    }
  } finally {
    await server.stop();
  }
}

export async function benchLatent(opts: { modelDir?: string; seconds?: number } = {}): Promise<Record<string, number | string>> {
  const seconds = opts.seconds ?? Number(process.env.BENCH_SECONDS ?? 4);
  const chosen = opts.modelDir ?? process.env.BENCH_MODEL;
  const model = chosen ? { dir: chosen, name: (await readManifest(chosen)).id } : await benchModel();
  const manifest = await readManifest(model.dir);
  const r: Record<string, number | string> = { model: model.name };
  if (!manifest.browser?.render) return { ...r, skipped: `model ${manifest.id} may not be drawn in browsers` };
  // BENCH_ONLY=fanout skips the model and browser part
  const fanoutOnly = (process.env.BENCH_ONLY ?? '') === 'fanout';
  if (!fanoutOnly) await benchModelPart(model.dir, seconds, r);

  // Fan-out: a latent viewer costs the server the same whatever the model (nothing is encoded), so
  // the viewer curve runs a fixture with the same latent size (128 floats) that any machine
  // generates at 60 fps: the curve then measures the viewers, not the generator.
  const fixture = writeBrowserModel(path.join(mkdtempSync(path.join(tmpdir(), 'ls-bench-latent-')), 'fixture'), undefined, { zDim: manifest.generator.z.dim, conditionDim: 0 });
  const fan = await serveChild(['--model', fixture, '--fps', '60']);
  try {
    await sleep(1500);
    const none = await watch(fan.url, 'format=latent', 0, seconds);
    const l100 = await watch(fan.url, 'format=latent', 100, seconds);
    const j100 = await watch(fan.url, 'format=jpeg&size=512', 100, seconds);
    r.fanout_server_fps = round(none.serverFps, 1);
    r.fanout_server_cores_no_viewers = round(none.serverCores, 3);
    r.fanout_server_cores_100_latent_viewers = round(l100.serverCores, 3);
    r.fanout_server_cores_100_jpeg_512_viewers = round(j100.serverCores, 3);
    r.server_millicores_per_latent_viewer = round(((l100.serverCores - none.serverCores) / 100) * 1000, 2);
    r.server_millicores_per_jpeg_512_viewer = round(((j100.serverCores - none.serverCores) / 100) * 1000, 2);

    // the latent viewer curve at 60 fps, as the JPEG one in pipeline.ts: held = every viewer >= 59 fps
    let held = 0;
    let prev = 0;
    let every = 0;
    let prevEvery = 0;
    let last = { n: 1, cores: NaN, fps: NaN };
    for (const n of [1, 10, 100, 250, 500, 1000]) {
      const w = await watch(fan.url, 'format=latent', n, Math.max(2, seconds - 1));
      r[`curve_latent_viewers_${n}_fps_mean`] = round(mean(w.fps), 1);
      r[`curve_latent_viewers_${n}_fps_min`] = round(Math.min(...w.fps), 1);
      r[`curve_latent_viewers_${n}_server_fps`] = round(w.serverFps, 1);
      r[`curve_latent_viewers_${n}_server_cores`] = round(w.serverCores, 2);
      r[`curve_latent_viewers_${n}_client_cores`] = round(w.clientCores, 2);
      // every viewer got what the server made (on a loaded machine the server may make fewer than 60)
      r[`curve_latent_viewers_${n}_delivered_over_made`] = round(Math.min(...w.fps) / w.serverFps, 3);
      if (Math.min(...w.fps) >= 0.98 * w.serverFps && every === prevEvery) every = n;
      prevEvery = n;
      if (Math.min(...w.fps) >= 59 && held === prev) held = n;
      prev = n;
      last = { n, cores: w.serverCores, fps: w.serverFps };
    }
    r.latent_viewers_holding_59fps = held;
    r.latent_viewers_getting_every_frame_made = every;
    // what one frame sent to one latent viewer costs the server (an upper bound: generation and the
    // idle loop are in it too), and so how many latent viewers a core feeds at 60 fps
    const perSend = last.cores / (last.fps * last.n);
    r.server_us_per_latent_send = round(perSend * 1e6, 1);
    r.latent_viewers_per_server_core_at_60fps = Math.floor(1 / (60 * perSend));
  } finally {
    await fan.stop();
  }
  return r;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchLatent().then((r) => {
    console.log(JSON.stringify(r, null, 2));
    process.exit(0);
  });
}
