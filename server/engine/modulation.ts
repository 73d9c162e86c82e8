// The modulation layer's arithmetic: sources -> curves -> depth/offset -> smoothing -> a delta per
// walk parameter. Pure: a function of engine time, beats, the routes and the last input values
// (which arrive as mod.input commands), so a walk with modulation replays bit for bit. An input
// whose source has gone quiet (an audio page closed, a controller unplugged) holds its last value
// for STALE_AFTER seconds of engine time (or the `hold` it came with), then fades to rest (0)
// over RELEASE seconds: sources that stay alive resend their values.
import { hashN, uniform } from './prng.ts';
import { numericParams, type NumericParamName } from '../params.ts';
import type { ModRoute, Lfo, LfoShape, Curve } from '../mod/schema.ts';

export interface ModState {
  routes: ModRoute[];
  /** Last value of each external input (audio:low, cc:74, osc:x), 0..1. */
  inputs: Record<string, number>;
  /** Engine time (s) each input last arrived. */
  heard: Record<string, number>;
  /** Seconds an input holds without a new value, where its message said so (else STALE_AFTER). */
  hold: Record<string, number>;
  /** Smoothed output per route id (present once a route has been evaluated). */
  smooth: Record<string, number>;
  /** Sum of the routes' outputs per target, from the last step. */
  deltas: Partial<Record<NumericParamName, number>>;
}

export function emptyMod(): ModState {
  return { routes: [], inputs: {}, heard: {}, hold: {}, smooth: {}, deltas: {} };
}

const frac = (x: number) => x - Math.floor(x);

/** An LFO shape at `phase` cycles, in [-1, 1]. Sine, triangle and saw start at 0 rising. */
export function lfoShape(shape: LfoShape, phase: number, seed = 0): number {
  switch (shape) {
    case 'sine':
      return Math.sin(2 * Math.PI * phase);
    case 'triangle':
      return 1 - 4 * Math.abs(frac(phase + 0.25) - 0.5);
    case 'saw':
      return 2 * frac(phase + 0.5) - 1;
    case 'square':
      return frac(phase) < 0.5 ? 1 : -1;
    case 'random': {
      // Smooth random: a seeded value per whole cycle, cosine-interpolated between them.
      const k = Math.floor(phase);
      const a = 2 * uniform(hashN(0x6d6f64, seed, k)) - 1;
      const b = 2 * uniform(hashN(0x6d6f64, seed, k + 1)) - 1;
      const t = (1 - Math.cos(Math.PI * (phase - k))) / 2;
      return a + (b - a) * t;
    }
  }
}

/** Reshape a value in [0, 1]. */
export function curve(c: Curve, u: number): number {
  const x = Math.min(1, Math.max(0, u));
  switch (c) {
    case 'linear':
      return x;
    case 'exp':
      return x * x;
    case 'log':
      return Math.sqrt(x);
    case 'smooth':
      return x * x * (3 - 2 * x);
  }
}

export function lfoPhase(l: Lfo, time: number, beats: number): number {
  const cycles = l.hz !== undefined ? time * l.hz : beats / (l.beats ?? 1);
  return cycles + (l.phase ?? 0);
}

/** Seconds an input holds its value without a new one, by kind (audio pages send 60 a second; control pages resend CCs every second). */
export const STALE_AFTER = { audio: 1, cc: 3, osc: 3 } as const;
/** Seconds a stale input takes to fade to rest. */
export const RELEASE = 0.5;

function holdOf(m: ModState, key: string): number {
  return m.hold[key] ?? STALE_AFTER[key.slice(0, key.indexOf(':')) as keyof typeof STALE_AFTER] ?? STALE_AFTER.osc;
}

/** An input's value at engine time `time`: the last one received, faded to 0 once its source has gone quiet. */
export function inputValue(m: ModState, key: string, time: number): number {
  const v = m.inputs[key];
  if (v === undefined) return 0;
  const quiet = time - (m.heard[key] ?? time) - holdOf(m, key);
  return quiet <= 0 ? v : v * Math.max(0, 1 - quiet / RELEASE);
}

