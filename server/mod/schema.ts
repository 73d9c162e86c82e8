// The shape of a modulation route (the mod.set command and presets) and of the external source
// values that arrive with mod.input. Sources: LFOs computed from engine time or beats, and named
// inputs that performers' devices feed (audio features, MIDI CCs, OSC values), all 0..1.
import { z } from 'zod';
import { numericParams, modTargets, type NumericParamName } from '../params.ts';

export const lfoShapes = ['sine', 'triangle', 'saw', 'square', 'random'] as const;
export type LfoShape = (typeof lfoShapes)[number];
export const curves = ['linear', 'exp', 'log', 'smooth'] as const;
export type Curve = (typeof curves)[number];
export const audioFeatures = ['low', 'mid', 'high', 'loudness', 'onset'] as const;

/** audio:low ... audio:onset, cc:0 ... cc:127, osc:<name>. */
export const INPUT_KEY = /^(audio:(low|mid|high|loudness|onset)|cc:(\d|[1-9]\d|1[01]\d|12[0-7])|osc:[a-z0-9_.-]{1,48})$/;
const inputKeyHelp = 'an input is audio:low|mid|high|loudness|onset, cc:0-127 or osc:NAME (a-z, 0-9, _ . -)';

export const inputKeySchema = z.string({ error: 'source must be an LFO object or an input name' }).regex(INPUT_KEY, inputKeyHelp);

export const lfoSchema = z
  .strictObject({
    lfo: z.enum(lfoShapes, { error: `lfo must be one of ${lfoShapes.join(', ')}` }),
    /** Cycles per second. */
    hz: z.number({ error: 'hz must be a number' }).min(0.001, 'hz must be >= 0.001').max(50, 'hz must be <= 50').optional(),
    /** Beats per cycle, at the current tempo. */
    beats: z.number({ error: 'beats must be a number' }).min(0.0625, 'beats must be >= 1/16').max(1024, 'beats must be <= 1024').optional(),
    /** Phase offset in cycles. */
    phase: z.number({ error: 'phase must be a number' }).min(0, 'phase must be >= 0').max(1, 'phase must be <= 1').optional(),
    /** Seed of the smooth random shape. */
    seed: z.number().int('seed must be an integer').min(0).max(0xffffffff).optional(),
  })
  .refine((l) => (l.hz === undefined) !== (l.beats === undefined), 'an LFO needs a rate: hz or beats (one of the two)');
export type Lfo = z.infer<typeof lfoSchema>;

export const sourceSchema = z.union([lfoSchema, inputKeySchema], {
  error: `source must be an LFO ({"lfo":"sine","hz":1} or {"lfo":"saw","beats":4}) or an input name (${inputKeyHelp})`,
});
export type Source = z.infer<typeof sourceSchema>;

const targetHelp = `target must be one of ${modTargets.join(', ')} (the parameters the walk reads every frame)`;

export const routeFields = {
  /** Route name; default: the target's name (one route per target unless named). */
  id: z.string({ error: 'id must be a string' }).regex(/^[a-z0-9_-]{1,32}$/, 'id must be 1-32 characters of a-z, 0-9, _ or -').optional(),
  target: z.string({ error: targetHelp }).refine((t) => (modTargets as string[]).includes(t), targetHelp),
  source: sourceSchema,
  /** Swing in the target's units: an LFO moves it by ±depth, an input by 0..depth. */
  depth: z.number({ error: 'depth must be a number' }).refine(Number.isFinite, 'depth must be finite'),
  /** Constant shift in the target's units. */
  offset: z.number({ error: 'offset must be a number' }).refine(Number.isFinite, 'offset must be finite').optional(),
  curve: z.enum(curves, { error: `curve must be one of ${curves.join(', ')}` }).optional(),
  /** Seconds for the modulation to settle (one-pole low-pass); 0 = none. */
  smoothing: z.number({ error: 'smoothing must be a number' }).min(0, 'smoothing must be >= 0').max(10, 'smoothing must be <= 10 seconds').optional(),
};

/** depth and offset may span at most the target's range. */
export function checkRouteRange(r: { target: string; depth: number; offset?: number }, ctx: z.RefinementCtx): void {
  const p = numericParams[r.target as NumericParamName];
  if (!p) return;
  const span = p.max - p.min;
  if (Math.abs(r.depth) > span) ctx.addIssue({ code: 'custom', path: ['depth'], message: `depth must be within ±${span} (the range of ${r.target})` });
  if (r.offset !== undefined && Math.abs(r.offset) > span) ctx.addIssue({ code: 'custom', path: ['offset'], message: `offset must be within ±${span} (the range of ${r.target})` });
}

export const routeSchema = z.strictObject(routeFields).superRefine(checkRouteRange);
export type RouteInput = z.infer<typeof routeSchema>;

/** A stored route: every field filled in. */
export interface ModRoute {
  id: string;
  target: NumericParamName;
  source: Source;
  depth: number;
  offset: number;
  curve: Curve;
  smoothing: number;
}

export const MAX_ROUTES = 32;
export const MAX_INPUTS = 64;

export const inputValuesSchema = z
  .record(z.string(), z.number({ error: 'input values must be numbers' }).min(0, 'input values must be between 0 and 1').max(1, 'input values must be between 0 and 1'), {
    error: 'values must be an object of input names to numbers',
  })
  .superRefine((v, ctx) => {
    const keys = Object.keys(v);
    if (!keys.length) ctx.addIssue({ code: 'custom', message: 'values needs at least one input' });
    if (keys.length > MAX_INPUTS) ctx.addIssue({ code: 'custom', message: `at most ${MAX_INPUTS} inputs at once` });
    for (const k of keys) if (!INPUT_KEY.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: `"${k.slice(0, 60)}" is not an input: ${inputKeyHelp}` });
  });

/** Seconds the values of one mod.input hold without a new one (default by kind: audio 1, cc and osc 3). */
export const inputHoldSchema = z
  .number({ error: 'hold must be a number of seconds' })
  .min(0.05, 'hold must be between 0.05 and 86400 seconds')
  .max(86400, 'hold must be between 0.05 and 86400 seconds');

export function normaliseRoute(r: RouteInput): ModRoute {
  return {
    id: r.id ?? r.target,
    target: r.target as NumericParamName,
    source: r.source,
    depth: r.depth,
    offset: r.offset ?? 0,
    curve: r.curve ?? 'linear',
    smoothing: r.smoothing ?? 0,
  };
}
