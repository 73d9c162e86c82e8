// Steering benchmark: time from a prompt command to the similarity reaching 90% of its plateau,
// CMA-ES candidates per second, and the delivered frame rate with steering on vs off.
// Standalone: `npx tsx test/bench/steering.ts [model folder]` prints JSON.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { loadModel, type Model } from '../../server/model/load.ts';
import { readManifest, manifestFiles } from '../../server/model/manifest.ts';
import { Stage } from '../../server/stage.ts';
import { PresetStore } from '../../server/presets.ts';
import { attachPerformance } from '../../server/performance.ts';
import { ClipSearch } from '../../server/steer/search.ts';
import { parsePrompt } from '../../server/steer/prompt.ts';
import { DEFAULT_MODEL } from '../../server/server.ts';
import { round, percentile } from './util.ts';

const PROMPTS = ['robot', 'red heart', 'fire', 'smiling cat', 'ocean wave'];
const FPS = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The given model folder, else the default model when every file is exported, else a fixture that steers by search. */
async function steeringModel(dir?: string): Promise<{ model: Model; name: string }> {
  if (dir) {
    const model = await loadModel(dir);
    return { model, name: model.manifest.id };
  }
  try {
    const m = await readManifest(DEFAULT_MODEL);
    if (manifestFiles(m).every((f) => existsSync(path.join(DEFAULT_MODEL, f)))) return { model: await loadModel(DEFAULT_MODEL), name: m.id };
  } catch {
    // not exported yet
  }
  const fixture = writeFixtureModel(path.join(mkdtempSync(path.join(tmpdir(), 'ls-bench-steer-')), 'fixture'), { prior: false });
  return { model: await loadModel(fixture), name: 'fixture' };
}

/** A stage with the live server's performance attached (performance.ts), steering live. */
async function liveStage(model: Model, seed = 7) {
  const stage = new Stage({ model, presets: new PresetStore(path.join(tmpdir(), 'latentstage-no-presets')), fps: FPS, seed });
  const { steering } = await attachPerformance(stage);
  return { stage, steering };
}

/** Seconds from the prompt command until the similarity first reaches 90% of its plateau. */
async function timeTo90(model: Model, text: string, fade: number, seconds: number, seed: number): Promise<number> {
  const { stage, steering } = await liveStage(model, seed);
  stage.start();
  await sleep(500);
  const samples: [number, number][] = [];
  const t0 = performance.now();
  stage.on('frame', (f) => samples.push([(f.info.readyAt - t0) / 1000, f.info.similarity]));
  await stage.dispatch({ type: 'prompt', text, fade }, 'bench');
  await sleep(seconds * 1000);
  await stage.stop();
  steering.close();
  // centred 7-frame moving average: the walk keeps moving, so single frames are noisy
  const raw = samples.filter(([, s]) => Number.isFinite(s));
  if (raw.length === 0) throw new Error(`no frame of "${text}" was measured (${samples.length} frames): is steering plugged into the stage?`);
  const valid = raw.map(([t], i) => {
    const win = raw.slice(Math.max(0, i - 3), i + 4).map(([, s]) => s);
    return [t, win.reduce((a, b) => a + b, 0) / win.length] as [number, number];
  });
  const start = valid[0]![1];
  const tail = valid.filter(([t]) => t > seconds - 1).map(([, s]) => s);
  const plateau = tail.reduce((a, b) => a + b, 0) / tail.length;
  const goal = start + 0.9 * (plateau - start);
  const hit = valid.find(([, s]) => (plateau >= start ? s >= goal : s <= goal));
  return hit ? hit[0] : Number.NaN;
}

async function deliveredFps(model: Model, steer: boolean, seconds: number): Promise<number> {
  const { stage, steering } = await liveStage(model);
  if (steer) {
    await stage.dispatch({ type: 'prompt', text: 'robot | red heart:0.5', fade: 1 }, 'bench');
    if (steering.path !== 'search') await stage.dispatch({ type: 'set', search: 1 }, 'bench');
  }
  let frames = 0;
  stage.on('frame', () => frames++);
  stage.start();
  await sleep(500);
  const f0 = frames;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const fps = ((frames - f0) * 1000) / (performance.now() - t0);
  await stage.stop();
  steering.close();
  return fps;
}

async function candidatesPerSecond(model: Model, seconds: number): Promise<number> {
  const { stage, steering } = await liveStage(model);
  const encoder = steering.encoder!;
  const prompt = await encoder.encode('robot', parsePrompt('robot'));
  const search = new ClipSearch(model, prompt, { start: new Float64Array(stage.engine.dim), seed: 1 });
  await search.generation(); // warm-up
  const n0 = search.evaluated;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) await search.generation();
  steering.close();
  return ((search.evaluated - n0) * 1000) / (performance.now() - t0);
}

export async function benchSteering(modelDir?: string): Promise<Record<string, number | string>> {
  const { model, name } = await steeringModel(modelDir);
  const out: Record<string, number | string> = { model: name };
  try {
    // fade 1 s; median over three seeds (the walk keeps moving, so one run is noisy)
    for (const p of PROMPTS) {
      const runs: number[] = [];
      for (const seed of [7, 8, 9]) runs.push(await timeTo90(model, p, 1, 4, seed));
      out[`time_to_90pct_s_${p.replace(/\s+/g, '_')}`] = round(percentile(runs, 50), 3);
    }
    out.cmaes_candidates_per_s = round(await candidatesPerSecond(model, 3), 1);
    const off = await deliveredFps(model, false, 4);
    const on = await deliveredFps(model, true, 4);
    out.fps_steering_off = round(off, 1);
    out.fps_steering_on = round(on, 1);
    out.fps_ratio_on_vs_off = round(on / off, 3);
  } finally {
    await model.runtime.close();
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchSteering(process.argv[2]).then(
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
