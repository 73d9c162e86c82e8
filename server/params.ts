// The walk's parameters, described once. The `set` command, the OSC address table, presets and
// the control page's sliders are all generated from this table: add a parameter here and every
// surface gets it.
import { z } from 'zod';
import { FADE_MAX } from './schema-atoms.ts';

export interface NumericParam {
  min: number;
  max: number;
  default: number;
  step: number;
  unit?: string;
  doc: string;
  /** The walk reads it every frame, so the modulation layer may move it (server/mod/). */
  modulate?: boolean;
}

export const numericParams = {
  speed: { min: 0, max: 4, default: 0.3, step: 0.01, unit: 'keys/s', modulate: true, doc: 'Drift rate: new latent keypoints per second (drift mode).' },
  truncation: { min: 0, max: 2, default: 0.6, step: 0.01, modulate: true, doc: 'Distance from the centre of the latent space: low is typical and calm, high is wild.' },
  period: { min: 0.5, max: 3600, default: 16, step: 0.5, unit: 's', modulate: true, doc: 'Seconds for one lap of the closed orbit (loop mode); the orbit returns exactly to its start.' },
  fade: { min: 0, max: FADE_MAX, default: 2, step: 0.1, unit: 's', doc: 'Default fade time of a prompt change.' },
  strength: { min: 0, max: 1, default: 1, step: 0.01, modulate: true, doc: 'How strongly the active prompt pulls the walk.' },
  hold: { min: 0, max: 600, default: 2, step: 0.1, unit: 's', doc: 'Keyframes: seconds held on each key.' },
  transition: { min: 0.05, max: 600, default: 3, step: 0.05, unit: 's', doc: 'Keyframes: seconds to glide from one key to the next.' },
  search: { min: 0, max: 1, default: 0, step: 1, doc: 'CLIP-guided search (CMA-ES) refines the prompt: 1 = on. Always on for models without a prior or condition.' },
} as const satisfies Record<string, NumericParam>;

export type NumericParamName = keyof typeof numericParams;
export const numericParamNames = Object.keys(numericParams) as NumericParamName[];
/** Parameters the modulation layer may move (the walk reads them every frame). */
export const modTargets = numericParamNames.filter((n) => (numericParams[n] as NumericParam).modulate === true);

export const modes = ['drift', 'loop', 'keyframes'] as const;
export type Mode = (typeof modes)[number];
export const eases = ['linear', 'smooth', 'cosine'] as const;
export type Ease = (typeof eases)[number];

export const enumParams = {
  mode: { values: modes, default: 'drift' as Mode, doc: 'Walk mode: drift (endless smooth wander), loop (closed orbit of `period` seconds), keyframes (glide through stored keys).' },
  ease: { values: eases, default: 'smooth' as Ease, doc: 'Keyframes: easing of each glide.' },
} as const;

export type Params = { [K in NumericParamName]: number } & { mode: Mode; ease: Ease };

export function defaultParams(): Params {
  const out: Record<string, unknown> = {};
  for (const name of numericParamNames) out[name] = numericParams[name].default;
  out.mode = enumParams.mode.default;
  out.ease = enumParams.ease.default;
  return out as Params;
}

function numberSchema(name: string, p: NumericParam) {
  return z
    .number({ error: `${name} must be a number` })
    .refine(Number.isFinite, `${name} must be finite`)
    .refine((v) => v >= p.min && v <= p.max, `${name} must be between ${p.min} and ${p.max}`);
}

/** Partial parameter object, every key optional, unknown keys rejected. */
export const paramsPatchSchema = z.strictObject({
  ...(Object.fromEntries(numericParamNames.map((n) => [n, numberSchema(n, numericParams[n]).optional()])) as {
    [K in NumericParamName]: z.ZodOptional<z.ZodNumber>;
  }),
  mode: z.enum(modes).optional(),
  ease: z.enum(eases).optional(),
});
export type ParamsPatch = z.infer<typeof paramsPatchSchema>;
