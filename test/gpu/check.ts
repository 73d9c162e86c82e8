// The GPU check (test/gpu/run.sh runs it): builds real-size StyleGAN2 fixtures (random weights,
// NVlabs pickles, imported with CLIP encoders added), serves each with `--runtime torch --device D`
// in a child process and measures what a show needs: frames delivered per second to 1 and 20
// viewers (uncapped), command -> frame latency (60 fps cap), search candidates per second while
// serving; then the models bench in PyTorch (latentstage.bench_torch) and the frame transport.
// Prints a Markdown table for the README and writes test/artifacts/gpu-check.json.
//
//   node --import tsx test/gpu/check.ts [--device cuda|mps|cpu] [--cpu] [--sizes 512,1024]
//        [--seconds N] [--work DIR] [--models KIND:IMPORTER,...|none] [--fp16] [--compile] [--cuda-graphs]
//
// --cpu proves the script on a machine without a GPU: device cpu, the small 32 px fixture, short
// runs. Nothing is downloaded or installed: it needs this checkout's node_modules and a python3
// with torch (and CUDA for --device cuda).
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import WebSocket from 'ws';
import { findPython, pythonEnv } from '../../server/model/python.ts';
import { importedFixture } from '../helpers/torch-model.ts';
import { commandLatency, watch } from '../bench/live.ts';
import { benchTorchTransport } from '../bench/torch-transport.ts';
import { percentile, round, serveChild } from '../bench/util.ts';

const { values: o } = parseArgs({
  options: {
    device: { type: 'string' },
    cpu: { type: 'boolean' },
    sizes: { type: 'string' },
    seconds: { type: 'string' },
    work: { type: 'string' },
    fp16: { type: 'boolean' },
    compile: { type: 'boolean' },
    'cuda-graphs': { type: 'boolean' },
    models: { type: 'string' },
  },
});
const device = o.device ?? (o.cpu ? 'cpu' : 'cuda');
const seconds = Number(o.seconds ?? (o.cpu ? 2 : 5));
const sizes = o.cpu ? [32] : (o.sizes ?? '512,1024').split(',').map(Number);
const work = path.resolve(o.work ?? path.join(tmpdir(), 'latentstage-gpu-check'));
const flags = [o.fp16 && '--fp16', o.compile && '--compile', o['cuda-graphs'] && '--cuda-graphs'].filter((f): f is string => !!f);
const log = (m: string) => process.stderr.write(`gpu-check: ${m}\n`);

/** The fixture kind for a size: the 32 px test fixture, or a real-size StyleGAN2. */
const kind = (size: number) => (size === 32 ? 'nvlabs-sg2' : `nvlabs-sg2-${size}-full`);
const clipKind = o.cpu ? 'hf-clip' : 'hf-clip-vit-b32';
/**
 * The rest of the import issue's models bench, timed in PyTorch only (fixture kind:importer);
 * `--models none` skips them (their imports take minutes on a CPU).
 */
const extraModels =
  o.models === 'none'
    ? []
    : (o.models ?? (o.cpu ? 'biggan-deep:biggan' : 'nvlabs-sg2-256-full:stylegan,nvlabs-sg3t-512-full:stylegan,biggan-deep-128-full:biggan,biggan-deep-256-full:biggan,biggan-deep-512-full:biggan'))
        .split(',')
        .map((m) => m.split(':') as [string, string?]);

interface Row {
  size: number;
  viewers1_fps: number;
  viewers20_fps_mean: number;
  viewers20_fps_min: number;
  command_to_frame_p50_ms: number;
  command_to_frame_p95_ms: number;
  search_candidates_per_s: number;
}

async function state(url: string): Promise<any> {
  return (await fetch(`${url}/api/state`)).json();
}

async function serveRow(size: number, dir: string): Promise<Row> {
  const base = ['--model', dir, '--runtime', 'torch', '--device', device, '--osc-port', '0', '--oscquery-port', '0', ...flags];
  const row = { size } as Row;
  const uncapped = await serveChild([...base, '--fps', '0']);
  try {
    const s0 = await state(uncapped.url);
    if (s0.device !== device) throw new Error(`the server runs on ${s0.device}, not ${device} (see its log above)`);
    await watch(uncapped.url, 1, 1); // warm-up
    const one = await watch(uncapped.url, 1, seconds);
    row.viewers1_fps = round(one.counts[0]!, 1);
    const twenty = await watch(uncapped.url, 20, seconds);
    row.viewers20_fps_mean = round(twenty.counts.reduce((a, b) => a + b, 0) / 20, 1);
    row.viewers20_fps_min = round(Math.min(...twenty.counts), 1);
  } finally {
    await uncapped.stop();
  }
  const capped = await serveChild([...base, '--fps', '60']);
  try {
    const lat = await commandLatency(capped.url, o.cpu ? 30 : 200);
    row.command_to_frame_p50_ms = round(percentile(lat, 50), 1);
    row.command_to_frame_p95_ms = round(percentile(lat, 95), 1);
    // the search while serving (one viewer watching): candidates evaluated per second
    const viewer = new WebSocket(`${capped.url.replace('http', 'ws')}/frames?format=jpeg`);
    await new Promise((r) => viewer.once('open', r));
    const r = await fetch(`${capped.url}/api/command`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'prompt', text: 'a red flower' }) });
    if (!r.ok) throw new Error(`prompt refused: ${await r.text()}`);
    const evaluated = async () => (await state(capped.url)).steering?.search?.evaluated ?? 0;
    await new Promise((res) => setTimeout(res, 1000));
    const e0 = await evaluated();
    const t0 = performance.now();
    await new Promise((res) => setTimeout(res, seconds * 1000));
    row.search_candidates_per_s = round(((await evaluated()) - e0) / ((performance.now() - t0) / 1000), 1);
    viewer.close();
  } finally {
    await capped.stop();
  }
  return row;
}

