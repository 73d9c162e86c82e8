// Modulation as a stage feature. The routes and their arithmetic live in the engine (so recorded
// and rendered walks move exactly as the live one did); this feature shows them in the state
// (routes, the live value of each modulated parameter, the inputs and which are stale), keeps that state moving
// for control pages while routes run, and saves/loads the routes with presets.
import type { Command } from '../commands.ts';
import type { Feature, FeatureHost, FrameClock } from '../feature.ts';
import type { FeatureState, ModulationStatus } from '../state.ts';
import type { Preset } from '../preset-schema.ts';
import { liveParams } from '../engine/engine.ts';
import { inputValue, staleInputs } from '../engine/modulation.ts';
import type { ModRoute } from './schema.ts';
import type { NumericParamName } from '../params.ts';

/** State updates per second of engine time while routes run (the sliders' moving values). */
const PUBLISH_HZ = 15;

export class Modulation implements Feature {
  readonly name = 'modulation';
  /** Input values stream in (up to 60 a second per page); the state follows at PUBLISH_HZ. */
  readonly quiet = ['mod.input'] as const;
  private lastPublish = -Infinity;

  constructor(private readonly stage: FeatureHost) {}

  status(): Pick<FeatureState, 'modulation'> {
    const e = this.stage.engine;
    const params = liveParams(e);
    const live: ModulationStatus['live'] = {};
    for (const r of e.mod.routes) live[r.target] = Math.round(params[r.target] * 1e4) / 1e4;
    const inputs: Record<string, number> = {};
    for (const k of Object.keys(e.mod.inputs)) inputs[k] = Math.round(inputValue(e.mod, k, e.time) * 1e4) / 1e4;
    return { modulation: { routes: e.mod.routes, live, inputs, stale: staleInputs(e.mod, e.time) } };
  }

  frame(clock: FrameClock): void {
    if (!this.stage.engine.mod.routes.length) return;
    if (clock.time - this.lastPublish < 1 / PUBLISH_HZ && clock.time >= this.lastPublish) return;
    this.lastPublish = clock.time;
    this.stage.publish();
  }

  save(preset: Preset): void {
    const routes = this.stage.engine.mod.routes;
    if (routes.length) preset.modulation = routes.map((r) => ({ ...r }));
  }

  /** A preset's routes replace the running ones; a preset without routes clears them. */
  load(preset: Preset): Command[] {
    const out: Command[] = [];
    if (preset.modulation || this.stage.engine.mod.routes.length) out.push({ type: 'mod.clear' });
    for (const r of preset.modulation ?? []) out.push({ type: 'mod.set', ...r });
    return out;
  }
}
