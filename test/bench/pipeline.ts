// Frame-pipeline benchmark, one row per metric of the projector-size goals: delivered fps at 512
// and 1024 px, mixed sizes at once, the 512 px viewer curve, uncapped delivered/raw, event-loop
// delay with the steering search on, command -> frame latency, fps with search on vs off, and RSS
// over a soak. Everything runs against a server child process; the bench client shares the machine.
// Standalone: `npx tsx test/bench/pipeline.ts` prints JSON. BENCH_MODEL picks another model folder,
// BENCH_SOAK_S sets the RSS soak length (default 60 s), BENCH_SECONDS the length of each window,
// BENCH_ONLY a comma list of blocks (sizes, curve, latency, search, soak, uncapped).
import WebSocket from 'ws';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { readManifest } from '../../server/model/manifest.ts';
import { loadModel } from '../../server/model/load.ts';
import { percentile, round, benchModel, serveChild, metric, metrics } from './util.ts';
import { commandLatency } from './live.ts';
import { availableParallelism } from 'node:os';
import { planWorkers, type WorkerPlan } from '../../server/runtime/pool.ts';
import { runFrame } from '../../server/runtime/frame.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ws = (url: string) => url.replace('http', 'ws');

interface Viewers {
  /** Frames per second each viewer received while measuring. */
  fps(): number[];
  start(): void;
  stop(): number;
  close(): void;
}

/** Open viewers with one query each; they count binary frames between start() and stop(). */
async function openViewers(url: string, queries: string[]): Promise<Viewers> {
  const counts = new Array(queries.length).fill(0);
  let measuring = false;
  let t0 = 0;
  let seconds = 1;
  const sockets = await Promise.all(
    queries.map(
      (q, i) =>
        new Promise<WebSocket>((resolve, reject) => {
          const s = new WebSocket(`${ws(url)}/frames?${q}`);
          s.on('message', (_d, binary) => {
            if (binary && measuring) counts[i]++;
          });
          s.once('open', () => resolve(s));
          s.once('error', reject);
        }),
    ),
  );
  return {
    fps: () => counts.map((c) => c / seconds),
    start() {
      counts.fill(0);
      measuring = true;
      t0 = performance.now();
    },
    stop() {
      measuring = false;
      seconds = (performance.now() - t0) / 1000;
      return seconds;
    },
    close() {
      for (const s of sockets) s.close();
    },
  };
}

async function measureViewers(url: string, queries: string[], seconds: number, settle = Number(process.env.BENCH_SETTLE_MS ?? 700)): Promise<number[]> {
  const v = await openViewers(url, queries);
  await sleep(settle);
  v.start();
  await sleep(seconds * 1000);
  v.stop();
  v.close();
  await sleep(200);
  return v.fps();
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function control(url: string): Promise<{ send(cmd: object): Promise<any>; close(): void }> {
  const s = new WebSocket(`${ws(url)}/control`);
  await new Promise((r, j) => {
    s.once('open', r);
    s.once('error', j);
  });
  let id = 0;
  return {
    send(cmd) {
      const my = ++id;
      return new Promise((resolve) => {
        const on = (m: WebSocket.RawData) => {
          const msg = JSON.parse(m.toString());
          if (msg.id !== my) return;
          s.off('message', on);
          resolve(msg);
        };
        s.on('message', on);
        s.send(JSON.stringify({ ...cmd, id: my }));
      });
    },
    close: () => s.close(),
  };
}

/** Raw rates just before an uncapped block: the model's runtime alone, and the server's workers alone. */
async function rawRates(dir: string, seconds: number): Promise<{ sequential: number; workers: number; plan: WorkerPlan }> {
  const sequential = await rawFps(dir, seconds);
  const plan = planWorkers({ fps: 0, cores: availableParallelism() });
  const model = await loadModel(dir, { worker: true, ...plan });
  const z = new Float32Array(model.manifest.generator.z.dim).map((_, i) => Math.sin(i));
  const frame = () => runFrame(model.runtime, z, null, false);
  for (let i = 0; i < 5 * plan.workers; i++) await Promise.all(Array.from({ length: plan.workers }, frame));
  // as the stage keeps them: two frames per worker in the making
  let n = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: 2 * plan.workers }, async () => {
      while (performance.now() < end) {
        await frame();
        n++;
      }
    }),
  );
  const workers = n / ((performance.now() - t0) / 1000);
  await model.runtime.close();
  return { sequential, workers, plan };
}

async function rawFps(dir: string, seconds: number): Promise<number> {
  const model = await loadModel(dir);
  const z = new Float32Array(model.manifest.generator.z.dim).map((_, i) => Math.sin(i));
  for (let i = 0; i < 5; i++) await model.runtime.generate(z, 1);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await model.runtime.generate(z, 1);
    n++;
  }
  const fps = n / ((performance.now() - t0) / 1000);
  await model.runtime.close();
  return fps;
}

