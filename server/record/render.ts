// Offline rendering: a walk file (its stored latents) or a preset (played at a fixed dt) to an
// H.264 MP4 and optionally PNGs, at any size and frame rate. Deterministic: the same input renders
// the same frames. Latents go through the generator in batches.
//
// A preset renders the way it plays: a stage with the live server's performance (performance.ts:
// steering, schedules, modulation, presets) loads it through the command queue and is clocked by
// frame index instead of the wall.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadModel, type Model } from '../model/load.ts';
import { toRgb } from '../frames/rgb.ts';
import { Stage } from '../stage.ts';
import { PresetStore } from '../presets.ts';
import { attachPerformance } from '../performance.ts';
import { CommandError } from '../commands.ts';
import { Encoder, outputSize } from './ffmpeg.ts';
import { readWalk, type Walk } from './walk-file.ts';
import { generatorSha256, refinerSha256 } from '../model/hash.ts';

/** One distinct latent and how many consecutive output frames show it. */
export interface Shot {
  z: Float32Array;
  condition: Float32Array | null;
  repeat: number;
}

export interface RenderOptions {
  out: string;
  fps: number;
  /** Output width (height follows the aspect ratio; both made even); null = native. */
  size?: number | null;
  /** Also write every output frame as DIR/frame-000000.png. */
  framesDir?: string;
  /** Latents per generator call. */
  batch?: number;
  /** x264 preset (default veryfast) and CRF (default 18). */
  x264Preset?: string;
  crf?: number;
  onProgress?(done: number, total: number): void;
}

export interface RenderResult {
  out: string;
  frames: number;
  /** Distinct latents generated. */
  generated: number;
  width: number;
  height: number;
  fps: number;
  seconds: number;
}

export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderError';
  }
}

/** Render shots (`total` output frames in all) through a model into opts.out. */
export async function renderShots(model: Model, shots: Iterable<Shot> | AsyncIterable<Shot>, total: number, opts: RenderOptions): Promise<RenderResult> {
  const t0 = performance.now();
  const m = model.manifest;
  const { width, height } = m.resolution;
  const out = outputSize(width, height, opts.size);
  const batch = Math.max(1, opts.batch ?? 16);
  const zDim = m.generator.z.dim;
  const cDim = m.generator.condition?.dim ?? 0;
  await mkdir(path.dirname(path.resolve(opts.out)), { recursive: true });
  if (opts.framesDir) await mkdir(opts.framesDir, { recursive: true });
  // Frames go to ffmpeg at native size; it scales them (lanczos) once per output frame and writes
  // the PNGs from the same scaled pixels as the video.
  const enc = new Encoder({ output: opts.out, container: 'mp4', width, height, fps: opts.fps, outWidth: out.width, outHeight: out.height, preset: opts.x264Preset ?? 'veryfast', crf: opts.crf ?? 18, pngDir: opts.framesDir });
  let done = 0;
  let generated = 0;

  const emit = async (pending: Shot[]) => {
    const zs = new Float32Array(pending.length * zDim);
    const cs = cDim ? new Float32Array(pending.length * cDim) : null;
    pending.forEach((s, k) => {
      zs.set(s.z, k * zDim);
      if (cs && s.condition) cs.set(s.condition, k * cDim);
    });
    const images = await model.runtime.generate(zs, pending.length, cs);
    generated += pending.length;
    const plane = 3 * width * height;
    for (let k = 0; k < pending.length; k++) {
      const rgb = toRgb(images, width, height, m.generator.output.range, k * plane);
      for (let r = 0; r < pending[k].repeat; r++) {
        if (!enc.write(rgb)) throw enc.error ?? new RenderError('ffmpeg stopped early');
        done++;
      }
      await enc.drain();
    }
    opts.onProgress?.(done, total);
  };

  try {
    let pending: Shot[] = [];
    for await (const shot of shots) {
      pending.push(shot);
      if (pending.length === batch) {
        await emit(pending);
        pending = [];
      }
    }
    if (pending.length) await emit(pending);
    await enc.end(60000);
  } catch (err) {
    enc.kill();
    throw err instanceof RenderError ? err : new RenderError(`render failed: ${(err as Error).message}`);
  }
  return { out: opts.out, frames: done, generated, width: out.width, height: out.height, fps: opts.fps, seconds: (performance.now() - t0) / 1000 };
}

/**
 * A walk's output frames at `fps`: frame k shows the last recorded latent at or before
 * from + k / fps (seconds since the walk's first frame), so skipped live frames are held as they
 * were shown. Consecutive repeats are merged into one shot.
 */
export function walkShots(walk: Walk, fps: number, from = 0, to?: number): { shots: Shot[]; total: number } {
  const f = walk.frames;
  if (!f.length) throw new RenderError('the walk has no frames');
  const start = f[0].time;
  // The last frame shows for one recorded frame slot.
  const hold = walk.header.fps > 0 ? 1 / walk.header.fps : f[f.length - 1].dt || 1 / fps;
  const length = f[f.length - 1].time - start + hold;
  const end = Math.min(to ?? length, length);
  if (!(from >= 0) || from >= end) throw new RenderError(`nothing to render between ${from} s and ${end.toFixed(3)} s (the walk is ${length.toFixed(3)} s long)`);
  const total = Math.max(1, Math.round((end - from) * fps));
  const shots: Shot[] = [];
  let j = 0;
  let last = -1;
  for (let k = 0; k < total; k++) {
    const t = start + from + k / fps + 1e-9;
    while (j + 1 < f.length && f[j + 1].time <= t) j++;
    if (j === last) shots[shots.length - 1].repeat++;
    else shots.push({ z: f[j].z, condition: f[j].condition, repeat: 1 });
    last = j;
  }
  return { shots, total };
}