async function main(): Promise<void> {
  const py = await findPython();
  const probe = await promisify(execFile)(
    py.executable,
    ['-c', 'import torch; print(torch.__version__, torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no cuda", hasattr(torch, "compile"))'],
    { env: pythonEnv() },
  );
  const [version, cuda, ...rest] = probe.stdout.trim().split(' ');
  const gpu = rest.slice(0, -1).join(' ');
  log(`python ${py.executable}, torch ${version}, cuda ${cuda} (${gpu}), device ${device}, sizes ${sizes.join(', ')}, work ${work}`);
  if (device === 'cuda' && cuda !== 'True') throw new Error(`torch ${version} sees no CUDA GPU: run with --device cpu --cpu to prove the script, or on a machine with a CUDA build of PyTorch`);
  mkdirSync(work, { recursive: true });

  const folders: Record<number, string> = {};
  for (const size of sizes) {
    const t0 = performance.now();
    log(`building the ${size} px fixture (${kind(size)} + ${clipKind})...`);
    folders[size] = await importedFixture(kind(size), { clip: clipKind, dir: work });
    log(`  ${folders[size]} (${round((performance.now() - t0) / 1000, 0)} s)`);
  }
  const rows: Row[] = [];
  for (const size of sizes) {
    log(`serving ${size} px on ${device}...`);
    rows.push(await serveRow(size, folders[size]!));
    log(`  ${JSON.stringify(rows.at(-1))}`);
  }
  const extra: string[] = [];
  for (const [k, importer] of extraModels) {
    log(`building ${k} for the models bench...`);
    try {
      extra.push(await importedFixture(k, { importer: importer ?? 'stylegan', dir: work }));
    } catch (err) {
      log(`  ${k} left out: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  log('models bench in PyTorch...');
  const bench = await promisify(execFile)(py.executable, ['-m', 'latentstage.bench_torch', '--device', device, '--seconds', String(seconds), ...(o.fp16 ? ['--fp16'] : []), ...sizes.map((s) => folders[s]!), ...extra], {
    env: pythonEnv(),
    maxBuffer: 1 << 20,
    timeout: 1_800_000,
  });
  const models = bench.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  log('frame transport...');
  const transport = await benchTorchTransport({ seconds: Math.min(seconds, 3) });

  const when = new Date().toISOString().slice(0, 10);
  const title = `measured on ${device === 'cuda' ? gpu : device} (torch ${version}${flags.length ? `, ${flags.join(' ')}` : ''}), ${when}`;
  const lines = [
    `Torch runtime, ${title}; random-weight StyleGAN2 (config-f) + CLIP ${o.cpu ? 'fixture' : 'ViT-B/32'}:`,
    '',
    '| size | fps to 1 viewer | fps to 20 viewers (mean / min) | command -> frame p50 / p95 | search candidates/s while serving | generator fps batch 1 / search batch | frame fps (RGB to host) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const m = models.find((x) => x.resolution === r.size) ?? {};
      const sb = m.search_batch as number | undefined;
      return `| ${r.size} px | ${r.viewers1_fps} | ${r.viewers20_fps_mean} / ${r.viewers20_fps_min} | ${r.command_to_frame_p50_ms} / ${r.command_to_frame_p95_ms} ms | ${r.search_candidates_per_s} | ${m.generator_fps_batch1 ?? '?'} / ${sb ? m[`generator_fps_batch${sb}`] : '?'} (batch ${sb ?? '?'}) | ${m.frame_fps ?? '?'} |`;
    }),
  ];
  const artifacts = path.join(import.meta.dirname, '..', 'artifacts');
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(path.join(artifacts, 'gpu-check.json'), JSON.stringify({ title, device, flags, rows, models, transport }, null, 2) + '\n');
  console.log(lines.join('\n'));
  console.log('\nModels bench in PyTorch (generator frames/s at batch 1 and the search batch, live frame incl. RGB to host, encoders):\n');
  console.log('| model | px | batch 1 | search batch | frame (RGB) | live (>= 30 fps) | image encoder /s | text encoder /s |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const m of models) {
    if (m.error) {
      console.log(`| ${m.model} | error: ${m.error} |  |  |  |  |  |  |`);
      continue;
    }
    const sb = m.search_batch as number;
    const enc = Object.entries(m).find(([k]) => k.startsWith('image_encoder_per_s'))?.[1] ?? '';
    console.log(`| ${m.model} | ${m.resolution} | ${m.generator_fps_batch1} | ${m[`generator_fps_batch${sb}`]} (${sb}) | ${m.frame_fps} | ${m.live_at_30fps ? 'yes' : 'no'} | ${enc} | ${m.text_encoder_per_s ?? ''} |`);
  }
  console.log('\nframe transport (pipe vs shared memory):');
  console.log(JSON.stringify(transport));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`gpu-check failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
