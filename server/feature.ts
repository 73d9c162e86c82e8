// The feature contract: how steering, schedules, the recorder, the streamer, OSC, presets and any
// new feature plug into the stage. A feature is an object with some of these members:
//
//   name        for logs and errors
//   commands    handlers for the command types it owns, one per type, each receiving that type's
//               command (typed: `prompt: (cmd) => cmd.text`). A type has at most one owner;
//               types nobody owns go to the engine.
//   status()    its part of the public state: keys declared in FeatureState below, spread into
//               PublicState (GET /api/state, /control and /frames state messages, OSC feedback)
//   frame()     per-frame work, called once per engine step with the frame's index and engine
//               time, live (frame loop) and offline (render) alike
//   measure()   before a frame is made: whether it should come with its image embedding, and
//               the scorer of its similarity to the prompt active now (steering only)
//   save()      adds its part of the performance to a preset being saved
//   load()      the commands that restore its part from a preset; called for every preset load,
//               including presets without its part (e.g. a schedule stops when the preset has none)
//   close()     releases what it holds (sockets, child processes, timers)
//
// Register with `stage.use(feature)`. Every change to the walk goes through the stage's one
// command queue: handlers run inside it (ctx.apply changes the engine as part of the command
// being handled); anything else submits with stage.dispatch (validated input) or stage.enqueue
// (an engine command the feature built, such as a steering target). Call stage.publish() when
// status changes outside a command.
//
// To add a feature: declare its status keys in FeatureState, give it a command schema in
// commands.ts if it takes commands, a field in presets.ts if it is part of a preset, and
// `stage.use()` it in server.ts (and in record/render.ts if it affects offline renders).
import type { Command, CommandOf, CommandType } from './commands.ts';
import type { EngineCommand } from './engine/engine.ts';
import type { Preset } from './presets.ts';
import type { SteeringStatus } from './steer/steering.ts';
import type { ScheduleStatus, TempoStatus } from './steer/schedule.ts';
import type { RecordingState } from './record/recorder.ts';
import type { StreamState } from './record/stream.ts';
import type { OscStatus } from './surfaces/osc.ts';
import type { OscQueryStatus } from './surfaces/osc/query.ts';
import type { ModulationStatus } from './mod/feature.ts';
import type { MidiMapStatus } from './mod/midi-map.ts';
import type { WorkerState } from './runtime/worker.ts';

/** Every feature's part of PublicState, by key. A stage without the feature has no such key. */
export interface FeatureState {
  /** Steering: words of the prompt outside the model's vocabulary. */
  warnings: string[];
  /** Steering: how the prompt's parts were understood through the model's lexicon ("blaze -> fire"). */
  understood: string[];
  /** Steering: similarity of the latest measured frame to the active prompt, held between measurements (null without a prompt). */
  similarity: number | null;
  steering: SteeringStatus;
  tempo: TempoStatus;
  schedule: ScheduleStatus | null;
  recording: RecordingState;
  stream: StreamState;
  osc: OscStatus;
  oscquery: OscQueryStatus;
  /** Modulation routes, the live values of the parameters they move, the last inputs. */
  modulation: ModulationStatus;
  /** The shared MIDI mapping (presets/midi-map.json) that every control page uses. */
  midi: MidiMapStatus;
  /** The runtime worker (when inference runs in one) and how often it crashed. */
  runtime: { worker: WorkerState; crashes: number };
}

export interface CommandContext {
  /** Where the command came from: 'http', 'ws', 'osc', 'preset', 'schedule', ... */
  surface: string;
  /** Apply an engine command as part of the command being handled (e.g. a prompt's target). */
  apply(cmd: EngineCommand): void;
  /** Run another command inside this one, in order (a preset's commands), as from `surface`. */
  run(cmd: Command, surface?: string): Promise<void>;
}

export type CommandHandler<K extends CommandType> = (cmd: CommandOf<K>, ctx: CommandContext) => void | Promise<void>;
export type CommandHandlers = { [K in CommandType]?: CommandHandler<K> };

/** The frame clock that per-frame work sees: the same live and offline. */
export interface FrameClock {
  index: number;
  /** Engine time in seconds. */
  time: number;
}

export interface FrameMeasure {
  embed: boolean;
  score(embedding: Float32Array | null): number;
}

export interface Feature {
  readonly name: string;
  readonly commands?: CommandHandlers;
  /**
   * Command types that stream values (e.g. mod.input at 60 Hz): applying one announces no state
   * change; the feature publishes its status at its own pace instead.
   */
  readonly quiet?: readonly CommandType[];
  status?(): Partial<FeatureState>;
  frame?(clock: FrameClock): void;
  /**
   * Called once per frame before it is made: `embed` says whether the frame should come with its
   * image embedding, and `score` turns that embedding into the frame's similarity to the prompt
   * that was active when it was asked (NaN without one). Frames in flight at once each get their own.
   */
  measure?(): FrameMeasure;
  save?(preset: Preset): void;
  load?(preset: Preset): Command[];
  close?(): void | Promise<void>;
}

/** True when `cmd` is a command of `type` (narrows without a cast). */
export function isCommand<K extends CommandType>(cmd: Command, type: K): cmd is CommandOf<K> {
  return cmd.type === type;
}
