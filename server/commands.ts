// The one command vocabulary. WebSocket JSON, HTTP POST, OSC, presets and recordings all turn their
// input into these zod-validated commands.
import { z } from 'zod';
import { paramsPatchSchema, eases, numericParams } from './params.ts';
import { scheduleSchema } from './steer/schedule-schema.ts';
import { describeIssues } from './zod-issues.ts';
import * as atoms from './schema-atoms.ts';
import { seed, fade, videoSize } from './schema-atoms.ts';
import { routeFields, checkRouteRange, inputValuesSchema, inputHoldSchema } from './mod/schema.ts';
import { midiMappingsSchema } from './mod/midi-schema.ts';
import type { EngineCommand, EngineCommandType } from './engine/engine.ts';

const presetName = atoms.name();

export const commandSchemas = {
  prompt: z.strictObject({
    type: z.literal('prompt'),
    text: atoms.promptText(),
    fade: fade.optional(),
    strength: atoms.strength.optional(),
  }),
  set: paramsPatchSchema
    .extend({ type: z.literal('set') })
    .refine((c) => Object.keys(c).length > 1, 'set needs at least one parameter'),
  seed: z.strictObject({ type: z.literal('seed'), seed }),
  keyframes: z.strictObject({
    type: z.literal('keyframes'),
    keys: z
      .array(z.union([seed, z.array(z.number().refine(Number.isFinite, 'latent values must be finite')).min(1)]))
      .min(1, 'keys needs at least one seed or latent')
      .max(256, 'at most 256 keys'),
    hold: z.number().min(numericParams.hold.min).max(numericParams.hold.max).optional(),
    transition: z.number().min(numericParams.transition.min).max(numericParams.transition.max).optional(),
    ease: z.enum(eases).optional(),
  }),
  'preset.load': z.strictObject({ type: z.literal('preset.load'), name: presetName }),
  'preset.save': z.strictObject({ type: z.literal('preset.save'), name: presetName }),
  tempo: z.strictObject({ type: z.literal('tempo'), bpm: atoms.bpm }),
  beat: z.strictObject({ type: z.literal('beat') }),
  'schedule.start': z.strictObject({ type: z.literal('schedule.start'), schedule: scheduleSchema.optional() }),
  'schedule.stop': z.strictObject({ type: z.literal('schedule.stop') }),
  'record.start': z.strictObject({ type: z.literal('record.start'), name: presetName.optional(), size: videoSize.optional() }),
  'record.stop': z.strictObject({ type: z.literal('record.stop') }),
  'stream.start': z.strictObject({
    type: z.literal('stream.start'),
    url: atoms.streamUrl(),
    size: videoSize.optional(),
  }),
  'stream.stop': z.strictObject({ type: z.literal('stream.stop') }),
  'mod.set': z.strictObject({ type: z.literal('mod.set'), ...routeFields }).superRefine(checkRouteRange),
  'mod.clear': z.strictObject({ type: z.literal('mod.clear'), id: routeFields.id }),
  'mod.input': z.strictObject({ type: z.literal('mod.input'), values: inputValuesSchema, hold: inputHoldSchema.optional() }),
  'midi.map': z.strictObject({ type: z.literal('midi.map'), mappings: midiMappingsSchema }),
} as const;

export type CommandType = keyof typeof commandSchemas;
export const commandTypes = Object.keys(commandSchemas) as CommandType[];
export type Command = { [K in CommandType]: z.infer<(typeof commandSchemas)[K]> }[CommandType];
export type CommandOf<K extends CommandType> = Extract<Command, { type: K }>;

/** The vocabulary's commands of the engine's types that its union does not accept (none). */
type NotEngine<C> = C extends { type: EngineCommandType } ? (C extends EngineCommand ? never : C['type']) : never;
/** Compile-time: every command the vocabulary sends the engine is one the engine applies. */
export const engineTakesItsCommands: [NotEngine<Command>] extends [never] ? true : NotEngine<Command> = true;

export class CommandError extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
    this.name = 'CommandError';
  }
}

/** Validate anything into a Command, or throw a CommandError with a readable reason. */
export function parseCommand(input: unknown): Command {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new CommandError('a command must be a JSON object with a "type"');
  }
  const type = (input as { type?: unknown }).type;
  if (typeof type !== 'string') throw new CommandError('a command needs a string "type"');
  if (!Object.hasOwn(commandSchemas, type)) {
    throw new CommandError(`unknown command "${type}" (known: ${commandTypes.join(', ')})`);
  }
  const result = commandSchemas[type as CommandType].safeParse(input);
  if (!result.success) throw new CommandError(`${type}: ${describeIssues(result.error.issues)}`);
  return result.data as Command;
}

/**
 * Parse JSON text as a surface receives it (an HTTP body, a WebSocket message, a preset file);
 * malformed JSON is a CommandError that says where.
 */
export function parseJson(text: string, what = ''): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CommandError(`${what}malformed JSON: ${(err as Error).message}`);
  }
}