export interface WalkRenderOptions extends Omit<RenderOptions, 'fps'> {
  walk: string;
  /** Model folder; default models/<the walk's model id> under modelsDir. */
  model?: string;
  modelsDir: string;
  fps?: number;
  from?: number;
  to?: number;
  /** Render even when the model's files differ from the recording's. */
  force?: boolean;
  warn?(message: string): void;
}

export async function renderWalk(o: WalkRenderOptions): Promise<RenderResult> {
  const walk = await readWalk(o.walk);
  if (walk.torn) o.warn?.(`${o.walk}: ${walk.torn}`);
  const h = walk.header;
  const dir = o.model ?? path.join(o.modelsDir, h.model.id);
  let model: Model;
  try {
    model = await loadModel(dir, { warn: o.warn });
  } catch (err) {
    if (o.model) throw err;
    throw new RenderError(`the walk was recorded with model ${h.model.id}, which is not installed (${(err as Error).message}); pass --model DIR`);
  }
  try {
    const m = model.manifest;
    if (m.generator.z.dim !== h.model.zDim || (m.generator.condition?.dim ?? 0) !== h.model.conditionDim) {
      throw new RenderError(
        `model ${m.id} at ${dir} takes z of ${m.generator.z.dim} (condition ${m.generator.condition?.dim ?? 0}), but the walk was recorded with ${h.model.zDim} (condition ${h.model.conditionDim})`,
      );
    }
    const sha = await generatorSha256(model);
    if (!o.force && (m.id !== h.model.id || sha !== h.model.sha256)) {
      throw new RenderError(
        `the walk was recorded with model ${h.model.id} (generator sha256 ${h.model.sha256.slice(0, 12)}), but ${dir} holds ${m.id} (${sha.slice(0, 12)}); pass --force to render anyway`,
      );
    }
    // a walk re-renders frame-identically only through the refiner it was recorded with
    const refiner = await refinerSha256(model);
    if (!o.force && h.model.refinerSha256 !== undefined && h.model.refinerSha256 !== refiner) {
      throw new RenderError(
        `the walk was recorded through refiner sha256 ${h.model.refinerSha256.slice(0, 12)}, but ${dir} holds ${refiner ? refiner.slice(0, 12) : 'no refiner'}; pass --force to render anyway`,
      );
    }
    const fps = o.fps ?? (h.fps > 0 ? h.fps : 60);
    const { shots, total } = walkShots(walk, fps, o.from, o.to);
    return await renderShots(model, shots, total, { ...o, fps });
  } finally {
    await model.runtime.close();
  }
}

export interface PresetRenderOptions extends Omit<RenderOptions, 'fps'> {
  preset: string;
  presetsDir: string;
  model: string;
  duration: number;
  fps: number;
  seed?: number;
  warn?(message: string): void;
}

/**
 * A stage that plays presets offline: the live server's performance (attachPerformance), driven
 * by `frame()` at a fixed dt (the CLIP-guided search runs one generation per frame while active).
 */
export async function offlineStage(model: Model, o: { presetsDir: string; fps: number; seed?: number; warn?(message: string): void }) {
  const store = new PresetStore(o.presetsDir);
  const stage = new Stage({ model, presets: store, seed: o.seed ?? 1, fps: o.fps });
  const log = { warn: (m: string) => o.warn?.(m), error: (m: string) => o.warn?.(m) };
  const performance = await attachPerformance(stage, { log, steering: { live: false } });
  const dt = 1 / o.fps;
  return {
    stage,
    steering: performance.steering,
    /** Step one frame; resolves to its latent once the commands it cued have applied. */
    async frame() {
      const r = stage.advance(dt, 1);
      await performance.settle();
      return r;
    },
    close: () => stage.closeFeatures(),
  };
}

/** Render a preset's walk without performing it, exactly as the live stage would play it. */
export async function renderPreset(o: PresetRenderOptions): Promise<RenderResult> {
  await new PresetStore(o.presetsDir).load(o.preset); // a missing or bad preset fails before the model loads
  const model = await loadModel(o.model, { warn: o.warn });
  try {
    const play = await offlineStage(model, o);
    try {
      await play.stage.dispatch({ type: 'preset.load', name: o.preset }, 'render');
    } catch (err) {
      throw err instanceof CommandError ? new RenderError(err.message) : err;
    }
    const total = Math.max(1, Math.round(o.duration * o.fps));
    async function* shots(): AsyncGenerator<Shot> {
      for (let k = 0; k < total; k++) {
        const r = await play.frame();
        yield { z: r.z, condition: r.condition, repeat: 1 };
      }
    }
    try {
      return await renderShots(model, shots(), total, o);
    } finally {
      await play.close();
    }
  } finally {
    await model.runtime.close();
  }
}
