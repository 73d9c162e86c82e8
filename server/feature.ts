// The feature contract: how steering, schedules, the recorder, the streamer, OSC, presets and any
// new feature plug into the stage. A feature is an object with some of these members:
//
//   name        for logs and errors
//   commands    handlers for the command types it owns, one per type, each receiving that type's
//               command (typed: `prompt: (cmd) => cmd.text`). A type has at most one owner;
//               types nobody owns go to the engine when it applies them (engine.ts), and fail
//               with a clear error otherwise.
//   status()    its part of the public state: keys declared in FeatureState (state.ts), spread
//               into PublicState (GET /api/state, /control and /frames state messages, OSC
//               feedback). A key has at most one publisher: the stage refuses a second.
//   frame()     per-frame work, called once per engine step with the frame's index and engine
//               time, live (frame loop) and offline (render) alike
//   save()      adds its part of the performance to a preset being saved
//   load()      the commands that restore its part from a preset; called for every preset load,
//               including presets without its part (e.g. a schedule stops when the preset has none)
//   close()     releases what it holds (sockets, child processes, timers)
//
// A feature receives a FeatureHost (below), the narrow part of the stage it may use, and is
// registered with `stage.use(feature)`. Every change to the walk goes through the stage's one
// command queue: handlers run inside it (ctx.apply changes the engine as part of the command
// being handled); anything else submits with host.dispatch (validated input) or host.enqueue
// (an engine command the feature built, such as a steering target). Call host.publish() when
// status changes outside a command.
//
// To add a feature: declare its status keys in FeatureState (state.ts), give it a command schema
// in commands.ts if it takes commands, a field in preset-schema.ts if it is part of a preset, and
// `stage.use()` it in performance.ts if it changes how a walk plays (then the live server, the
// offline render and the tests all get it), else in server.ts after attachPerformance().
import type { Command, CommandOf, CommandType } from './commands.ts';
import type { EngineCommand, EngineState, TargetCommand } from './engine/engine.ts';
import type { Preset } from './preset-schema.ts';
import type { FeatureState, PublicState } from './state.ts';
import type { Model } from './model/load.ts';
import type { Metrics } from './metrics.ts';
import type { Faults } from './faults.ts';
import type { Frame } from './frames/frame.ts';

export type { FeatureState, PublicState } from './state.ts';

/** What goes through the stage's command queue: surface commands and the targets features build. */
export type StageCommand = Command | TargetCommand;

export interface StageEvents {
  frame: [Frame];
  state: [PublicState];
  /** Every command applied, after it applied: surface commands and engine targets alike. */
  command: [StageCommand, string];
  /** A frame failed to generate; the loop retries shortly. */
  failure: [Error];
}

type Listener<K extends keyof StageEvents> = (...args: StageEvents[K]) => void;

/**
 * The part of the stage a feature may use: the model and the walk's state (read-only), the one
 * command queue, publishing, metrics, the frame clock's timing, and the stage's events.
 */
export interface FeatureHost {
  readonly model: Model;
  /** The walk's state; changes go through dispatch/enqueue. */
  readonly engine: EngineState;
  readonly metrics: Metrics;
  /** What is degraded: a feature raises and clears the faults it owns (see faults.ts). */
  readonly faults: Faults;
  /** Target frames per second (0: uncapped) and the rate measured over the last second. */
  readonly targetFps: number;
  readonly fps: number;
  /** Milliseconds until the next frame is due (null when uncapped or not running). */
  msToNextFrame(): number | null;
  state(): PublicState;
  /** Announce a status change that happened outside a command. */
  publish(): void;
  /** Validate and queue a command from outside (as a surface would). */
  dispatch(input: unknown, surface: string): Promise<PublicState>;
  /** Queue an already-valid command the feature built (a steering target). */
  enqueue(cmd: StageCommand, surface: string): Promise<PublicState>;
  on<K extends keyof StageEvents>(event: K, listener: Listener<K>): unknown;
  once<K extends keyof StageEvents>(event: K, listener: Listener<K>): unknown;
  off<K extends keyof StageEvents>(event: K, listener: Listener<K>): unknown;
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
  save?(preset: Preset): void;
  load?(preset: Preset): Command[];
  close?(): void | Promise<void>;
}

/** True when `cmd` is a command of `type` (narrows without a cast). */
export function isCommand<K extends CommandType>(cmd: Command, type: K): cmd is CommandOf<K> {
  return cmd.type === type;
}
