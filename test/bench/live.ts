// Live-loop benchmark: raw generator throughput, delivery to 1/10/50 WebSocket viewers, frame
// intervals, command -> first frame latency, delivered/raw with the fps cap lifted, CPU and RSS.
import WebSocket from 'ws';
import { performance } from 'node:perf_hooks';
import { loadModel } from '../../server/model/load.ts';
import { parseFrameHeader } from '../../server/frames/header.ts';
import { percentile, round, benchModel, serveChild, metric } from './util.ts';

async function rawThroughput(dir: string, seconds: number): Promise<{ batch1: number; batch16: number }> {
  const model = await loadModel(dir);
  const dim = model.manifest.generator.z.dim;
  const measure = async (batch: number) => {
    const z = new Float32Array(batch * dim).map((_, i) => Math.sin(i));
    for (let i = 0; i < 5; i++) await model.runtime.generate(z, batch);
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      await model.runtime.generate(z, batch);
      n += batch;
    }
    return n / ((performance.now() - t0) / 1000);
  };
  const batch1 = await measure(1);
  const batch16 = await measure(16);
  await model.runtime.close();
  return { batch1, batch16 };
}

interface ViewerStats {
  counts: number[];
  intervals: number[];
}

export async function watch(url: string, viewers: number, seconds: number, query = 'format=jpeg'): Promise<ViewerStats> {
  const sockets: WebSocket[] = [];
  const counts = new Array(viewers).fill(0);
  const intervals: number[] = [];
  let measuring = false;
  let lastArrival = 0;
  await Promise.all(
    Array.from({ length: viewers }, (_, i) => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/frames?${query}`);
      sockets.push(ws);
      ws.on('message', (_d, binary) => {
        if (!binary || !measuring) return;
        counts[i]++;
        if (i === 0) {
          const now = performance.now();
          if (lastArrival) intervals.push(now - lastArrival);
          lastArrival = now;
        }
      });
      return new Promise((r) => ws.once('open', r));
    }),
  );
  await new Promise((r) => setTimeout(r, 500));
  measuring = true;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  for (const ws of sockets) ws.close();
  return { counts: counts.map((c) => c / seconds), intervals };
}

/** Command -> first frame showing it, over /control and /frames (ms per sample). */
export async function commandLatency(url: string, samples: number): Promise<number[]> {
  const control = new WebSocket(`${url.replace('http', 'ws')}/control`);
  const viewer = new WebSocket(`${url.replace('http', 'ws')}/frames?format=jpeg`);
  await Promise.all([new Promise((r) => control.once('open', r)), new Promise((r) => viewer.once('open', r))]);
  const out: number[] = [];
  let waitingFor = Infinity;
  let sentAt = 0;
  let done: (() => void) | null = null;
  viewer.on('message', (d, binary) => {
    if (!binary || !done) return;
    if (parseFrameHeader(d as Buffer).index > waitingFor) {
      out.push(performance.now() - sentAt);
      const f = done;
      done = null;
      f();
    }
  });
  for (let i = 0; i < samples; i++) {
    await new Promise<void>((resolve) => {
      done = resolve;
      waitingFor = Infinity;
      sentAt = performance.now();
      control.send(JSON.stringify({ type: 'seed', seed: 1000 + i, id: i }));
      control.once('message', function onAck(m) {
        const msg = JSON.parse(m.toString());
        if (msg.type !== 'ack') return control.once('message', onAck);
        waitingFor = msg.state.frame;
      });
    });
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 20));
  }
  control.close();
  viewer.close();
  return out;
}

export async function benchLive(opts: { seconds?: number } = {}): Promise<Record<string, number | string>> {
  const seconds = opts.seconds ?? 3;
  const model = await benchModel();
  const raw = await rawThroughput(model.dir, seconds);
  const result: Record<string, number | string> = { model: model.name, raw_fps_batch1: round(raw.batch1, 1), raw_fps_batch16: round(raw.batch16, 1) };

  const capped = await serveChild(['--model', model.dir, '--fps', '60']);
  try {
    for (const v of [1, 10, 50]) {
      const cpu0 = await metric(capped.url, 'latentstage_process_cpu_seconds_total');
      const t0 = performance.now();
      const s = await watch(capped.url, v, seconds);
      const cpu = ((await metric(capped.url, 'latentstage_process_cpu_seconds_total')) - cpu0) / ((performance.now() - t0) / 1000);
      result[`viewers_${v}_fps_mean`] = round(s.counts.reduce((a, b) => a + b, 0) / v, 1);
      result[`viewers_${v}_fps_min`] = round(Math.min(...s.counts), 1);
      result[`viewers_${v}_interval_p50_ms`] = round(percentile(s.intervals, 50), 1);
      result[`viewers_${v}_interval_p95_ms`] = round(percentile(s.intervals, 95), 1);
      result[`viewers_${v}_server_cpu_cores`] = round(cpu, 2);
      result[`viewers_${v}_server_rss_mb`] = round((await metric(capped.url, 'latentstage_process_resident_memory_bytes')) / 2 ** 20, 1);
    }
    const lat = await commandLatency(capped.url, 60);
    result.command_to_frame_p50_ms = round(percentile(lat, 50), 1);
    result.command_to_frame_p95_ms = round(percentile(lat, 95), 1);
  } finally {
    await capped.stop();
  }

  const uncapped = await serveChild(['--model', model.dir, '--fps', '0']);
  try {
    for (const format of ['jpeg', 'rgba']) {
      const f0 = await metric(uncapped.url, 'latentstage_frames_total');
      const t0 = performance.now();
      const s = await watch(uncapped.url, 1, seconds, `format=${format}`);
      const produced = ((await metric(uncapped.url, 'latentstage_frames_total')) - f0) / ((performance.now() - t0) / 1000);
      result[`uncapped_${format}_produced_fps`] = round(produced, 1);
      result[`uncapped_${format}_delivered_fps`] = round(s.counts[0], 1);
      result[`uncapped_${format}_produced_over_raw`] = round(produced / raw.batch1, 3);
      result[`uncapped_${format}_delivered_over_raw`] = round(s.counts[0] / raw.batch1, 3);
    }
  } finally {
    await uncapped.stop();
  }
  return result;
}

if (process.argv[1]?.endsWith('live.ts')) {
  benchLive().then((r) => console.log(JSON.stringify(r, null, 2)));
}
