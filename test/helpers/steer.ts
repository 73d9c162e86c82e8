// A stage driven by hand (stage.produce(dt) in a loop, no timers) with the live server's
// performance attached (performance.ts), for deterministic steering tests and the steering benchmark.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeFixtureModel, type FixtureModelOptions } from '../fixtures/onnx.ts';
import { loadModel, type Model } from '../../server/model/load.ts';
import { Stage } from '../../server/stage.ts';
import { PresetStore } from '../../server/presets.ts';
import { attachPerformance } from '../../server/performance.ts';
import type { Steering, SteeringOptions } from '../../server/steer/steering.ts';
import type { Scheduler } from '../../server/steer/schedule.ts';
import type { Frame } from '../../server/frames/frame.ts';

export interface DrivenStage {
  stage: Stage;
  steering: Steering;
  scheduler: Scheduler;
  /** Produce `n` frames at `fps`, running one search generation after each when `search`. */
  run(n: number, opts?: { search?: boolean; fps?: number }): Promise<Frame[]>;
}

export async function fixtureModel(opts: FixtureModelOptions = {}): Promise<{ model: Model; dispose(): Promise<void> }> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-steer-'));
  const model = await loadModel(writeFixtureModel(path.join(tmp, 'model'), opts));
  return {
    model,
    async dispose() {
      await model.runtime.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** `fps` is the stage's own rate, for tests that start its loop (0 = uncapped); run() takes its own. */
export async function drivenStage(model: Model, opts: { seed?: number; presets?: string; steering?: SteeringOptions; fps?: number } = {}): Promise<DrivenStage> {
  const stage = new Stage({ model, presets: new PresetStore(opts.presets ?? path.join(tmpdir(), 'latentstage-no-presets')), seed: opts.seed ?? 1, fps: opts.fps ?? 30 });
  const performance = await attachPerformance(stage, { steering: { live: false, ...opts.steering } });
  return {
    stage,
    steering: performance.steering,
    scheduler: performance.scheduler,
    async run(n, { search = true, fps = 30 } = {}) {
      const frames: Frame[] = [];
      for (let i = 0; i < n; i++) {
        frames.push(await stage.produce(1 / fps));
        await performance.settle(search);
      }
      return frames;
    },
  };
}

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
