// The live stage: engine state, the one command queue, the features plugged in through the
// contract in feature.ts, and the frame loop that turns latents into frames. Surfaces (HTTP,
// WebSocket, OSC) talk to it and nothing else.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createEngine, applyCommand, step, isEngineCommand, type EngineState, type EngineCommand, type StepResult } from './engine/engine.ts';
import { parseCommand, CommandError, commandTypes, type Command, type CommandType } from './commands.ts';
import { Frame, type FrameMeasure } from './frames/frame.ts';
import { runFrame } from './runtime/frame.ts';
import { nextTick } from './loop.ts';
import type { PresetStore } from './presets.ts';
import type { Preset } from './preset-schema.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { isCommand, type Feature, type FeatureHost, type CommandContext, type CommandHandlers, type StageCommand, type StageEvents } from './feature.ts';
import type { CoreState, PublicState } from './state.ts';
import type { Model } from './model/load.ts';
import type { Params } from './params.ts';
import { summarizeKeys, type KeySummary } from './key-summary.ts';
import { Faults } from './faults.ts';

/** Waits before retrying after consecutive frame failures (ms); the last repeats. */
const FAILURE_BACKOFF = [100, 250, 500, 1000, 2000];
/** Consecutive failures before the frames fault is raised (a crash fails the one or two frames in flight). */
const FAILURES_TO_REPORT = 3;
/** A NaN fault clears once this long passed without a NaN frame (ms). */
const NAN_QUIET_MS = 5000;

export interface StageOptions {
  model: Model;
  /** Target frames per second; 0 lifts the cap (as fast as generation allows). */
  fps?: number;
  seed?: number;
  presets: PresetStore;
  params?: Partial<Params>;
}

export type { CoreState, PublicState } from './state.ts';
export type { StageEvents } from './feature.ts';

type Handler = (cmd: Command, ctx: CommandContext) => Promise<void> | void;

export class Stage extends EventEmitter<StageEvents> implements FeatureHost {
  readonly model: Model;
  readonly presets: PresetStore;
  readonly metrics: Metrics;
  readonly faults: Faults;
  readonly targetFps: number;
  /** The walk's state. Read-only from outside: changes go through dispatch/enqueue. */
  get engine(): EngineState {
    return this.walk;
  }
  private walk: EngineState;
  latest: Frame | null = null;
  private readonly features: Feature[] = [];
  private readonly quiet = new Set<CommandType>();
  private handlers = new Map<CommandType, { feature: Feature; run: Handler }>();
  /** Who publishes each key of the public state (the stage's own keys, then each feature's). */
  private stateKeys = new Map<string, string>();
  /** The one measurer of frames as they are made (steering's similarity), if any. */
  private measurer: (() => FrameMeasure) | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private running = false;
  /** The one pending wake-up of the frame loop (a timer, or an immediate when due now). */
  private timer: { now: boolean; cancel(): void } | null = null;
  private t0 = 0;
  private measured = 0;
  private fpsWindow: number[] = [];
  private viewerCounts = new Map<string, number>();
  /** Frames between their engine step and their publication (the loop's, for stop() to join). */
  private making = new Set<Promise<void>>();
  private lastElapsed = 0;
  /** A slot came while the runtime was full (the cause of the skip that follows, if any). */
  private runtimeBehind = false;
  /** Settles once the frame stepped last has published (or failed): the next one's turn. */
  private published: Promise<void> = Promise.resolve();
  /** Frames failed in a row (reset by a good one), and when the last NaN frame was replaced. */
  private failures = 0;
  private lastNonFinite = -Infinity;

  constructor(opts: StageOptions) {
    super();
    this.setMaxListeners(0);
    this.model = opts.model;
    this.presets = opts.presets;
    this.targetFps = opts.fps ?? 60;
    const m = this.model.manifest;
    this.walk = createEngine({ dim: m.generator.z.dim, conditionDim: m.generator.condition?.dim, seed: opts.seed ?? 1, params: opts.params });
    this.metrics = createMetrics();
    this.metrics.targetFps.set(this.targetFps);
    this.faults = new Faults(this.metrics.registry);
    this.faults.onChange = () => this.publish();
    for (const key of Object.keys(this.coreState())) this.stateKeys.set(key, 'the stage');
  }

