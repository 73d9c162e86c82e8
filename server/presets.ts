// Presets: presets/*.json hold the whole performance: walk parameters, seed, keyframes, and each
// feature's part (prompt, schedule and tempo, ...; see feature.ts). Validated with zod, saved
// atomically (write + rename); a bad file is reported and skipped, never fatal.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { CommandError, parseJson, type Command, type CommandOf } from './commands.ts';
import { presetSchema, type Preset } from './preset-schema.ts';
import { NAME, NAME_RULE } from './schema-atoms.ts';
import type { Feature, CommandContext } from './feature.ts';
import { describeIssues } from './zod-issues.ts';
import { writeJsonAtomic } from './json-file.ts';

/** Files in the preset folder that are not presets (e.g. the OSC mapping). */
const NOT_PRESETS = new Set(['osc-map', 'midi-map']);

export type { Preset } from './preset-schema.ts';

export interface PresetListing {
  name: string;
  description?: string;
  /** Set when the file exists but cannot be used. */
  error?: string;
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new CommandError(`bad preset name "${name}": use ${NAME_RULE}`);
}

function parsePreset(name: string, text: string): Preset {
  const r = presetSchema.safeParse(parseJson(text, `preset ${name}: `));
  if (!r.success) {
    throw new CommandError(`preset ${name}: ${describeIssues(r.error.issues, '(root)')}`);
  }
  return r.data;
}

export class PresetStore {
  constructor(readonly dir: string) {}

  async list(): Promise<PresetListing[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    } catch {
      return [];
    }
    const out: PresetListing[] = [];
    for (const name of names.sort()) {
      if (!NAME.test(name) || NOT_PRESETS.has(name)) continue;
      try {
        const p = await this.load(name);
        out.push({ name, description: p.description });
      } catch (err) {
        out.push({ name, error: (err as Error).message });
      }
    }
    return out;
  }

  async load(name: string): Promise<Preset> {
    checkName(name);
    let text: string;
    try {
      text = await readFile(path.join(this.dir, `${name}.json`), 'utf8');
    } catch {
      throw new CommandError(`no preset named "${name}"`, 404);
    }
    return parsePreset(name, text);
  }

  /** Atomic save: write a temporary file in the same folder, then rename it over the target. */
  async save(name: string, preset: Preset): Promise<void> {
    checkName(name);
    const valid = presetSchema.parse(preset);
    try {
      await writeJsonAtomic(this.dir, name, valid);
    } catch (err) {
      throw new CommandError(`cannot save preset ${name}: ${(err as Error).message}`, 500);
    }
  }
}

/** What the presets feature needs from the stage: the performance as a preset, and back. */
export interface Performance {
  toPreset(): Preset;
  presetCommands(p: Preset): Command[];
}

/** preset.load and preset.save as a feature: a preset's commands run inside the preset.load. */
export class Presets implements Feature {
  readonly name = 'presets';

  constructor(
    readonly store: PresetStore,
    private readonly performance: Performance,
  ) {}

  readonly commands = {
    'preset.load': async (cmd: CommandOf<'preset.load'>, ctx: CommandContext) => {
      const preset = await this.store.load(cmd.name);
      for (const c of this.performance.presetCommands(preset)) await ctx.run(c, 'preset');
    },
    'preset.save': (cmd: CommandOf<'preset.save'>) => this.store.save(cmd.name, this.performance.toPreset()),
  };
}