/** Frames produced per second over a window, and the event-loop delay p99 (ms) in that window. */
async function window(url: string, seconds: number): Promise<{ fps: number; lagP99: number }> {
  const [f0] = await metrics(url, ['latentstage_frames_total']);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const [f1, lag] = await metrics(url, ['latentstage_frames_total', 'latentstage_event_loop_delay_seconds\\{quantile="0\\.99"\\}']);
  return { fps: (f1 - f0) / ((performance.now() - t0) / 1000), lagP99: lag * 1000 };
}

type Put = (key: string, value: number | string) => void;

export async function benchPipeline(opts: { modelDir?: string; seconds?: number; soak?: number; baseline?: string } = {}): Promise<Record<string, number | string>> {
  const seconds = opts.seconds ?? Number(process.env.BENCH_SECONDS ?? 4);
  const soak = opts.soak ?? Number(process.env.BENCH_SOAK_S ?? 60);
  const chosen = opts.modelDir ?? process.env.BENCH_MODEL;
  const model = chosen ? { dir: chosen, name: (await readManifest(chosen)).id } : await benchModel();
  const r: Record<string, number | string> = { model: model.name };
  // BENCH_BASELINE=<another checkout>: every block runs on both, alternating which goes first, so
  // before/after ratios come from the same minutes of a shared machine.
  const baseline = opts.baseline ?? process.env.BENCH_BASELINE;
  // BENCH_SERVER_ARGS / BENCH_BASELINE_ARGS: extra serve flags per variant (e.g. "--threads 1")
  const flags = (v: string | undefined) => (v ?? '').split(' ').filter(Boolean);
  const variants: { prefix: string; root?: string; args: string[] }[] = [{ prefix: '', args: flags(process.env.BENCH_SERVER_ARGS) }];
  if (baseline) variants.push({ prefix: 'baseline_', root: baseline, args: flags(process.env.BENCH_BASELINE_ARGS) });
  // BENCH_ONLY=sizes,curve,latency,search,soak,uncapped runs only those blocks
  const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
  const want = (name: string) => only.length === 0 || only.includes(name);
  let order = 0;
  const block = async <T = undefined>(fps: number, fn: (url: string, put: Put, before: T) => Promise<void>, before?: () => Promise<T>) => {
    const vs = order++ % 2 ? [...variants].reverse() : variants;
    for (const v of vs) {
      const pre = (before ? await before() : undefined) as T;
      const server = await serveChild(['--model', model.dir, '--fps', String(fps), ...v.args], v.root);
      try {
        await sleep(1500);
        await fn(server.url, (key, value) => (r[v.prefix + key] = value), pre);
      } finally {
        await server.stop();
      }
    }
  };

  if (want('sizes')) await block(60, async (url, put) => {
    const f512 = await measureViewers(url, Array(50).fill('format=jpeg&size=512'), seconds);
    put('viewers_50_at_512_fps_mean', round(mean(f512), 1));
    put('viewers_50_at_512_fps_min', round(Math.min(...f512), 1));
    const f1024 = await measureViewers(url, ['format=jpeg&size=1024'], seconds);
    put('viewer_1_at_1024_fps', round(f1024[0], 1));
    const sizes = [64, 256, 512, 1024];
    const mixed = await measureViewers(url, sizes.map((s) => `format=jpeg&size=${s}`), seconds);
    sizes.forEach((s, i) => put(`mixed_sizes_fps_at_${s}`, round(mixed[i], 1)));
  });

  // the curve: mean and min fps for N viewers at 512 px; "hold" = every viewer >= 59 fps
  if (want('curve')) await block(60, async (url, put) => {
    let held = 0;
    let prev = 0;
    for (const n of [1, 10, 25, 50, 100, 150, 200]) {
      const lost = ['latentstage_frames_skipped_total\\{cause="runtime"\\}', 'latentstage_frames_skipped_total\\{cause="loop"\\}', 'latentstage_viewer_frames_dropped_total'];
      const before = await metrics(url, lost);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const f = await measureViewers(url, Array(n).fill('format=jpeg&size=512'), Math.max(2, seconds - 1));
      const cpu = process.cpuUsage(c0);
      put(`curve_512_viewers_${n}_client_cores`, round((cpu.user + cpu.system) / 1000 / (performance.now() - t0), 2));
      const after = await metrics(url, lost);
      put(`curve_512_viewers_${n}_fps_mean`, round(mean(f), 1));
      put(`curve_512_viewers_${n}_fps_min`, round(Math.min(...f), 1));
      // where frames were lost: slots the server skipped, frames a slow viewer never got
      const delta = (i: number) => (after[i] || 0) - (before[i] || 0); // a label appears with its first count
      put(`curve_512_viewers_${n}_skipped_runtime_behind`, delta(0));
      put(`curve_512_viewers_${n}_skipped_loop_late`, delta(1));
      put(`curve_512_viewers_${n}_viewer_dropped`, delta(2));
      // the audience size up to which every size measured held (a dip at 50 is not hidden by 100 holding)
      if (Math.min(...f) >= 59 && held === prev) held = n;
      prev = n;
    }
    put('viewers_512_holding_59fps', held);
    // the server's major garbage collections over the curve: their pauses are what makes the loop late
    const [majors, majorSeconds, oldBytes] = await metrics(url, [
      'latentstage_nodejs_gc_duration_seconds_count\\{kind="major"\\}',
      'latentstage_nodejs_gc_duration_seconds_sum\\{kind="major"\\}',
      'latentstage_nodejs_heap_space_size_used_bytes\\{space="old"\\}',
    ]);
    put('curve_server_major_gcs', majors || 0);
    put('curve_server_major_gc_ms_mean', majors ? round((majorSeconds / majors) * 1000, 1) : 0);
    put('curve_server_old_space_mb', round(oldBytes / 2 ** 20, 1));
  });

  if (want('latency')) await block(60, async (url, put) => {
    const lat = await commandLatency(url, 200); // 200 samples: p95 is the 190th, not the 57th of 60
    put('command_to_frame_p50_ms', round(percentile(lat, 50), 1));
    put('command_to_frame_p95_ms', round(percentile(lat, 95), 1));
  });

  // steering search off vs on at cap 60; event-loop delay p99 in each window
  if (want('search')) await block(60, async (url, put) => {
    const c = await control(url);
    await sleep(500);
    const off = await window(url, seconds);
    await c.send({ type: 'prompt', text: 'robot | red heart:0.5', fade: 1 });
    await c.send({ type: 'set', search: 1 });
    await sleep(1000);
    const on = await window(url, seconds);
    c.close();
    put('fps_search_off', round(off.fps, 1));
    put('fps_search_on', round(on.fps, 1));
    put('fps_ratio_search_on_vs_off', round(on.fps / off.fps, 3));
    put('event_loop_delay_p99_ms_search_off', round(off.lagP99, 2));
    put('event_loop_delay_p99_ms_search_on', round(on.lagP99, 2));
  });

  // RSS soak: 50 viewers at 512 px for `soak` seconds, RSS sampled every 5 s
  if (want('soak')) await block(60, async (url, put) => {
    const v = await openViewers(url, Array(50).fill('format=jpeg&size=512'));
    const rss: number[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < soak * 1000) {
      rss.push((await metric(url, 'latentstage_process_resident_memory_bytes')) / 2 ** 20);
      await sleep(5000);
    }
    v.close();
    const half = Math.max(1, Math.floor(rss.length / 2));
    put('soak_seconds', soak);
    put('rss_mb_50_viewers_start', round(rss[0], 1));
    put('rss_mb_50_viewers_end', round(rss[rss.length - 1], 1));
    put('rss_mb_50_viewers_max', round(Math.max(...rss), 1));
    put('rss_mb_second_half_growth', round(Math.max(...rss.slice(half)) - Math.max(...rss.slice(0, half)), 1));
  });

  // uncapped: delivered to one JPEG viewer over the raw generator fps measured just before
  if (want('uncapped')) await block(
    0,
    async (url, put, raw) => {
      const v = await openViewers(url, ['format=jpeg']);
      await sleep(700);
      const [f0] = await metrics(url, ['latentstage_frames_total']);
      v.start();
      await sleep(seconds * 1000);
      const elapsed = v.stop();
      const [f1] = await metrics(url, ['latentstage_frames_total']);
      v.close();
      const delivered = v.fps()[0];
      const produced = (f1 - f0) / elapsed;
      put('raw_fps_batch1', round(raw.sequential, 1));
      put('raw_fps_workers', round(raw.workers, 1));
      put('raw_workers', raw.plan.workers);
      put('raw_threads_per_worker', raw.plan.threads ?? 'default');
      put('uncapped_produced_fps', round(produced, 1));
      put('uncapped_delivered_fps', round(delivered, 1));
      put('uncapped_delivered_over_raw', round(delivered / raw.sequential, 3));
      put('uncapped_delivered_over_raw_workers', round(delivered / raw.workers, 3));
      put('uncapped_delivered_over_produced', round(delivered / produced, 3));
    },
    () => rawRates(model.dir, seconds),
  );
  return r;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchPipeline().then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
