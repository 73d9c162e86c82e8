// A machine-readable description of the command vocabulary and parameters, for control pages and
// OSC address tables generated from the schema.
import { z } from 'zod';
import { commandSchemas, commandTypes } from './commands.ts';
import { numericParams, enumParams } from './params.ts';

export function schemaDescription() {
  const commands: Record<string, unknown> = {};
  for (const type of commandTypes) {
    try {
      commands[type] = z.toJSONSchema(commandSchemas[type], { unrepresentable: 'any' });
    } catch {
      commands[type] = {};
    }
  }
  return { params: numericParams, enums: enumParams, commands };
}
