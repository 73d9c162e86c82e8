// Instruments benchmark over loopback sockets, as the audio and control pages talk to the server:
// an audio onset (mod.input over /control) -> the first frame generated with it, received by a
// /frames viewer; and a MIDI CC (a set over /control, what the control page sends for a learned
// knob) -> the same. p50/p95 ms. The browser's own share (an AnalyserNode window of 1024 samples at
// 48 kHz = 21 ms, plus an 8 ms poll) is added for the onset as a constant.
// Standalone: `npx tsx test/bench/instruments.ts` prints JSON.
import WebSocket from 'ws';
import { performance } from 'node:perf_hooks';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { Frame } from '../../server/frames/frame.ts';
import { benchModel, percentile, round } from './util.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BROWSER_ONSET_MS = (1024 / 48000) * 1000 + 8;

async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers: { origin: url.replace(/^ws/, 'http').replace(/\/(control|frames).*$/, '') } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return ws;
}

/** Send `cmd` and time it until a viewer receives the first frame whose engine state passes `shows`. */
async function sample(s: TestServer, control: WebSocket, arrivals: Map<number, number>, cmd: object, shows: (f: Frame) => boolean): Promise<number> {
  let index = -1;
  const generated = new Promise<void>((resolve) => {
    const onFrame = (f: Frame) => {
      if (!shows(f)) return;
      index = f.info.index;
      s.stage.off('frame', onFrame);
      resolve();
    };
    s.stage.on('frame', onFrame);
  });
  const t0 = performance.now();
  control.send(JSON.stringify(cmd));
  await generated;
  for (;;) {
    for (const [i, at] of arrivals) if (i >= index && at >= t0) return at - t0;
    await sleep(1);
  }
}

/** Both latencies on one model (n samples each). */
async function measure(modelDir: string | undefined, n: number): Promise<{ fps: number; onset: number[]; cc: number[] }> {
  const s = await startTestServer({ ...(modelDir ? { model: modelDir } : {}), fps: 60 });
  const ws = s.url.replace('http', 'ws');
  const frames = await open(`${ws}/frames?format=jpeg`);
  const control = await open(`${ws}/control`);
  const arrivals = new Map<number, number>();
  frames.on('message', (data, isBinary) => {
    if (!isBinary) return;
    const buf = data as Buffer;
    arrivals.set(buf.readUInt32LE(4), performance.now());
    if (arrivals.size > 600) arrivals.delete(arrivals.keys().next().value!);
  });
  try {
    await sleep(1500); // warm up
    const onset: number[] = [];
    const cc: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = 1 - (i % 2) * 0.5; // alternate so each sample is a change
      onset.push(await sample(s, control, arrivals, { type: 'mod.input', values: { 'audio:onset': v, 'audio:low': v } }, (f) => f.latent?.state?.mod.inputs['audio:onset'] === v));
      await sleep(37 + (i % 5) * 7); // land at different phases of the frame clock
      const speed = round(0.5 + (i % 20) * 0.05, 2);
      cc.push(await sample(s, control, arrivals, { type: 'set', speed }, (f) => f.latent?.state?.params.speed === speed));
      await sleep(29 + (i % 3) * 11);
    }
    return { fps: s.stage.fps, onset, cc };
  } finally {
    frames.close();
    control.close();
    await s.stop();
  }
}

export async function benchInstruments(): Promise<Record<string, number | string>> {
  const model = await benchModel();
  // The default model shows what a performer gets on this machine; the small fixture generator
  // (a few ms per frame) shows the path itself: sockets, command queue, engine, encode.
  const real = await measure(model.dir, 40);
  const small = await measure(undefined, 60);
  return {
    model: model.name,
    fps: real.fps,
    onset_to_frame_server_p50_ms: round(percentile(real.onset, 50)),
    onset_to_frame_server_p95_ms: round(percentile(real.onset, 95)),
    onset_to_frame_with_analysis_p95_ms: round(percentile(real.onset, 95) + BROWSER_ONSET_MS),
    midi_cc_to_frame_p50_ms: round(percentile(real.cc, 50)),
    midi_cc_to_frame_p95_ms: round(percentile(real.cc, 95)),
    fixture_fps: small.fps,
    fixture_onset_to_frame_p95_ms: round(percentile(small.onset, 95)),
    fixture_onset_with_analysis_p95_ms: round(percentile(small.onset, 95) + BROWSER_ONSET_MS),
    fixture_midi_cc_to_frame_p95_ms: round(percentile(small.cc, 95)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchInstruments().then((r) => {
    console.log(JSON.stringify(r, null, 2));
    process.exit(0);
  });
}
