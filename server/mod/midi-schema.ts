// The shape of the shared MIDI mapping (the midi.map command and presets/midi-map.json): knobs
// (CCs) onto walk parameters, pads (notes) onto triggers.
import { z } from 'zod';
import { numericParams, numericParamNames, type NumericParamName } from '../params.ts';

export const noteActions = ['seed.random', 'preset.next', 'beat'] as const;

const midiNumber = (what: string) => z.number({ error: `${what} must be a number` }).int(`${what} must be an integer`).min(0, `${what} must be 0-127`).max(127, `${what} must be 0-127`);
/** 1-16; absent = any channel. */
const channel = z.number({ error: 'channel must be a number' }).int('channel must be an integer').min(1, 'channel must be 1-16').max(16, 'channel must be 1-16').optional();
const paramHelp = `param must be one of ${numericParamNames.join(', ')}`;

export const ccMappingSchema = z
  .strictObject({
    cc: midiNumber('cc'),
    channel,
    param: z.string({ error: paramHelp }).refine((p) => (numericParamNames as string[]).includes(p), paramHelp),
    /** The part of the parameter's range the knob covers (default: all of it). */
    min: z.number().optional(),
    max: z.number().optional(),
  })
  .superRefine((m, ctx) => {
    const p = numericParams[m.param as NumericParamName];
    if (!p) return;
    for (const k of ['min', 'max'] as const) {
      const v = m[k];
      if (v !== undefined && !(v >= p.min && v <= p.max)) ctx.addIssue({ code: 'custom', path: [k], message: `${k} must be within ${m.param}'s range ${p.min}..${p.max}` });
    }
  });

export const noteMappingSchema = z.strictObject({
  note: midiNumber('note'),
  channel,
  action: z.enum(noteActions, { error: `action must be one of ${noteActions.join(', ')}` }),
});

export const midiMappingSchema = z.union([ccMappingSchema, noteMappingSchema], { error: 'a mapping is {cc, param} or {note, action}' });
export const midiMappingsSchema = z.array(midiMappingSchema, { error: 'mappings must be a list' }).max(512, 'at most 512 mappings');
export type MidiMapping = z.infer<typeof midiMappingSchema>;

