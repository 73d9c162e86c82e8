// A preset's shape: the whole performance as presets/*.json holds it (walk parameters, seed,
// keyframes, and each feature's part). A leaf module, so the feature contract and the features can
// name Preset without importing the preset store.
import { z } from 'zod';
import { commandSchemas } from './commands.ts';
import { paramsPatchSchema } from './params.ts';
import { scheduleSchema } from './steer/schedule-schema.ts';
import { bpm } from './schema-atoms.ts';
import { routeSchema, MAX_ROUTES } from './mod/schema.ts';

export const presetSchema = z.strictObject({
  description: z.string().max(500).optional(),
  seed: commandSchemas.seed.shape.seed.optional(),
  params: paramsPatchSchema.optional(),
  prompt: commandSchemas.prompt.omit({ type: true }).optional(),
  keyframes: commandSchemas.keyframes.omit({ type: true }).optional(),
  schedule: scheduleSchema.optional(),
  tempo: bpm.optional(),
  modulation: z.array(routeSchema).max(MAX_ROUTES, `at most ${MAX_ROUTES} modulation routes`).optional(),
});
export type Preset = z.infer<typeof presetSchema>;
