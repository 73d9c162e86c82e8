// The shape of a prompt schedule (presets and the schedule.start command): prompts at times in
// seconds or beats of engine time, optionally looping.
import { z } from 'zod';
import { fade, promptText } from '../schema-atoms.ts';

export const scheduleUnits = ['seconds', 'beats'] as const;

export const scheduleStepSchema = z.strictObject({
  at: z.number({ error: 'at must be a number' }).min(0, 'at must be >= 0').max(1e6, 'at must be <= 1e6'),
  prompt: promptText('prompt'),
  /** Fade in the schedule's unit; default: the `fade` parameter (seconds). */
  fade: fade.optional(),
});

export const scheduleSchema = z
  .strictObject({
    unit: z.enum(scheduleUnits, { error: 'unit must be "seconds" or "beats"' }),
    loop: z.boolean({ error: 'loop must be true or false' }).optional(),
    /** Loop length in the schedule's unit; default: the last step plus the average step gap. */
    length: z.number().positive('length must be > 0').max(1e6).optional(),
    steps: z.array(scheduleStepSchema).min(1, 'a schedule needs at least one step').max(256, 'at most 256 steps'),
  })
  .refine((s) => s.length === undefined || s.steps.every((p) => p.at < s.length!), 'every step must come before length');

export type Schedule = z.infer<typeof scheduleSchema>;
