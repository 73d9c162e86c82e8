// The engine core: state + command + time -> next latent and condition. Pure and deterministic:
// no I/O, no clock reads, no Math.random. The frame loop, the recorder and the offline renderer
// all drive it the same way, so a recorded walk re-renders frame-identically.
import { defaultParams, type Params, type ParamsPatch, type Ease } from '../params.ts';
import { drift, loop, keyframes, keyLatent, ease, seedLatent, type Key } from './walks.ts';
import { slerp, lerp, type Vec } from './vec.ts';
import { emptyMod, evaluate, modulated, setRoute, clearRoutes, setInputs, type ModState } from './modulation.ts';
import { normaliseRoute, MAX_ROUTES, type RouteInput } from '../mod/schema.ts';

/** A Gaussian region of latent space that the walk moves around (the text prior's output). */
export interface Region {
  mean: Vec;
  scale: Vec;
}

/** A value gliding from `from` to `to` over `duration` seconds. */
export interface Glide<T> {
  from: T;
  to: T;
  elapsed: number;
  duration: number;
}

export interface PromptState {
  text: string;
  fade: number;
  strength: number;
  /** Engine time (s) when the prompt was set. */
  at: number;
}

export interface EngineState {
  readonly dim: number;
  readonly conditionDim: number;
  seed: number;
  params: Params;
  /** Index of the last frame produced (-1 before the first). */
  frame: number;
  /** Engine time in seconds (sum of dt). */
  time: number;
  /** Drift phase in keypoints. */
  phase: number;
  /** Loop position in laps, kept in [0, 1). */
  lap: number;
  /** Seconds into the keyframe cycle. */
  keyTime: number;
  keys: Key[];
  prompt: PromptState;
  region: Glide<Region>;
  condition: Glide<Vec> | null;
  /** The walker's last point, and a glide from it when the seed or mode changes. */
  walker: Vec;
  switchFrom: Glide<Vec> | null;
  /** Tempo, and beats since time 0 at that tempo (a `beat` tap snaps to the nearest whole beat). */
  bpm: number;
  beats: number;
  /** Modulation routes, external input values and their last outputs. */
  mod: ModState;
}

/**
 * The commands the engine applies, and nothing else: its own union, so it depends on the
 * parameter table but not on the vocabulary (commands.ts checks that its schemas produce these).
 * Surfaces send `Command`s; features handle the rest (presets, recording, ...), and steering
 * resolves prompts into `target` (a latent region and/or a condition vector).
 */
export type TargetCommand = {
  type: 'target';
  region?: { mean: ArrayLike<number>; scale: ArrayLike<number> };
  condition?: ArrayLike<number>;
  fade: number;
};
export type EngineCommand =
  | ({ type: 'set' } & ParamsPatch)
  | { type: 'seed'; seed: number }
  | { type: 'keyframes'; keys: (number | number[])[]; hold?: number; transition?: number; ease?: Ease }
  | { type: 'prompt'; text: string; fade?: number; strength?: number }
  | TargetCommand
  | { type: 'tempo'; bpm: number }
  | { type: 'beat' }
  | ({ type: 'mod.set' } & RouteInput)
  | { type: 'mod.clear'; id?: string }
  | { type: 'mod.input'; values: Record<string, number>; hold?: number };
export type EngineCommandType = EngineCommand['type'];

/** Every type in the union, once (the Record's type makes the list exactly the union's). */
const applies: Record<EngineCommandType, true> = { set: true, seed: true, keyframes: true, prompt: true, target: true, tempo: true, beat: true, 'mod.set': true, 'mod.clear': true, 'mod.input': true };
export const engineCommandTypes = Object.keys(applies) as EngineCommandType[];

/** True when the engine applies commands of this one's type. */
export function isEngineCommand<C extends { type: string }>(cmd: C): cmd is Extract<C, { type: EngineCommandType }> {
  return Object.hasOwn(applies, cmd.type);
}

export interface EngineOptions {
  dim: number;
  conditionDim?: number;
  seed?: number;
  params?: Partial<Params>;
}

export interface StepResult {
  state: EngineState;
  z: Float32Array;
  condition: Float32Array | null;
}

function neutralRegion(dim: number): Region {
  return { mean: new Float64Array(dim), scale: new Float64Array(dim).fill(1) };
}

