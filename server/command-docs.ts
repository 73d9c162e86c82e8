// One line per command for the reference tables (server/README.md's command list is generated
// from the schemas in commands.ts plus these lines: `npm run docs`). A command without a line
// still gets its row, with its fields.
import type { CommandType } from './commands.ts';

export const commandDocs: Partial<Record<CommandType, string>> = {
  prompt: 'Steer the walk toward a text prompt (≤ 1000 chars; see server/steer/README.md), fading over `fade` seconds, pulling with `strength` 0..1.',
  set: 'Set any of the parameters below, e.g. `{"type":"set","speed":0.5,"mode":"loop"}`.',
  seed: 'Jump to a walk seed (integer 0..2^32-1), gliding over the `fade` parameter.',
  keyframes: 'Glide through keys (seeds or stored latents) in keyframes mode, with `hold`, `transition`, `ease`.',
  'preset.load': 'Load a preset by name (`[a-z0-9_-]{1,64}`); its commands apply in order.',
  'preset.save': 'Save the whole performance as a preset.',
  tempo: 'Set the tempo (20..400 bpm) for schedules in beats and the beat clock.',
  beat: 'A tap: snaps the beat clock\'s phase to the nearest beat.',
  'schedule.start': 'Start a prompt schedule (see Presets below; default: the last one started).',
  'schedule.stop': 'Stop the running schedule.',
  'record.start': 'Record the walk file and a video (name default `walk-YYYYMMDD-HHMMSS`, `size` an even video width); see server/record/README.md.',
  'record.stop': 'Stop recording.',
  'stream.start': 'Stream H.264 to `rtmp://`, `rtmps://`, `srt://`, `udp://` or `tcp://` on a named host (`listen`/listener options are refused).',
  'stream.stop': 'Stop streaming.',
  'mod.set': 'Add or replace a modulation route: `target`, `source`, `depth` (see server/mod/README.md).',
  'mod.clear': 'Remove the route `id`, or every route without one.',
  'mod.input': 'Feed modulation inputs: names to numbers 0..1, e.g. `{"audio:low": 0.7, "cc:74": 0.5}`.',
  'midi.map': 'Replace the shared MIDI mapping, e.g. `[{"cc": 74, "param": "speed"}, {"note": 36, "action": "beat"}]`.',
};