/** Inputs whose source has been quiet longer than their hold (fading or at rest), sorted. */
export function staleInputs(m: ModState, time: number): string[] {
  return Object.keys(m.inputs)
    .filter((k) => time - (m.heard[k] ?? time) > holdOf(m, k))
    .sort();
}

/** A route's raw output (before smoothing), in the target's units, with input values `input(key)`. */
export function routeValue(r: ModRoute, time: number, beats: number, input: (key: string) => number): number {
  let shaped: number;
  if (typeof r.source === 'string') {
    // Inputs are unipolar: 0..depth.
    shaped = curve(r.curve, input(r.source));
  } else {
    // LFOs are bipolar: ±depth around the parameter.
    const u = lfoShape(r.source.lfo, lfoPhase(r.source, time, beats), r.source.seed ?? 0);
    shaped = 2 * curve(r.curve, (u + 1) / 2) - 1;
  }
  return r.offset + r.depth * shaped;
}

/**
 * Evaluate every route at engine time `time` and beat `beats`, `dt` seconds after the last
 * evaluation (which smoothing needs). Returns the new state with `deltas` per target.
 */
export function evaluate(m: ModState, time: number, beats: number, dt: number): ModState {
  if (!m.routes.length) return Object.keys(m.deltas).length || Object.keys(m.smooth).length ? { ...m, smooth: {}, deltas: {} } : m;
  const smooth: Record<string, number> = {};
  const deltas: Partial<Record<NumericParamName, number>> = {};
  const input = (key: string) => inputValue(m, key, time);
  for (const r of m.routes) {
    const raw = routeValue(r, time, beats, input);
    const prev = m.smooth[r.id];
    const v = r.smoothing > 0 && prev !== undefined ? prev + (raw - prev) * (1 - Math.exp(-dt / r.smoothing)) : raw;
    smooth[r.id] = v;
    deltas[r.target] = (deltas[r.target] ?? 0) + v;
  }
  return { ...m, smooth, deltas };
}

/** A parameter's value with its modulation, kept in the parameter's range. */
export function modulated(name: NumericParamName, base: number, m: ModState): number {
  const d = m.deltas[name];
  if (d === undefined) return base;
  const p = numericParams[name];
  return Math.min(p.max, Math.max(p.min, base + d));
}

/** Add or replace a route (by id). */
export function setRoute(m: ModState, r: ModRoute): ModState {
  const routes = m.routes.filter((x) => x.id !== r.id);
  routes.push(r);
  const smooth = { ...m.smooth };
  delete smooth[r.id];
  return { ...m, routes, smooth };
}

/** Remove one route, or all when id is undefined. The remaining routes keep their last output. */
export function clearRoutes(m: ModState, id?: string): ModState {
  if (id === undefined) return { ...m, routes: [], smooth: {}, deltas: {} };
  const routes = m.routes.filter((r) => r.id !== id);
  const smooth: Record<string, number> = {};
  const deltas: Partial<Record<NumericParamName, number>> = {};
  for (const r of routes) {
    const v = m.smooth[r.id];
    if (v === undefined) continue;
    smooth[r.id] = v;
    deltas[r.target] = (deltas[r.target] ?? 0) + v;
  }
  return { ...m, routes, smooth, deltas };
}

/** At most this many distinct inputs are remembered (a flood of new names is refused). */
export const MAX_KNOWN_INPUTS = 256;

/** New input values heard at engine time `time`, holding `hold` seconds (default: by kind, STALE_AFTER). */
export function setInputs(m: ModState, values: Record<string, number>, time: number, hold?: number): ModState {
  const inputs = { ...m.inputs, ...values };
  if (Object.keys(inputs).length > MAX_KNOWN_INPUTS) throw new RangeError(`too many distinct inputs (at most ${MAX_KNOWN_INPUTS})`);
  const heard = { ...m.heard };
  const holds = { ...m.hold };
  for (const k of Object.keys(values)) {
    heard[k] = time;
    if (hold === undefined) delete holds[k];
    else holds[k] = hold;
  }
  return { ...m, inputs, heard, hold: holds };
}