function still<T>(v: T): Glide<T> {
  return { from: v, to: v, elapsed: 0, duration: 0 };
}

function glideT<T>(g: Glide<T>): number {
  return g.duration <= 0 ? 1 : ease('smooth', g.elapsed / g.duration);
}

function advance<T>(g: Glide<T>, dt: number): Glide<T> {
  return g.elapsed >= g.duration ? g : { ...g, elapsed: Math.min(g.duration, g.elapsed + dt) };
}

function regionAt(g: Glide<Region>): Region {
  const t = glideT(g);
  if (t >= 1) return g.to;
  return { mean: lerp(g.from.mean, g.to.mean, t), scale: lerp(g.from.scale, g.to.scale, t) };
}

function conditionAt(g: Glide<Vec>): Vec {
  return slerp(g.from, g.to, glideT(g));
}

export function createEngine(opts: EngineOptions): EngineState {
  if (!Number.isInteger(opts.dim) || opts.dim < 1) throw new RangeError('dim must be a positive integer');
  const conditionDim = opts.conditionDim ?? 0;
  const params = { ...defaultParams(), ...opts.params };
  const seed = (opts.seed ?? 1) >>> 0;
  const state: EngineState = {
    dim: opts.dim,
    conditionDim,
    seed,
    params,
    frame: -1,
    time: 0,
    phase: 0,
    lap: 0,
    keyTime: 0,
    keys: [seed, seed + 1, seed + 2, seed + 3],
    prompt: { text: '', fade: params.fade, strength: params.strength, at: 0 },
    region: still(neutralRegion(opts.dim)),
    condition: conditionDim > 0 ? still(new Float64Array(conditionDim)) : null,
    walker: new Float64Array(opts.dim),
    switchFrom: null,
    bpm: 120,
    beats: 0,
    mod: emptyMod(),
  };
  state.walker = walkerPoint(state);
  return state;
}

function walkerPoint(s: EngineState): Vec {
  const p = s.params;
  if (p.mode === 'loop') return loop(s.seed, s.dim, s.lap);
  if (p.mode === 'keyframes') {
    return keyframes(s.keys.map((k) => keyLatent(k, s.dim)), s.keyTime, p.hold, p.transition, p.ease);
  }
  return drift(s.seed, s.dim, s.phase);
}

/** Start a glide from the walker's current point, so seed and mode changes never jump. */
function withSwitch(s: EngineState, next: EngineState): EngineState {
  const fade = s.params.fade;
  if (fade <= 0 || s.frame < 0) return { ...next, switchFrom: null, walker: walkerPoint(next) };
  return { ...next, switchFrom: { from: currentWalker(s), to: s.walker, elapsed: 0, duration: fade } };
}

function currentWalker(s: EngineState): Vec {
  return s.switchFrom ? slerp(s.switchFrom.from, s.walker, glideT(s.switchFrom)) : s.walker;
}

