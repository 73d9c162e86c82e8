// The live stage: engine state, the command queue, and the frame loop that turns latents into
// frames. Surfaces (HTTP, WebSocket, OSC, recorder) talk to it and nothing else.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createEngine, applyCommand, step, type EngineState, type EngineCommand } from './engine/engine.ts';
import { parseCommand, CommandError, type Command, type CommandType } from './commands.ts';
import { Frame, toRgb } from './frames/frame.ts';
import { nextTick } from './loop.ts';
import { PresetStore, presetCommands, type Preset } from './presets.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { Model } from './model/load.ts';
import type { Params } from './params.ts';

export interface StageOptions {
  model: Model;
  /** Target frames per second; 0 lifts the cap (as fast as generation allows). */
  fps?: number;
  seed?: number;
  presets: PresetStore;
  params?: Partial<Params>;
}

export interface PublicState {
  model: { id: string; name: string; width: number; height: number };
  device: string;
  frame: number;
  time: number;
  fps: number;
  targetFps: number;
  seed: number;
  params: Params;
  prompt: { text: string; fade: number; strength: number };
  keys: (number | number[])[];
  viewers: number;
  [extra: string]: unknown;
}

type Handler = (cmd: Command, surface: string) => Promise<void> | void;

export interface StageEvents {
  frame: [Frame];
  state: [PublicState];
  command: [Command, string];
  /** A frame failed to generate; the loop retries shortly. */
  failure: [Error];
}

export class Stage extends EventEmitter<StageEvents> {
  readonly model: Model;
  readonly presets: PresetStore;
  readonly metrics: Metrics;
  readonly targetFps: number;
  engine: EngineState;
  latest: Frame | null = null;
  /** Extra state that adapters publish (recording, OSC, steering...). */
  readonly extras: Record<string, unknown> = {};
  /** Measures a generated image's similarity to the active prompt (set by steering), or null. */
  similarity: ((image: Float32Array) => Promise<number>) | null = null;
  private handlers = new Map<string, Handler>();
  private queue: Promise<unknown> = Promise.resolve();
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private t0 = 0;
  private measured = 0;
  private fpsWindow: number[] = [];
  private viewerCounts = new Map<string, number>();
  private loopDone: Promise<void> = Promise.resolve();
  private lastElapsed = 0;

  constructor(opts: StageOptions) {
    super();
    this.setMaxListeners(0);
    this.model = opts.model;
    this.presets = opts.presets;
    this.targetFps = opts.fps ?? 60;
    const m = this.model.manifest;
    this.engine = createEngine({ dim: m.generator.z.dim, conditionDim: m.generator.condition?.dim, seed: opts.seed ?? 1, params: opts.params });
    this.metrics = createMetrics();
    this.metrics.targetFps.set(this.targetFps);
    this.handle('preset.load', async (cmd) => {
      const preset = await this.presets.load((cmd as { name: string }).name);
      for (const c of presetCommands(preset)) await this.run(c, 'preset');
    });
    this.handle('preset.save', async (cmd) => {
      await this.presets.save((cmd as { name: string }).name, this.toPreset());
    });
  }

  /** Register the handler for a command type that is not (only) an engine command. */
  handle(type: CommandType | string, handler: Handler): void {
    this.handlers.set(type, handler);
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

  /** Apply an already-validated command (presets and handlers use this). */
  async run(cmd: Command, surface: string): Promise<void> {
    const handler = this.handlers.get(cmd.type);
    if (handler) await handler(cmd, surface);
    else this.apply(cmd);
    this.metrics.commands.inc({ surface, type: cmd.type });
    this.emit('command', cmd, surface);
    this.emit('state', this.state());
  }

  /** Apply a command to the engine state synchronously (the next frame reflects it). */
  apply(cmd: EngineCommand): void {
    try {
      this.engine = applyCommand(this.engine, cmd);
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
      keys: e.keys,
      viewers: this.viewers,
      ...this.extras,
    };
  }

  toPreset(): Preset {
    const e = this.engine;
    const preset: Preset = { seed: e.seed, params: { ...e.params } };
    if (e.prompt.text) preset.prompt = { text: e.prompt.text, fade: e.prompt.fade, strength: e.prompt.strength };
    if (e.params.mode === 'keyframes') preset.keyframes = { keys: e.keys, hold: e.params.hold, transition: e.params.transition, ease: e.params.ease };
    return preset;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.t0 = performance.now();
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.loopDone;
    await this.queue.catch(() => {});
  }

  private schedule(delay: number): void {
    if (!this.running) return;
    this.timer = delay > 0 ? setTimeout(() => this.tick(), delay) : (setImmediate(() => this.tick()) as unknown as NodeJS.Timeout);
  }

  private tick(): void {
    if (!this.running) return;
    let frames = 1;
    let dt: number;
    const elapsed = performance.now() - this.t0;
    if (this.targetFps > 0) {
      const t = nextTick(elapsed, this.targetFps, this.engine.frame);
      if ('wait' in t) return this.schedule(Math.max(1, t.wait));
      frames = t.frames;
      dt = t.dt;
    } else {
      dt = Math.max(0, (elapsed - this.lastElapsed) / 1000);
    }
    this.lastElapsed = elapsed;
    if (frames > 1) this.metrics.skipped.inc(frames - 1);
    this.loopDone = this.produce(dt, frames).then(
      () => this.schedule(0),
      (err) => {
        this.emit('failure', err as Error);
        this.schedule(100);
      },
    );
  }

  /** Produce one frame: engine step -> generator -> 8-bit RGB, then publish it. */
  async produce(dt: number, frames = 1): Promise<Frame> {
    const started = performance.now();
    // Commit the step before generating: commands arriving meanwhile apply to the stepped state
    // and show from the next frame on.
    const { state, z, condition } = step(this.engine, dt, frames);
    this.engine = state;
    const m = this.model.manifest;
    const out = await this.model.runtime.generate(z, 1, condition, { live: true });
    const similarity = this.similarity ? await this.similarity(out).catch(() => NaN) : NaN;
    const { width, height } = m.resolution;
    const rgb = toRgb(out, width, height, m.generator.output.range);
    const now = performance.now();
    const frame = new Frame({ index: state.frame, time: state.time, readyAt: now, similarity }, rgb, width, height, { z, condition, dt, frames, state });
    this.latest = frame;
    this.metrics.frames.inc();
    this.metrics.frameTime.observe((now - started) / 1000);
    this.measure(now);
    this.emit('frame', frame);
    return frame;
  }

  private measure(now: number): void {
    this.fpsWindow.push(now);
    while (this.fpsWindow.length && this.fpsWindow[0] < now - 1000) this.fpsWindow.shift();
    this.measured = this.fpsWindow.length;
    this.metrics.fps.set(this.measured);
  }
}

