// Picture benchmark: what the 64 -> 256 refiner costs and whether 256 px frames stay live.
// - generator and refiner time per frame in onnxruntime-node (batch 1, 1 and 2 threads), and the
//   refiner's cost as a ratio of the generator's, measured in the same run;
// - delivered fps at the model's resolution to 1 and 50 WebSocket viewers (JPEG) with steering on
//   (a prompt walking the latent), server capped at 60 fps, and the server's CPU.
// Standalone: `npx tsx test/bench/picture.ts` prints JSON.
import * as ort from 'onnxruntime-node';
import WebSocket from 'ws';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { readManifest, generatorResolution } from '../../server/model/manifest.ts';
import { benchModel, serveChild, metric, round } from './util.ts';

async function msPerRun(file: string, threads: number, feeds: Record<string, ort.Tensor>, seconds: number): Promise<number> {
  const s = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  try {
    for (let i = 0; i < 10; i++) await s.run(feeds);
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      await s.run(feeds);
      n++;
    }
    return (performance.now() - t0) / n;
  } finally {
    await s.release();
  }
}

async function viewers(url: string, count: number, seconds: number): Promise<number[]> {
  const counts = new Array<number>(count).fill(0);
  let measuring = false;
  const sockets = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/frames?format=jpeg`);
      ws.on('message', (_d, binary) => {
        if (binary && measuring) counts[i]!++;
      });
      return new Promise<WebSocket>((r) => ws.once('open', () => r(ws)));
    }),
  );
  await new Promise((r) => setTimeout(r, 500));
  measuring = true;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  for (const ws of sockets) ws.close();
  return counts.map((c) => c / seconds);
}

export async function benchPicture(opts: { seconds?: number } = {}): Promise<Record<string, number | string>> {
  const seconds = opts.seconds ?? 4;
  const model = await benchModel();
  const m = await readManifest(model.dir);
  const base = generatorResolution(m);
  const result: Record<string, number | string> = { model: model.name, resolution: `${m.resolution.width}x${m.resolution.height}` };
  const z = { [m.generator.z.input]: new ort.Tensor('float32', new Float32Array(m.generator.z.dim).map((_, i) => Math.sin(i)), [1, m.generator.z.dim]) };
  for (const threads of [1, 2]) {
    const gen = await msPerRun(path.join(model.dir, m.generator.file), threads, z, seconds);
    result[`generator_ms_${threads}t`] = round(gen, 2);
    if (m.refiner) {
      const img = new ort.Tensor('float32', new Float32Array(3 * base.width * base.height).map((_, i) => Math.sin(i * 0.01)), [1, 3, base.height, base.width]);
      const ref = await msPerRun(path.join(model.dir, m.refiner.file), threads, { [m.refiner.input]: img }, seconds);
      result[`refiner_ms_${threads}t`] = round(ref, 2);
      result[`refiner_over_generator_${threads}t`] = round(ref / gen, 2);
    }
  }

  const server = await serveChild(['--model', model.dir, '--fps', '60']);
  try {
    const res = await fetch(`${server.url}/api/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'prompt', text: 'fire | red heart:0.5', fade: 1 }),
    });
    if (!res.ok) throw new Error(`prompt refused: ${await res.text()}`);
    for (const v of [1, 50]) {
      const cpu0 = await metric(server.url, 'latentstage_process_cpu_seconds_total');
      const t0 = performance.now();
      const fps = await viewers(server.url, v, seconds);
      const cpu = ((await metric(server.url, 'latentstage_process_cpu_seconds_total')) - cpu0) / ((performance.now() - t0) / 1000);
      result[`steering_viewers_${v}_fps_mean`] = round(fps.reduce((a, b) => a + b, 0) / v, 1);
      result[`steering_viewers_${v}_fps_min`] = round(Math.min(...fps), 1);
      result[`steering_viewers_${v}_server_cpu_cores`] = round(cpu, 2);
    }
  } finally {
    await server.stop();
  }
  return result;
}

if (process.argv[1]?.endsWith('picture.ts')) {
  benchPicture().then((r) => {
    console.log(JSON.stringify(r, null, 2));
    process.exit(0);
  });
}
