// Live-walk frames for the evaluation: drives the real server path (prompt language, lexicon,
// text encoder, prior, steering, engine walk, ONNX generator: the live server's performance,
// server/performance.ts) on a hand-driven stage and dumps the frames for evaluate-live.py to judge.
//
//   node --import tsx models/recipe/live-frames.ts PROMPTS.json OUT.u8 [--model models/emoji-64]
//     [--fade 1.5] [--dwell 3] [--fps 5] [--samples 2] [--search 0|1] [--seed 1] [--truncation t] [--at s,s,...]
//     [--steer auto|prior|bank|search]
//
// PROMPTS.json: ["fire", "a roaring blaze", ...]. One stage walks through the prompts in order,
// like a performer: each prompt fades in over --fade s, the walk goes on for --dwell s, and
// --samples frames are taken evenly over the last half of the dwell (or, with --at, at those seconds
// after the prompt was sent: --at 2,11.5 for whether the walk holds the object). OUT.u8: N x samples x H x W x 3
// uint8 (RGB); OUT.u8.json: size, per-prompt understanding and warnings, mean similarity.
// --steer picks the steering path as `serve --steer` does (bank: the model's latent bank, its prior
// switched off; search: the CMA-ES search alone, with --search 1).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { loadModel } from '../../server/model/load.ts';
import { Stage } from '../../server/stage.ts';
import { PresetStore } from '../../server/presets.ts';
import { attachPerformance } from '../../server/performance.ts';
import type { Frame } from '../../server/frames/frame.ts';
import { steerChoices, type SteerChoice } from '../../server/steer/steering.ts';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

const [promptsFile, outFile] = process.argv.slice(2);
if (!promptsFile || !outFile) {
  console.error('usage: live-frames.ts PROMPTS.json OUT.u8 [--model dir] [--fade s] [--dwell s] [--fps n] [--samples n] [--search 0|1] [--seed n]');
  process.exit(2);
}
const modelDir = flag('model', path.join(import.meta.dirname, '..', 'emoji-64'));
const fade = Number(flag('fade', '1.5'));
const dwell = Number(flag('dwell', '3'));
const fps = Number(flag('fps', '5'));
const samples = Number(flag('samples', '2'));
const search = flag('search', '0') === '1';
const seed = Number(flag('seed', '1'));
const truncation = flag('truncation', '');
const at = flag('at', '');
const steer = flag('steer', 'auto');
if (!(steerChoices as readonly string[]).includes(steer)) {
  console.error(`--steer must be one of ${steerChoices.join(', ')}`);
  process.exit(2);
}

const prompts = JSON.parse(readFileSync(promptsFile, 'utf8')) as string[];
const model = await loadModel(modelDir);
const stage = new Stage({ model, presets: new PresetStore(path.join(tmpdir(), 'latentstage-no-presets')), seed, fps: 30 });
const performance = await attachPerformance(stage, { steering: { live: false, steer: steer as SteerChoice, log: { warn: () => {}, error: (m) => console.error(m) } } });
const d = {
  stage,
  steering: performance.steering,
  /** Produce `n` frames at `fps`; with `search`, one search generation after each. */
  async run(n: number, o: { search: boolean; fps: number }): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (let i = 0; i < n; i++) {
      frames.push(await stage.produce(1 / o.fps));
      await performance.settle(o.search);
    }
    return frames;
  },
};
if (steer !== 'auto' && d.steering.path !== steer) {
  console.error(`--steer ${steer}: model has no such path (steering by ${d.steering.path})`);
  process.exit(1);
}
await d.stage.dispatch({ type: 'set', search: search ? 1 : 0, ...(truncation ? { truncation: Number(truncation) } : {}) }, 'eval');
const frameCount = Math.round(dwell * fps);
const takeAt = at
  ? new Set(at.split(',').map((t) => Math.min(frameCount - 1, Math.round(Number(t) * fps))))
  : new Set(Array.from({ length: samples }, (_, i) => frameCount - 1 - Math.floor((i * frameCount) / (2 * samples))));
if (at && takeAt.size !== samples) throw new Error(`--at gives ${takeAt.size} distinct frames; --samples must match`);
const chunks: Buffer[] = [];
const meta: { prompt: string; understood: unknown; warnings: unknown; similarity: number }[] = [];
let size: [number, number] = [0, 0];
const t0 = Date.now();
for (const [i, text] of prompts.entries()) {
  await d.stage.dispatch({ type: 'prompt', text, fade }, 'eval');
  const frames = await d.run(frameCount, { search, fps });
  const taken = frames.filter((_, k) => takeAt.has(k));
  for (const f of taken) chunks.push(f.rgb);
  size = [taken[0]!.height, taken[0]!.width];
  const st = d.stage.state();
  meta.push({ prompt: text, understood: st.understood ?? [], warnings: st.warnings ?? [], similarity: taken.reduce((a, f) => a + f.info.similarity, 0) / taken.length });
  if (i % 100 === 99) console.error(`${i + 1}/${prompts.length} prompts, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
d.steering.close();
writeFileSync(outFile, Buffer.concat(chunks));
const params = d.stage.state().params as { truncation: number };
writeFileSync(`${outFile}.json`, JSON.stringify({ prompts: prompts.length, samples, height: size[0], width: size[1], search, steer: d.steering.path, fade, dwell, fps, seed, truncation: params.truncation, meta }));
await model.runtime.close();
console.error(`${prompts.length} prompts x ${samples} frames in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