/** Apply one command. Returns a new state; the input state is never mutated. */
export function applyCommand(s: EngineState, cmd: EngineCommand): EngineState {
  switch (cmd.type) {
    case 'set': {
      const { type: _type, ...patch } = cmd;
      const params = { ...s.params, ...patch } as Params;
      const next = { ...s, params };
      return patch.mode !== undefined && patch.mode !== s.params.mode ? withSwitch(s, next) : next;
    }
    case 'seed':
      return withSwitch(s, { ...s, seed: cmd.seed >>> 0 });
    case 'keyframes': {
      const keys = cmd.keys.map((k) => (typeof k === 'number' ? k : [...k]));
      keys.forEach((k) => keyLatent(k, s.dim)); // validates stored latents' length
      const params: Params = {
        ...s.params,
        mode: 'keyframes',
        hold: cmd.hold ?? s.params.hold,
        transition: cmd.transition ?? s.params.transition,
        ease: cmd.ease ?? s.params.ease,
      };
      return withSwitch(s, { ...s, params, keys, keyTime: 0 });
    }
    case 'prompt':
      return {
        ...s,
        prompt: {
          text: cmd.text,
          fade: cmd.fade ?? s.params.fade,
          strength: cmd.strength ?? s.params.strength,
          at: s.time,
        },
      };
    case 'target': {
      let next = s;
      if (cmd.region) {
        const mean = Float64Array.from(cmd.region.mean);
        const scale = Float64Array.from(cmd.region.scale);
        if (mean.length !== s.dim || scale.length !== s.dim) {
          throw new RangeError(`a target region must have ${s.dim} values`);
        }
        next = { ...next, region: { from: regionAt(s.region), to: { mean, scale }, elapsed: 0, duration: cmd.fade } };
      }
      if (cmd.condition) {
        if (!s.condition || cmd.condition.length !== s.conditionDim) {
          throw new RangeError(`a condition must have ${s.conditionDim} values`);
        }
        const to = Float64Array.from(cmd.condition);
        next = { ...next, condition: { from: conditionAt(s.condition), to, elapsed: 0, duration: cmd.fade } };
      }
      return next;
    }
    case 'tempo':
      return { ...s, bpm: cmd.bpm };
    case 'beat':
      return { ...s, beats: Math.round(s.beats) };
    case 'mod.set': {
      const { type: _type, ...route } = cmd;
      const r = normaliseRoute(route);
      if (!s.mod.routes.some((x) => x.id === r.id) && s.mod.routes.length >= MAX_ROUTES) throw new RangeError(`at most ${MAX_ROUTES} modulation routes`);
      return { ...s, mod: setRoute(s.mod, r) };
    }
    case 'mod.clear':
      if (cmd.id !== undefined && !s.mod.routes.some((r) => r.id === cmd.id)) throw new RangeError(`no modulation route "${cmd.id}"`);
      return { ...s, mod: clearRoutes(s.mod, cmd.id) };
    case 'mod.input':
      return { ...s, mod: setInputs(s.mod, cmd.values, s.time, cmd.hold) };
    default: {
      const unknown: never = cmd;
      throw new RangeError(`the engine does not apply ${(unknown as { type: string }).type} commands`);
    }
  }
}

/**
 * Advance by dt seconds and produce the next frame's latent (and condition, if any). `frames` is
 * how many frame slots this step covers (more than 1 when the loop skipped frames).
 */
export function step(s: EngineState, dt: number, frames = 1): StepResult {
  if (!(dt >= 0) || !Number.isFinite(dt)) throw new RangeError('dt must be a finite number >= 0');
  if (!Number.isInteger(frames) || frames < 1) throw new RangeError('frames must be a positive integer');
  const time = s.time + dt;
  const beats = s.beats + (dt * s.bpm) / 60;
  const mod = evaluate(s.mod, time, beats, dt);
  let lap = s.lap + dt / modulated('period', s.params.period, mod);
  lap -= Math.floor(lap);
  const moved: EngineState = {
    ...s,
    frame: s.frame + frames,
    time,
    beats,
    mod,
    phase: s.phase + modulated('speed', s.params.speed, mod) * dt,
    lap,
    keyTime: s.keyTime + dt,
    region: advance(s.region, dt),
    condition: s.condition ? advance(s.condition, dt) : null,
  };
  moved.walker = walkerPoint(moved);
  moved.switchFrom = s.switchFrom ? advance(s.switchFrom, dt) : null;
  if (moved.switchFrom && moved.switchFrom.elapsed >= moved.switchFrom.duration) moved.switchFrom = null;
  return { state: moved, z: latentOf(moved), condition: moved.condition ? Float32Array.from(conditionAt(moved.condition)) : null };
}

/** The latent for the current state: region mean + scale * truncation * walker. */
export function latentOf(s: EngineState): Float32Array {
  const w = currentWalker(s);
  const r = regionAt(s.region);
  const k = modulated('strength', s.prompt.strength, s.mod);
  const psi = modulated('truncation', s.params.truncation, s.mod);
  const z = new Float32Array(s.dim);
  for (let i = 0; i < s.dim; i++) {
    const scale = 1 + k * (r.scale[i] - 1);
    z[i] = k * r.mean[i] + scale * psi * w[i];
  }
  return z;
}

/** The walk parameters as the walk uses them now: the set values plus their modulation. */
export function liveParams(s: EngineState): Params {
  const out = { ...s.params };
  for (const name of Object.keys(s.mod.deltas) as (keyof typeof s.mod.deltas)[]) out[name] = modulated(name, s.params[name], s.mod);
  return out;
}

export { seedLatent };
