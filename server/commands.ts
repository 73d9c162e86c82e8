// The one command vocabulary. WebSocket JSON, HTTP POST, OSC, presets and recordings all turn their
// input into these zod-validated commands.
import { z } from 'zod';
import { paramsPatchSchema, eases, numericParams } from './params.ts';
import { scheduleSchema, bpmSchema } from './steer/schedule-schema.ts';
import { describeIssues } from './zod-issues.ts';

const presetName = z
  .string({ error: 'name must be a string' })
  .regex(/^[a-z0-9_-]{1,64}$/, 'name must be 1-64 characters of a-z, 0-9, _ or -');

const seed = z
  .number({ error: 'seed must be a number' })
  .int('seed must be an integer')
  .min(0, 'seed must be >= 0')
  .max(0xffffffff, 'seed must be < 2^32');

const fade = z.number({ error: 'fade must be a number' }).min(0, 'fade must be >= 0').max(600, 'fade must be <= 600 seconds');

const videoSize = z
  .number({ error: 'size must be a number' })
  .int('size must be an integer')
  .min(16, 'size must be >= 16')
  .max(4096, 'size must be <= 4096')
  .refine((n) => n % 2 === 0, 'size must be even');

export const commandSchemas = {
  prompt: z.strictObject({
    type: z.literal('prompt'),
    text: z.string({ error: 'text must be a string' }).max(1000, 'text must be at most 1000 characters'),
    fade: fade.optional(),
    strength: z.number().min(0).max(1).optional(),
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
  tempo: z.strictObject({ type: z.literal('tempo'), bpm: bpmSchema }),
  beat: z.strictObject({ type: z.literal('beat') }),
  'schedule.start': z.strictObject({ type: z.literal('schedule.start'), schedule: scheduleSchema.optional() }),
  'schedule.stop': z.strictObject({ type: z.literal('schedule.stop') }),
  'record.start': z.strictObject({ type: z.literal('record.start'), name: presetName.optional(), size: videoSize.optional() }),
  'record.stop': z.strictObject({ type: z.literal('record.stop') }),
  'stream.start': z.strictObject({
    type: z.literal('stream.start'),
    url: z
      .string({ error: 'url must be a string' })
      .max(2000, 'url must be at most 2000 characters')
      .regex(/^(rtmps?|srt|udp|tcp):\/\/[^\s]+$/, 'url must be rtmp://, rtmps://, srt://, udp:// or tcp://'),
    size: videoSize.optional(),
  }),
  'stream.stop': z.strictObject({ type: z.literal('stream.stop') }),
} as const;

export type CommandType = keyof typeof commandSchemas;
export const commandTypes = Object.keys(commandSchemas) as CommandType[];
export type Command = { [K in CommandType]: z.infer<(typeof commandSchemas)[K]> }[CommandType];
export type CommandOf<K extends CommandType> = Extract<Command, { type: K }>;

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

/** Parse a JSON text (as received over a socket or HTTP body) into a Command. */
export function parseCommandJson(text: string): Command {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CommandError(`malformed JSON: ${(err as Error).message}`);
  }
  return parseCommand(value);
}
