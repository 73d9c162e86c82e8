// The public state's shape: the stage's own part and each feature's declared part, by key. A leaf
// module (it imports only schemas and parameter types), so the feature contract, the stage and the
// surfaces can all name these types without importing the features that fill them in.
import type { Params, NumericParamName } from './params.ts';
import type { KeySummary } from './key-summary.ts';
import type { Schedule } from './steer/schedule-schema.ts';
import type { ModRoute } from './mod/schema.ts';
import type { MidiMapping } from './mod/midi-schema.ts';

export type SteeringPath = 'prior' | 'condition' | 'bank' | 'search' | 'none';

export interface SteeringStatus {
  path: SteeringPath;
  /** The CLIP-guided search's progress while it runs. */
  search: { generation: number; evaluated: number; best: number | null } | null;
  /** On the bank path: the bank latents (and classes) the active prompt was read as. */
  reading: BankReading | null;
}

export interface TempoStatus {
  bpm: number;
  /** Beats since engine time 0 (phase adjusted by taps). */
  beat: number;
}

export interface ScheduleStatus {
  unit: Schedule['unit'];
  loop: boolean;
  /** Position in the schedule's unit. */
  position: number;
  /** Index of the next step to fire. */
  next: number;
  steps: number;
}

export interface RecordingState {
  active: boolean;
  name: string | null;
  walk: string | null;
  video: string | null;
  startedAt: string | null;
  /** Frames written to the walk file. */
  frames: number;
  /** Frames written to the video. */
  videoFrames: number;
  error?: string;
}

export interface StreamState {
  /** On from stream.start until stream.stop, reconnecting included. */
  active: boolean;
  /** connecting (ffmpeg started, not yet up for a few seconds), live, reconnecting (waiting for the next attempt), stopped. */
  status: 'connecting' | 'live' | 'reconnecting' | 'stopped';
  /** The target with any stream key / secret masked. */
  url: string | null;
  startedAt: string | null;
  /** Frames sent, all connections together. */
  frames: number;
  /** Reconnect attempts since the stream was last up (0 while live). */
  attempts: number;
  /** Why the last connection failed (kept until the stream is up again). */
  error?: string;
}

export interface OscStatus {
  port: number;
  host: string;
  prefix: string;
  subscribers: number;
}

export interface OscQueryStatus {
  /** TCP port of the OSCQuery server. */
  port: number;
  /** Websocket clients LISTENing to values. */
  listeners: number;
}

export interface ModulationStatus {
  routes: ModRoute[];
  /** Each modulated parameter as the walk uses it now (set value + modulation, in range). */
  live: Partial<Record<NumericParamName, number>>;
  /** Every input that arrived (audio:low, cc:74, osc:fader3 ...) as the routes use it now: its last value, or fading to 0 once stale. */
  inputs: Record<string, number>;
  /** Inputs whose source has gone quiet past its hold (audio 1 s, cc and osc 3 s): released to rest. */
  stale: string[];
}

export interface MidiMapStatus {
  mappings: MidiMapping[];
  /** Set when presets/midi-map.json exists but could not be read. */
  error?: string;
}

export type WorkerState = 'starting' | 'running' | 'restarting' | 'held' | 'closed';

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
  /** The runtime worker or torch runtime child process (when inference runs in one) and how often it crashed. */
  runtime: { worker: WorkerState; crashes: number };
}

export interface CoreState {
  model: { id: string; name: string; width: number; height: number };
  device: string;
  frame: number;
  time: number;
  fps: number;
  targetFps: number;
  seed: number;
  params: Params;
  prompt: { text: string; fade: number; strength: number };
  /** Keyframes in brief (count, seeds, hash); the full list is at GET /api/keys. */
  keyframes: KeySummary;
  viewers: number;
  /** What is degraded now, and since when (see faults.ts); empty when all is well. */
  faults: Fault[];
}

/** The kinds of fault, one owner each (see faults.ts). */
export type FaultKind = 'recording' | 'stream' | 'runtime' | 'frames' | 'viewers';

export interface Fault {
  kind: FaultKind;
  /** What is wrong and what the server does about it, in words for the performer. */
  message: string;
  /** When it began (wall clock, ISO 8601). */
  since: string;
  /** Seconds since it began (monotonic clock). */
  seconds: number;
  /** How many times it happened while active (a crash loop's crashes, a stream's reconnect attempts). */
  count: number;
}

/** The state every surface publishes: the stage's own, plus each feature's declared part. */
export type PublicState = CoreState & Partial<FeatureState>;

/** How a prompt was read through the latent bank (steer/bank.ts): its nearest latents, and classes. */
export interface BankNeighbour {
  /** Index of the latent in the bank. */
  id: number;
  /** Its share of the blend (0..1). */
  weight: number;
  /** Its picture's prompt score. */
  score: number;
  /** The class it was rendered with (class models). */
  class?: string;
}

export interface BankReading {
  neighbours: BankNeighbour[];
  /** The classes the prompt was read as (class models), with their share of the condition. */
  classes: { name: string; weight: number; score: number }[] | null;
}
