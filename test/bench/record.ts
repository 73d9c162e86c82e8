// Recording benchmark: offline render speed (native and 512x512), the projected time for a 60 s
// 60 fps walk at 512, and live frame rate with recording on vs off.
// Standalone: `npx tsx test/bench/record.ts` prints JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { readManifest } from '../../server/model/manifest.ts';
import { createEngine, step } from '../../server/engine/engine.ts';
import { loadModel } from '../../server/model/load.ts';
import { startServer } from '../../server/server.ts';
import { WalkWriter, WALK_FORMAT } from '../../server/record/walk-file.ts';
import { renderWalk } from '../../server/record/render.ts';
import { generatorSha256 } from '../../server/model/hash.ts';

const REAL_MODEL = path.resolve(import.meta.dirname, '../../models/emoji-64');

async function pickModel(tmp: string): Promise<{ dir: string; name: string }> {
  try {
    await readManifest(REAL_MODEL);
    return { dir: REAL_MODEL, name: 'emoji-64' };
  } catch {
    return { dir: writeFixtureModel(path.join(tmp, 'model')), name: 'fixture' };
  }
}

/** A synthetic walk: `seconds` of drift at `fps`, written like the live recorder writes it. */
async function writeWalk(file: string, modelDir: string, seconds: number, fps: number): Promise<void> {
  const model = await loadModel(modelDir);
  const m = model.manifest;
  let state = createEngine({ dim: m.generator.z.dim, conditionDim: m.generator.condition?.dim, seed: 5 });
  const w = await WalkWriter.create(file, {
    type: 'walk',
    format: WALK_FORMAT,
    model: { id: m.id, sha256: await generatorSha256(model), zDim: m.generator.z.dim, conditionDim: m.generator.condition?.dim ?? 0 },
    resolution: { ...m.resolution },
    fps,
    seed: 5,
    params: { ...state.params },
    startedAt: new Date().toISOString(),
    startedAtMs: Date.now(),
  });
  for (let k = 0; k < seconds * fps; k++) {
    const r = step(state, 1 / fps, 1);
    state = r.state;
    w.append({ index: state.frame, time: state.time, dt: 1 / fps, frames: 1, wall: (k * 1000) / fps, z: r.z, condition: r.condition });
  }
  await w.close((seconds * 1000) / fps);
  await model.runtime.close();
}

async function liveFps(modelDir: string, tmp: string, fps: number, record: boolean, seconds = 4): Promise<number> {
  const server = await startServer({ model: modelDir, port: 0, fps, presets: path.join(tmp, 'presets'), recordings: path.join(tmp, 'rec'), logger: pino({ level: 'silent' }) });
  try {
    if (record) await server.stage.dispatch({ type: 'record.start' }, 'bench');
    await new Promise((r) => setTimeout(r, 1000)); // warm up
    const f0 = server.stage.metrics.frames;
    const start = (await f0.get()).values[0]?.value ?? 0;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const n = ((await f0.get()).values[0]?.value ?? 0) - start;
    const rate = n / ((performance.now() - t0) / 1000);
    if (record) await server.stage.dispatch({ type: 'record.stop' }, 'bench');
    return rate;
  } finally {
    await server.close();
  }
}

export async function benchRecord(): Promise<Record<string, number>> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-bench-rec-'));
  try {
    const model = await pickModel(tmp);
    const walk = path.join(tmp, 'bench.walk.jsonl');
    await writeWalk(walk, model.dir, 10, 60);
    const render = async (size: number | null) => {
      const r = await renderWalk({ walk, out: path.join(tmp, `out-${size ?? 'native'}.mp4`), model: model.dir, modelsDir: tmp, size });
      return r.frames / r.seconds;
    };
    const native = await render(null);
    const at512 = await render(512);
    // Alternate off/on so load from other processes hits both alike; report medians.
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    const off: number[] = [];
    const on: number[] = [];
    for (let k = 0; k < 3; k++) {
      off.push(await liveFps(model.dir, tmp, 0, false, 2));
      on.push(await liveFps(model.dir, tmp, 0, true, 2));
    }
    const uncappedOff = median(off);
    const uncappedOn = median(on);
    const at60Off = await liveFps(model.dir, tmp, 60, false);
    const at60On = await liveFps(model.dir, tmp, 60, true);
    const round = (n: number) => Math.round(n * 10) / 10;
    return {
      [`record_render_native_fps_${model.name}`]: round(native),
      [`record_render_512_fps_${model.name}`]: round(at512),
      record_render_512_60s_at_60fps_projected_s: round(3600 / at512),
      record_live_uncapped_fps_off: round(uncappedOff),
      record_live_uncapped_fps_on: round(uncappedOn),
      record_live_uncapped_on_off_ratio: Math.round((uncappedOn / uncappedOff) * 1000) / 1000,
      record_live_60_fps_off: round(at60Off),
      record_live_60_fps_on: round(at60On),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('record.ts')) {
  benchRecord().then((r) => console.log(JSON.stringify(r, null, 2)));
}