  /** Plug a feature in (see feature.ts). Returns it, for `const x = stage.use(new X(stage))`. */
  use<F extends Feature>(feature: F): F {
    const commands = feature.commands ?? {};
    for (const type of commandTypes) {
      const owner = this.handlers.get(type);
      if (commands[type] && owner) throw new Error(`${feature.name}: command ${type} is already handled by ${owner.feature.name}`);
    }
    const keys = Object.keys(feature.status?.() ?? {});
    for (const key of keys) {
      const owner = this.stateKeys.get(key);
      if (owner) throw new Error(`${feature.name}: state key ${key} is already published by ${owner}`);
    }
    for (const key of keys) this.stateKeys.set(key, feature.name);
    for (const type of commandTypes) this.register(type, feature, commands);
    for (const type of feature.quiet ?? []) this.quiet.add(type);
    this.features.push(feature);
    return feature;
  }

  private register<K extends CommandType>(type: K, feature: Feature, commands: CommandHandlers): void {
    const fn = commands[type];
    if (fn) this.handlers.set(type, { feature, run: (cmd, ctx) => (isCommand(cmd, type) ? fn(cmd, ctx) : undefined) });
  }

  /**
   * Measure every frame as it is made (steering: ask for the image embedding, score it against the
   * active prompt). Called once per frame before it is made; frames in flight each get their own.
   * One measurer per stage.
   */
  measureFrames(measure: () => FrameMeasure): void {
    if (this.measurer) throw new Error('frames are already measured on this stage');
    this.measurer = measure;
  }

  /** Announce a status change that happened outside a command (a failed stream, a new subscriber). */
  publish(): void {
    this.emit('state', this.state());
  }

  /**
   * Validate and apply a command from any surface. Commands are applied one at a time in arrival
   * order; a rejected command changes nothing. Resolves to the new state.
   */
  dispatch(input: unknown, surface: string): Promise<PublicState> {
    let cmd: Command;
    try {
      cmd = parseCommand(input);
    } catch (err) {
      this.metrics.errors.inc({ surface });
      return Promise.reject(err);
    }
    return this.enqueue(cmd, surface);
  }

  /**
   * Queue an already-valid command (a feature's own, e.g. a steering target). It applies in order
   * with everything else, and is counted, announced and published like any surface command.
   */
  enqueue(cmd: StageCommand, surface: string): Promise<PublicState> {
    const done = this.queue.then(() => this.run(cmd, surface));
    this.queue = done.catch(() => {});
    return done.then(
      () => this.state(),
      (err) => {
        this.metrics.errors.inc({ surface });
        throw err instanceof CommandError ? err : new CommandError((err as Error).message, 500);
      },
    );
  }

  /** Resolves when every command queued so far has been applied (or rejected). */
  idle(): Promise<void> {
    return this.queue.then(() => {});
  }

  /** Apply one command; runs inside the queue (or inside another command, for presets). */
  private async run(cmd: StageCommand, surface: string): Promise<void> {
    const handler = cmd.type === 'target' ? undefined : this.handlers.get(cmd.type);
    if (handler && cmd.type !== 'target') await handler.run(cmd, this.context(surface));
    else if (isEngineCommand(cmd)) this.apply(cmd);
    else throw new CommandError(`${cmd.type}: not available here (nothing on this stage handles it)`);
    this.metrics.commands.inc({ surface, type: cmd.type });
    this.emit('command', cmd, surface);
    if (!this.quiet.has(cmd.type as CommandType)) this.emit('state', this.state());
  }

  private context(surface: string): CommandContext {
    return {
      surface,
      apply: (cmd) => this.apply(cmd),
      run: (cmd, from = surface) => this.run(cmd, from),
    };
  }

  /** Apply a command to the engine state synchronously (the next frame reflects it). */
  private apply(cmd: EngineCommand): void {
    try {
      this.walk = applyCommand(this.walk, cmd);
    } catch (err) {
      throw new CommandError((err as Error).message);
    }
  }

  setViewers(surface: string, count: number): void {
    this.viewerCounts.set(surface, count);
    this.metrics.viewers.set({ surface }, count);
  }

  get viewers(): number {
    let n = 0;
    for (const v of this.viewerCounts.values()) n += v;
    return n;
  }

  get fps(): number {
    return this.measured;
  }

  state(): PublicState {
    const state: PublicState = this.coreState();
    for (const f of this.features) if (f.status) Object.assign(state, f.status());
    return state;
  }

