// The one composition of the features that decide how a walk plays: steering, schedules and
// tempo, modulation, presets. The live server, the offline render (record/render.ts), the tests'
// hand-driven stage and the model recipe's live-walk evaluation all attach exactly this list, so a
// walk renders and is judged as it plays. Live-only features (recorder, streamer, MIDI mapping,
// OSC, the runtime watch) are added after it in server.ts.
import type { Stage } from './stage.ts';
import { Presets } from './presets.ts';
import { Steering, type SteeringOptions } from './steer/steering.ts';
import { Scheduler } from './steer/schedule.ts';
import { Modulation } from './mod/feature.ts';

export interface PerformanceOptions {
  /** Warnings (unknown words, schedule steps that fail) and failures (the search). */
  log?: { warn(msg: string): void; error?(msg: string): void };
  /**
   * Steering's options. `live: false` (offline and in tests): the search does not run by itself;
   * call settle() after each frame.
   */
  steering?: SteeringOptions;
}

export interface Performance {
  steering: Steering;
  scheduler: Scheduler;
  modulation: Modulation;
  presets: Presets;
  /**
   * For stages driven frame by frame: wait for the commands the last frame cued (schedule steps,
   * search targets) to apply, then run one search generation when `search` and one is active.
   */
  settle(search?: boolean): Promise<void>;
}

/** Plug the performance's features into a stage, in the order they apply from a preset. */
export async function attachPerformance(stage: Stage, opts: PerformanceOptions = {}): Promise<Performance> {
  const log = opts.log;
  const steering = stage.use(await Steering.attach(stage, { log, ...opts.steering }));
  const scheduler = stage.use(new Scheduler(stage, log));
  const modulation = stage.use(new Modulation(stage));
  const presets = stage.use(new Presets(stage.presets, stage));
  return {
    steering,
    scheduler,
    modulation,
    presets,
    async settle(search = true) {
      await stage.idle();
      if (search) await steering.searchStep();
    },
  };
}
