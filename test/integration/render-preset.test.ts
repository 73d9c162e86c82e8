// `render --preset` plays the preset the way the live stage does: the same steering and schedule
// code, clocked by frame index. Rendered frames are measured against prompts with the model's own
// image encoder and compared with frames of a live (hand-driven) stage.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { drivenStage, mean, type DrivenStage } from '../helpers/steer.ts';
import { renderPreset } from '../../server/record/render.ts';
import { loadModel, type Model } from '../../server/model/load.ts';
import { DEFAULT_MODEL } from '../../server/server.ts';

const FPS = 30;

/** A PNG as generator output (NCHW floats in the generator's range). */
async function pngAsOutput(file: string, model: Model): Promise<Float32Array> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const [lo, hi] = model.manifest.generator.output.range;
  const plane = info.width * info.height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = lo + (data[i * 3 + c]! / 255) * (hi - lo);
  return out;
}

describe('render --preset plays like the live stage', () => {
  let model: Model;
  let tmp: string;
  let presetsDir: string;
  let judge: DrivenStage;

  before(async () => {
    model = await loadModel(DEFAULT_MODEL);
    tmp = mkdtempSync(path.join(tmpdir(), 'ls-render-preset-'));
    presetsDir = path.join(tmp, 'presets');
    mkdirSync(presetsDir);
    judge = await drivenStage(model);
  });
  after(async () => {
    judge.steering.close();
    await model.runtime.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Similarity of rendered PNG frames [from, to) to a prompt, as the live stage measures it. */
  async function similarityTo(prompt: string, dir: string, from: number, to: number): Promise<number> {
    await judge.stage.dispatch({ type: 'prompt', text: prompt, fade: 0 }, 'test');
    const files = readdirSync(dir).filter((f) => f.endsWith('.png')).sort().slice(from, to);
    assert.equal(files.length, to - from);
    const scores: number[] = [];
    for (const f of files) scores.push(await judge.steering.judge(await pngAsOutput(path.join(dir, f), model)));
    return mean(scores);
  }

  async function render(name: string, preset: object, seconds: number): Promise<string> {
    writeFileSync(path.join(presetsDir, `${name}.json`), JSON.stringify(preset));
    const framesDir = path.join(tmp, `${name}-frames`);
    const r = await renderPreset({ preset: name, presetsDir, model: DEFAULT_MODEL, duration: seconds, fps: FPS, out: path.join(tmp, `${name}.mp4`), framesDir });
    assert.equal(r.frames, Math.round(seconds * FPS));
    return framesDir;
  }

  test('a preset with a prompt renders frames that match the prompt as well as live frames do', async () => {
    const preset = { seed: 4, prompt: { text: 'robot', fade: 0.5 } };
    const frames = await render('robot', preset, 2);
    const rendered = await similarityTo('robot', frames, 50, 60);

    const live = await drivenStage(model, { presets: presetsDir });
    await live.stage.dispatch({ type: 'preset.load', name: 'robot' }, 'test');
    const liveFrames = await live.run(60, { search: false });
    const liveScore = mean(liveFrames.slice(50, 60).map((f) => f.info.similarity));
    live.steering.close();

    const unsteered = await render('plain', { seed: 4 }, 2);
    const plain = await similarityTo('robot', unsteered, 50, 60);
    assert.ok(liveScore - plain > 0.05, `the prompt steers the live walk (live ${liveScore}, unsteered ${plain})`);
    assert.ok(Math.abs(rendered - liveScore) < 0.02, `rendered ${rendered} vs live ${liveScore} (unsteered ${plain})`);
  });

  test('a preset with a schedule changes prompt on cue', async () => {
    const schedule = { unit: 'seconds', steps: [{ at: 0, prompt: 'fire', fade: 0.2 }, { at: 1, prompt: 'ocean', fade: 0.2 }] };
    const frames = await render('cue', { seed: 4, schedule }, 2);
    const early = { fire: await similarityTo('fire', frames, 15, 30), ocean: await similarityTo('ocean', frames, 15, 30) };
    const late = { fire: await similarityTo('fire', frames, 45, 60), ocean: await similarityTo('ocean', frames, 45, 60) };
    assert.ok(early.fire > early.ocean, `before the cue the walk follows "fire": ${JSON.stringify(early)}`);
    assert.ok(late.ocean > late.fire, `after the cue at 1 s it follows "ocean": ${JSON.stringify(late)}`);
    assert.ok(late.fire < early.fire && late.ocean > early.ocean, `${JSON.stringify({ early, late })}`);
  });
});