  private coreState(): CoreState {
    const e = this.engine;
    const m = this.model.manifest;
    return {
      model: { id: m.id, name: m.name, width: m.resolution.width, height: m.resolution.height },
      device: this.model.runtime.device,
      frame: e.frame,
      time: e.time,
      fps: this.measured,
      targetFps: this.targetFps,
      seed: e.seed,
      params: { ...e.params },
      prompt: { text: e.prompt.text, fade: e.prompt.fade, strength: e.prompt.strength },
      keyframes: summarizeKeys(e.keys),
      viewers: this.viewers,
      faults: this.faults.list(),
    };
  }

  /** The whole performance as a preset: the walk, then each feature's part. */
  toPreset(): Preset {
    const e = this.engine;
    const preset: Preset = { seed: e.seed, params: { ...e.params } };
    if (e.params.mode === 'keyframes') preset.keyframes = { keys: e.keys, hold: e.params.hold, transition: e.params.transition, ease: e.params.ease };
    for (const f of this.features) f.save?.(preset);
    return preset;
  }

  /** The commands a preset stands for, in the order they apply: the walk, then each feature's. */
  presetCommands(p: Preset): Command[] {
    const out: Command[] = [];
    if (p.seed !== undefined) out.push({ type: 'seed', seed: p.seed });
    if (p.params && Object.keys(p.params).length) out.push({ type: 'set', ...p.params });
    if (p.keyframes) out.push({ type: 'keyframes', ...p.keyframes });
    for (const f of this.features) if (f.load) out.push(...f.load(p));
    return out;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.t0 = performance.now();
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    this.timer = null;
    await Promise.all(this.making);
    await this.queue.catch(() => {});
  }

