// The long soak (a benchmark, not a test): `npm run bench soak` (SOAK_MINUTES, default 30). A real
// server process on the bench model with 50 viewers, a recording that is rotated every 5 minutes,
// OSC faders at 50 Hz, control commands and state polls, a parameter modulated by a synthetic
// audio envelope at 60 Hz, and a preset change every 10 s. Reports the server's RSS and heap slope
// (least squares after a warm-up), open file descriptors, frame slots lost, viewers' frames, and
// how many recordings play to the end.
import dgram from 'node:dgram';
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { serveChild, benchModel, metrics, round } from './util.ts';
import { decodeVideo } from '../helpers/media.ts';
import { readWalk } from '../../server/record/walk-file.ts';
import { encodeMessage } from '../../server/surfaces/osc/wire.ts';

const VIEWERS = 50;
const FPS = 30;
const SAMPLE_MS = 10_000;
const PRESET_MS = 10_000;
const ROTATE_MS = 5 * 60_000;
const WARMUP_MS = 2 * 60_000;

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return num / den;
}

const procStatus = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

export async function benchSoak(): Promise<Record<string, number | string>> {
  const minutes = Number(process.env.SOAK_MINUTES ?? 30);
  const tmp = mkdtempSync(path.join(tmpdir(), 'ls-soak-'));
  const rec = path.join(tmp, 'recordings');
  const model = await benchModel();
  const oscPort = 20000 + Math.floor(Math.random() * 20000);
  const server = await serveChild(['--model', model.dir, '--fps', String(FPS), '--recordings', rec, '--presets', path.join(tmp, 'presets'), '--osc-port', String(oscPort), '--oscquery-port', '0']);
  const pid = server.proc.pid!;
  const url = server.url;
  const command = async (body: unknown) => {
    const r = await fetch(`${url}/api/command`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`${JSON.stringify(body)}: ${r.status} ${await r.text()}`);
  };
  const timers: NodeJS.Timeout[] = [];
  const sockets: WebSocket[] = [];
  const osc = dgram.createSocket('udp4');
  let viewerFrames = 0;
  let controlErrors = 0;
  try {
    // three presets to cycle through
    const looks = [
      { speed: 0.3, truncation: 0.6, mode: 'drift' },
      { speed: 1.2, truncation: 0.9, mode: 'loop', period: 8 },
      { speed: 0.6, truncation: 0.4, mode: 'drift' },
    ];
    for (const [i, look] of looks.entries()) {
      await command({ type: 'set', ...look });
      await command({ type: 'prompt', text: ['cat', 'fire | heart:0.5', 'ocean wave'][i] });
      await command({ type: 'preset.save', name: `soak-${i}` });
    }
    await command({ type: 'mod.set', id: 'audio', target: 'truncation', source: 'audio:low', depth: 0.3 });

    // 50 viewers at three sizes
    for (let i = 0; i < VIEWERS; i++) {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/frames?format=jpeg&size=${[64, 256, 512][i % 3]}`);
      ws.on('message', (_d, binary) => binary && viewerFrames++);
      ws.on('error', () => {});
      sockets.push(ws);
    }
    // control: the audio envelope at 60 Hz and a command at 5 Hz over /control, state polls at 1 Hz
    const control = new WebSocket(`${url.replace('http', 'ws')}/control`);
    control.on('message', (d) => {
      if (JSON.parse(String(d)).type === 'error') controlErrors++;
    });
    await new Promise((r) => control.once('open', r));
    sockets.push(control);
    const t0 = performance.now();
    let tick = 0;
    timers.push(
      setInterval(() => {
        const t = (performance.now() - t0) / 1000;
        const low = 0.5 + 0.5 * Math.sin(2 * Math.PI * 2 * t) * Math.exp(-((t * 2) % 1) * 3);
        control.send(JSON.stringify({ type: 'mod.input', values: { 'audio:low': Math.max(0, Math.min(1, low)) } }));
      }, 1000 / 60),
      setInterval(() => control.send(JSON.stringify({ id: tick++, type: 'set', fade: 0.5 + (tick % 10) / 10 })), 200),
      setInterval(() => void fetch(`${url}/api/state`).then((r) => r.arrayBuffer()).catch(() => {}), 1000),
      setInterval(() => {
        const k = Math.floor((performance.now() - t0) / 20) % 100;
        osc.send(encodeMessage('/ls/strength', [{ type: 'f', value: 0.5 + k / 200 }]), oscPort, '127.0.0.1');
      }, 20),
    );
    let preset = 0;
    timers.push(setInterval(() => void command({ type: 'preset.load', name: `soak-${preset++ % looks.length}` }).catch(() => controlErrors++), PRESET_MS));
    // recordings, rotated every 5 minutes
    let part = 0;
    await command({ type: 'record.start', name: `soak-${part++}` });
    timers.push(
      setInterval(() => {
        void command({ type: 'record.stop' })
          .then(() => command({ type: 'record.start', name: `soak-${part++}` }))
          .catch(() => controlErrors++);
      }, ROTATE_MS),
    );

    const samples: { t: number; rss: number; heap: number; fds: number }[] = [];
    const [skipped0] = await metrics(url, ['latentstage_frames_skipped_total\\{cause="runtime"\\}']);
    const [loop0] = await metrics(url, ['latentstage_frames_skipped_total\\{cause="loop"\\}']);
    const end = t0 + minutes * 60_000;
    while (performance.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, end - performance.now())));
      const [heap] = await metrics(url, ['latentstage_nodejs_heap_size_used_bytes']);
      samples.push({ t: (performance.now() - t0) / 60_000, rss: procStatus(pid, 'VmRSS'), heap: heap / 2 ** 20, fds: fds(pid) });
      const s = samples.at(-1)!;
      process.stderr.write(`soak ${s.t.toFixed(1)} min: rss ${s.rss.toFixed(1)} MiB, heap ${s.heap.toFixed(1)} MiB, fds ${s.fds}, viewer frames ${viewerFrames}\n`);
    }
    for (const t of timers) clearInterval(t);
    await command({ type: 'record.stop' });
    const [runtimeSkips, loopSkips, frames, dropped] = await metrics(url, [
      'latentstage_frames_skipped_total\\{cause="runtime"\\}',
      'latentstage_frames_skipped_total\\{cause="loop"\\}',
      'latentstage_frames_total',
      'latentstage_viewer_frames_dropped_total',
    ]);
    const health = await (await fetch(`${url}/health`)).json();
    for (const ws of sockets) ws.close();

    // every recording: a walk with its end marker and a video that plays to its end
    let played = 0;
    const names = readdirSync(rec).filter((f) => f.endsWith('.walk.jsonl')).map((f) => f.replace('.walk.jsonl', ''));
    for (const name of names) {
      try {
        const walk = await readWalk(path.join(rec, `${name}.walk.jsonl`));
        const video = await decodeVideo(path.join(rec, `${name}.mp4`));
        const seconds = (walk.end?.wallMs ?? NaN) / 1000;
        if (walk.end && !walk.torn && video.stderr.trim() === '' && Math.abs(video.duration - seconds) < 1.5) played++;
        else process.stderr.write(`soak: ${name} does not play to the end (walk ${seconds} s, video ${video.duration} s, ${video.stderr.trim().slice(0, 200)})\n`);
      } catch (err) {
        process.stderr.write(`soak: ${name}: ${(err as Error).message}\n`);
      }
    }
    const steady = samples.filter((s) => s.t * 60_000 >= Math.min(WARMUP_MS, (minutes * 60_000) / 3));
    const xs = steady.map((s) => s.t / 60);
    return {
      model: model.name,
      minutes,
      viewers: VIEWERS,
      rss_start_mib: round(samples[0]?.rss ?? NaN, 1),
      rss_end_mib: round(samples.at(-1)?.rss ?? NaN, 1),
      rss_max_mib: round(Math.max(...samples.map((s) => s.rss)), 1),
      rss_slope_mib_per_hour: round(slope(xs, steady.map((s) => s.rss)), 2),
      heap_slope_mib_per_hour: round(slope(xs, steady.map((s) => s.heap)), 2),
      fds_start: samples[0]?.fds ?? NaN,
      fds_end: samples.at(-1)?.fds ?? NaN,
      fds_max: Math.max(...samples.map((s) => s.fds)),
      frames: frames,
      frame_slots_lost_runtime: runtimeSkips - skipped0,
      frame_slots_lost_loop: loopSkips - loop0,
      viewer_frames_received: viewerFrames,
      viewer_frames_dropped: dropped,
      control_errors: controlErrors,
      recordings: names.length,
      recordings_played_to_end: played,
      faults_at_end: health.faults.map((f: { kind: string }) => f.kind).join(',') || 'none',
    };
  } finally {
    for (const t of timers) clearInterval(t);
    for (const ws of sockets) ws.terminate();
    osc.close();
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
