// The shared MIDI mapping: which controller knob moves which parameter and which pad fires which
// trigger. The control page learns mappings (Web MIDI runs in the browser) and stores them here
// with the midi.map command, so every control page plays the same controller the same way. Kept in
// presets/midi-map.json, written atomically; a bad file is reported in the state and replaced by
// the next midi.map, never fatal.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { CommandOf } from '../commands.ts';
import { CommandError } from '../commands.ts';
import type { Feature } from '../feature.ts';
import type { FeatureState } from '../state.ts';
import { writeJsonAtomic } from '../json-file.ts';
import { describeIssues } from '../zod-issues.ts';
import { midiMappingsSchema, type MidiMapping } from './midi-schema.ts';

export const MIDI_MAP = 'midi-map';

export class MidiMap implements Feature {
  readonly name = 'midi';
  private mappings: MidiMapping[] = [];
  private error: string | undefined;

  private constructor(private readonly dir: string) {}

  /** Load presets/midi-map.json (a missing file is an empty map; a bad one is reported). */
  static async open(dir: string, log?: { warn(msg: string): void }): Promise<MidiMap> {
    const m = new MidiMap(dir);
    let text: string | null = null;
    try {
      text = await readFile(path.join(dir, `${MIDI_MAP}.json`), 'utf8');
    } catch {
      // no mapping yet
    }
    if (text !== null) {
      try {
        const r = z.strictObject({ mappings: midiMappingsSchema }).safeParse(JSON.parse(text));
        if (r.success) m.mappings = r.data.mappings;
        else m.error = `${MIDI_MAP}.json: ${describeIssues(r.error.issues, '(root)')}`;
      } catch (err) {
        m.error = `${MIDI_MAP}.json: malformed JSON: ${(err as Error).message}`;
      }
      if (m.error) log?.warn(`MIDI mapping ignored: ${m.error}`);
    }
    return m;
  }

  readonly commands = {
    'midi.map': async (cmd: CommandOf<'midi.map'>) => {
      try {
        await writeJsonAtomic(this.dir, MIDI_MAP, { mappings: cmd.mappings });
      } catch (err) {
        throw new CommandError(`cannot save the MIDI mapping: ${(err as Error).message}`, 500);
      }
      this.mappings = cmd.mappings;
      this.error = undefined;
    },
  };

  status(): Pick<FeatureState, 'midi'> {
    return { midi: this.error ? { mappings: this.mappings, error: this.error } : { mappings: this.mappings } };
  }
}
