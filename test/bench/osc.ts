// OSC benchmark: OSC message -> first frame reflecting it (p50/p95 ms), and a sustained fader
// flood of 2,000 messages/s with interleaved prompts (4/s) and button presses (20/s): none of
// those may be lost, and the frame rate during the flood is compared with the rate before it.
// Standalone: `npx tsx test/bench/osc.ts` prints JSON.
import dgram from 'node:dgram';
import { writeFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { encodeMessage, type TypedArg } from '../../server/surfaces/osc/wire.ts';
import type { Frame } from '../../server/frames/frame.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (v: number[], p: number) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const round = (n: number) => Math.round(n * 100) / 100;

/** Datagrams the kernel dropped for full receive buffers (Linux), so losses can be attributed. */
function kernelUdpDrops(): number {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const [head, values] = lines.map((l) => l.split(/\s+/));
    return Number(values[head.indexOf('RcvbufErrors')]);
  } catch {
    return NaN;
  }
}

async function sender(port: number) {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return {
    send: (address: string, ...args: TypedArg[]) => s.send(encodeMessage(address, args), port, '127.0.0.1'),
    close: () => new Promise<void>((r) => s.close(() => r())),
  };
}

/** Time from sending /ls/seed to the first frame generated with that seed. */
async function latency(server: TestServer, port: number, n: number): Promise<number[]> {
  const out = await sender(port);
  const stage = server.stage;
  const samples: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const seed = 100_000 + i;
      let appliedAt = Infinity;
      const onCommand = (cmd: { type: string; seed?: number }) => {
        if (cmd.type === 'seed' && cmd.seed === seed) appliedAt = stage.engine.frame;
      };
      const seen = new Promise<number>((resolve) => {
        const onFrame = (f: Frame) => {
          const reflects = f.latent ? f.latent.state?.seed === seed : f.info.index > appliedAt;
          if (!reflects) return;
          stage.off('frame', onFrame);
          resolve(performance.now());
        };
        stage.on('frame', onFrame);
      });
      stage.on('command', onCommand);
      const t0 = performance.now();
      out.send('/ls/seed', { type: 'f', value: seed });
      samples.push((await seen) - t0);
      stage.off('command', onCommand);
      await sleep(15 + ((i * 7) % 23)); // land at varied points of the frame interval
    }
  } finally {
    await out.close();
  }
  return samples;
}

async function framesIn(server: TestServer, ms: number, during?: Promise<void>): Promise<number> {
  let n = 0;
  const on = () => n++;
  server.stage.on('frame', on);
  const t0 = performance.now();
  await (during ?? sleep(ms));
  const elapsed = performance.now() - t0;
  server.stage.off('frame', on);
  return (n * 1000) / elapsed;
}

async function flood(server: TestServer, port: number, rate: number, seconds: number, promptEvery: number) {
  const out = await sender(port);
  const stage = server.stage;
  let prompts = 0;
  let triggers = 0;
  let faders = 0;
  let sentPrompts = 0;
  let sentTriggers = 0;
  let outOfOrder = 0;
  let lastPrompt = -1;
  const onCommand = (cmd: Record<string, unknown>, surface: string) => {
    if (surface !== 'osc') return;
    if (cmd.type === 'prompt') {
      prompts++;
      const k = Number(String(cmd.text).slice(6));
      if (k !== lastPrompt + 1) outOfOrder++;
      lastPrompt = k;
    } else if (cmd.type === 'set' && 'hold' in cmd) triggers++;
    else faders++;
  };
  stage.on('command', onCommand);
  let sent = 0;
  const run = async () => {
    const t0 = performance.now();
    const total = rate * seconds;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      for (; sent < due; sent++) {
        if (sent % promptEvery === 0) out.send('/ls/prompt', { type: 's', value: `flood ${sentPrompts++}` });
        else if (sent % 100 === 50) out.send('/bench/push', { type: 'f', value: 1 });
        else if (sent % 100 === 51) {
          out.send('/bench/push', { type: 'f', value: 0 });
          sentTriggers++;
        } else out.send(sent % 2 ? '/ls/speed' : '/ls/truncation', { type: 'f', value: 0.5 + (sent % 1000) / 2000 });
      }
      await sleep(5);
    }
  };
  const drops0 = kernelUdpDrops();
  const fps = await framesIn(server, 0, run());
  const kernelDrops = kernelUdpDrops() - drops0;
  const end = performance.now() + 5000;
  while ((prompts < sentPrompts || triggers < sentTriggers) && performance.now() < end) await sleep(20);
  stage.off('command', onCommand);
  await out.close();
  return { fps, sent, sentPrompts, prompts, sentTriggers, triggers, faders, outOfOrder, kernelDrops };
}

export async function benchOsc(): Promise<Record<string, number>> {
  // A mapped push button: its trigger is a harmless `set hold`, easy to tell from the faders.
  const dir = mkdtempSync(path.join(tmpdir(), 'latentstage-bench-osc-'));
  const mapFile = path.join(dir, 'map.json');
  writeFileSync(mapFile, JSON.stringify({ '/bench/push': { command: { type: 'set', hold: 2.5 } } }));
  const bench = await startTestServer({ fps: 60, osc: { port: 0, map: mapFile } });
  try {
    const port = bench.stage.state().osc!.port;
    // An active prompt has its own per-frame cost (similarity measuring); have one in both phases.
    await bench.command({ type: 'prompt', text: 'a warm up' });
    await sleep(1000); // warm up
    const lat = await latency(bench, port, 60);
    const fpsBefore = await framesIn(bench, 2000);
    const f = await flood(bench, port, 2000, 3, 500);
    return {
      osc_to_frame_p50_ms: round(pct(lat, 50)),
      osc_to_frame_p95_ms: round(pct(lat, 95)),
      osc_flood_msgs_per_s: 2000,
      osc_flood_sent: f.sent,
      osc_flood_prompts_sent: f.sentPrompts,
      osc_flood_prompts_applied: f.prompts,
      osc_flood_prompts_out_of_order: f.outOfOrder,
      osc_flood_triggers_sent: f.sentTriggers,
      osc_flood_triggers_fired: f.triggers,
      osc_flood_fader_commands_applied: f.faders,
      osc_flood_kernel_udp_drops: f.kernelDrops,
      osc_fps_before: round(fpsBefore),
      osc_fps_during_flood: round(f.fps),
    };
  } finally {
    await bench.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('osc.ts')) {
  benchOsc().then((r) => console.log(JSON.stringify(r, null, 2)));
}