  /** Close every feature, newest first (each one's failure is reported, never stops the rest). */
  async closeFeatures(onError: (feature: string, err: Error) => void = () => {}): Promise<void> {
    for (const f of [...this.features].reverse()) {
      try {
        await f.close?.();
      } catch (err) {
        onError(f.name, err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /**
   * Step the engine by dt (covering `frames` slots) and run each feature's per-frame work. The
   * frame loop calls it before generating; the offline renderer calls it once per output frame.
   */
  advance(dt: number, frames = 1): StepResult {
    const r = step(this.walk, dt, frames);
    this.walk = r.state;
    const clock = { index: r.state.frame, time: r.state.time };
    for (const f of this.features) f.frame?.(clock);
    return r;
  }

  /**
   * Milliseconds until the frame loop's next step is due: the room for work that must not delay
   * it (the search's next chunk); 0 when it is due now, null when uncapped or not running.
   */
  msToNextFrame(): number | null {
    if (!this.running || this.targetFps <= 0) return null;
    return Math.max(0, ((this.engine.frame + 1) * 1000) / this.targetFps - (performance.now() - this.t0));
  }

  private schedule(delay: number): void {
    if (!this.running) return;
    // One wake-up at a time. A tick due now already covers any later wake-up (it works out the
    // wait itself); otherwise the newer request replaces the pending timer.
    if (this.timer?.now) return;
    this.timer?.cancel();
    const run = () => {
      this.timer = null;
      this.tick();
    };
    if (delay > 0) {
      const t = setTimeout(run, delay);
      this.timer = { now: false, cancel: () => clearTimeout(t) };
    } else {
      const i = setImmediate(run);
      this.timer = { now: true, cancel: () => clearImmediate(i) };
    }
  }

  private tick(): void {
    if (!this.running) return;
    if (this.failures > 0 && this.making.size > 0) return; // the frame being retried wakes the loop
    let frames = 1;
    let dt: number;
    const elapsed = performance.now() - this.t0;
    if (this.targetFps > 0) {
      const t = nextTick(elapsed, this.targetFps, this.engine.frame);
      // whole milliseconds, rounded up: a timer that fires early costs a second round trip
      if ('wait' in t) return this.schedule(Math.max(1, Math.ceil(t.wait)));
      // due, but the runtime already holds a frame running and one waiting: the next to finish
      // wakes the loop, and slots that passed meanwhile are skipped then
      if (this.making.size >= this.lanesInFlight()) {
        this.runtimeBehind = true;
        return;
      }
      frames = t.frames;
      dt = t.dt;
    } else {
      // uncapped and full: the next frame to finish wakes the loop
      if (this.making.size >= this.lanesInFlight()) return;
      dt = Math.max(0, (elapsed - this.lastElapsed) / 1000);
    }
    this.lastElapsed = elapsed;
    if (frames > 1) this.metrics.skipped.inc({ cause: this.runtimeBehind ? 'runtime' : 'loop' }, frames - 1);
    this.runtimeBehind = false;
    const done = this.produce(dt, frames).then(
      () => this.schedule(0),
      (err) => {
        // first: a throwing 'failure' listener must not stop the loop
        this.schedule(FAILURE_BACKOFF[Math.min(this.failures, FAILURE_BACKOFF.length - 1)]);
        this.failed(err as Error);
      },
    );
    this.making.add(done);
    void done.finally(() => this.making.delete(done));
    // Up to two frames per runtime lane are in the making, so no lane waits for the event loop
    // between frames (they still publish in order: see produce). Uncapped, the next one starts now.
    // Capped, the next slot's frame starts on time even while this one runs long (a stalled core,
    // a pause of the event loop): it waits in the runtime, not behind this frame's round trip.
    // A finished frame leaves the set before its scheduled tick runs (a microtask before setImmediate).
    // (while frames fail, one at a time: each failure waits out its backoff)
    if (this.making.size < this.lanesInFlight() && this.failures === 0) this.schedule(0);
  }

  /**
   * A frame failed: retry with backoff (100 ms growing to 2 s, never a tight loop) while viewers,
   * the MJPEG stream and recordings keep the last good frame, and say so after a few in a row.
   */
  private failed(err: Error): void {
    this.failures++;
    this.metrics.frameFailures.inc();
    if (this.failures >= FAILURES_TO_REPORT) {
      const wait = FAILURE_BACKOFF[Math.min(this.failures - 1, FAILURE_BACKOFF.length - 1)] / 1000;
      this.faults.raise('frames', `frames are failing (${err.message.split('\n')[0].slice(0, 200)}): holding the last frame, retrying every ${wait} s`);
    }
    this.emit('failure', err);
  }

  /** A frame came out well: failures are over; a NaN fault ends after a quiet while. */
  private succeeded(now: number): void {
    this.failures = 0;
    if (this.faults.has('frames') && now - this.lastNonFinite > NAN_QUIET_MS) {
      this.faults.clear('frames');
    }
  }

  /** Frames in the making at once: two per runtime lane. */
  private lanesInFlight(): number {
    return 2 * (this.model.runtime.lanes ?? 1);
  }

  /** Produce one frame: engine step -> generator -> 8-bit RGB, then publish it. */
  async produce(dt: number, frames = 1): Promise<Frame> {
    const started = performance.now();
    // Commit the step before generating: commands arriving meanwhile apply to the stepped state
    // and show from the next frame on.
    const { state, z, condition } = this.advance(dt, frames);
    const { width, height } = this.model.manifest.resolution;
    const measure = this.measurer?.();
    // frames publish in the order they were stepped, whichever lane finishes first
    const turn = this.published;
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    this.published = turn.then(() => mine);
    try {
      const made = await runFrame(this.model.runtime, z, condition, measure?.embed ?? false);
      await turn;
      if (made.finite === false) {
        // never shown: viewers, the MJPEG stream and recordings keep the last good frame
        this.lastNonFinite = performance.now();
        this.failures = 0;
        this.metrics.nonFinite.inc();
        this.faults.raise('frames', "the model's output is NaN or infinite: such frames are replaced by the last good frame (count says how many)");
        return this.latest ?? new Frame({ index: state.frame, time: state.time, readyAt: performance.now(), similarity: NaN }, Buffer.alloc(width * height * 3), width, height);
      }
      const similarity = measure ? measure.score(made.embedding) : NaN;
      const now = performance.now();
      const frame = new Frame({ index: state.frame, time: state.time, readyAt: now, similarity }, made.rgb, width, height, { z, condition, dt, frames, state });
      this.latest = frame;
      this.metrics.frames.inc();
      this.metrics.frameTime.observe((now - started) / 1000);
      this.measure(now);
      this.succeeded(now);
      this.emit('frame', frame);
      return frame;
    } finally {
      done();
    }
  }

  private measure(now: number): void {
    this.fpsWindow.push(now);
    while (this.fpsWindow.length && this.fpsWindow[0] < now - 1000) this.fpsWindow.shift();
    this.measured = this.fpsWindow.length;
    this.metrics.fps.set(this.measured);
  }
}

