// Text steering: turns `prompt` commands into engine targets, measures each frame's similarity to
// the active prompt, and runs the CLIP-guided search between frames.
//
// Paths, by what the model has:
//   prior            target region = prior(combined text embedding)      (the default model)
//   condition        target condition = combined (condition dim = text dim)
//   bank             target region = blend of the latent bank's nearest latents (bank.ts), and for
//                    class models (BigGAN) target condition = the prompt read as classes
//   search           CMA-ES over z scored by the image encoder; its mean is the attractor
// The search also refines the prior/condition/bank paths when the `search` parameter is 1.
// `steer` (serve --steer) picks a path by name instead, e.g. bank on a model that has a prior.
//
// Negative-only prompts ("water:-1") on the prior path: the prior maps text to a Gaussian region
// N(m, s) in the standardised latent space whose neutral region is N(0, I). Pushing away from a
// concept reflects its mean through the centre, mean = -min(1, sum |w_i|) * m, with unit scale: as
// typical a place as m (same distance from the centre), on the opposite side. A text embedding of
// the negated direction is not used because it lies outside anything the prior was fitted on.
import path from 'node:path';
import { Gauge } from 'prom-client';
import { CommandError, type CommandOf } from '../commands.ts';
import type { Feature, FeatureHost, CommandContext, StageCommand } from '../feature.ts';
import type { FeatureState, SteeringPath } from '../state.ts';
import type { FrameMeasure } from '../frames/frame.ts';
import type { Preset } from '../preset-schema.ts';
import { hashN } from '../engine/prng.ts';
import { parsePrompt } from './prompt.ts';
import { PromptEncoder, promptScore, normalise, type EncodedPrompt } from './text.ts';
import { ClipSearch } from './search.ts';
import { RuntimeCrashError } from '../runtime/runtime.ts';
import { toEncoderInput } from '../runtime/encoder-input.ts';
import { readBank } from './bank-file.ts';
import { LatentBank, describeReading, type BankReading } from './bank.ts';

const SUPERSEDED = new Error('search superseded');

/** What `steer` may ask for: auto picks the first the model has of prior, condition, bank, search. */
export const steerChoices = ['auto', 'prior', 'condition', 'bank', 'search'] as const;
export type SteerChoice = (typeof steerChoices)[number];

export interface SteeringOptions {
  /** Receives warnings (unknown words) and search failures. */
  log?: { warn(msg: string): void; error?(msg: string): void };
  /**
   * Run the search by itself between live frames (default). Off: call `searchStep()` yourself,
   * e.g. once per `stage.produce()` for deterministic tests.
   */
  live?: boolean;
  /** Share of the frame interval the search may use after each frame (default 0.4). */
  budget?: number;
  /** Engine seconds between attractor updates (default 0.25). */
  publishEvery?: number;
  /** Which path prompts take (default auto); a path the model lacks falls back to auto with a warning. */
  steer?: SteerChoice;
}

/** What steering needs from the stage: a feature's host, and measuring each frame as it is made. */
export interface SteeringHost extends FeatureHost {
  measureFrames(measure: () => FrameMeasure): void;
}

interface Active {
  prompt: EncodedPrompt;
  /** The prompt's region on the prior path (the search starts here and keeps its scale). */
  region: { mean: Float64Array; scale: Float64Array } | null;
}

export class Steering implements Feature {
  readonly name = 'steering';
  readonly path: SteeringPath;
  active: Active | null = null;
  search: ClipSearch | null = null;
  warnings: string[] = [];
  understood: string[] = [];
  reading: BankReading | null = null;
  private lastSimilarity: number | null = null;
  private readonly gauge: Gauge;
  private readonly live: boolean;
  private readonly budget: number;
  private readonly publishEvery: number;
  private lastPublish = -Infinity;
  private prompts = 0;
  private closed = false;
  // Pacing (AIMD): the search runs a chunk every `every` frames; a frame slot skipped right after
  // a chunk doubles `every`, and every 30 frames without such a skip bring it down by one.
  private every = 1;
  private chunkRan = false;
  private lastIndex = -1;
  private clean = 0;
  private sinceChunk = 0;

  private constructor(
    readonly stage: SteeringHost,
    readonly encoder: PromptEncoder | null,
    readonly bank: LatentBank | null,
    private readonly opts: SteeringOptions,
  ) {
    const { model } = stage;
    const m = model.manifest;
    this.live = opts.live ?? true;
    this.budget = opts.budget ?? 0.4;
    this.publishEvery = opts.publishEvery ?? 0.25;
    const has: Record<Exclude<SteeringPath, 'none'>, boolean> = {
      prior: !!(m.prior && model.runtime.prior),
      condition: !!(m.generator.condition && m.text && m.generator.condition.dim === m.text.dim),
      bank: bank !== null,
      search: !!model.runtime.encodeImage,
    };
    const auto = (['prior', 'condition', 'bank', 'search'] as const).find((p) => has[p]) ?? 'none';
    const want = opts.steer ?? 'auto';
    if (encoder && want !== 'auto' && !has[want]) opts.log?.warn(`--steer ${want}: model ${m.id} has no ${want === 'bank' ? 'usable latent bank (run latentstage index)' : want === 'search' ? 'image encoder' : want}; steering by ${auto}`);
    this.path = !encoder ? 'none' : want !== 'auto' && has[want] ? want : auto;
    this.gauge = new Gauge({ name: 'latentstage_similarity', help: 'Similarity of the latest measured frame to the active prompt (NaN without one)', registers: [stage.metrics.registry] });
    this.gauge.set(NaN);
    if (model.runtime.encodeImage && m.image) stage.measureFrames(this.measure);
    stage.on('command', this.onCommand);
    stage.on('frame', this.onFrame);
  }

  /** Load the prompt encoder and build the feature; plug it in with stage.use(). */
  static async attach(stage: SteeringHost, opts: SteeringOptions = {}): Promise<Steering> {
    return new Steering(stage, await PromptEncoder.load(stage.model), await Steering.loadBank(stage, opts), opts);
  }

  /**
   * The model's latent bank, or null without one. A bank that cannot be used (missing, damaged,
   * built for another model) is logged as an error and left out: the server still starts.
   */
  private static async loadBank(stage: SteeringHost, opts: SteeringOptions): Promise<LatentBank | null> {
    const { manifest: m, dir } = stage.model;
    if (!m.bank) return null;
    try {
      const data = await readBank(path.join(dir, m.bank));
      const h = data.header;
      const why =
        h.model !== m.id
          ? `it was built for model ${h.model}`
          : h.latentDim !== m.generator.z.dim
            ? `its latents have ${h.latentDim} values, the generator takes ${m.generator.z.dim}`
            : !m.text || h.imageDim !== m.text.dim
              ? `its embeddings have ${h.imageDim} values, the text encoder's ${m.text?.dim ?? 'is missing'}`
              : h.classes && h.classes.conditionDim !== (m.generator.condition?.dim ?? 0)
                ? `its classes need a condition of ${h.classes.conditionDim} values, the generator takes ${m.generator.condition?.dim ?? 0}`
                : null;
      if (why) throw new Error(`latent bank ${path.join(dir, m.bank)} does not fit ${m.id}: ${why} (run latentstage index ${dir} again)`);
      return new LatentBank(data);
    } catch (err) {
      opts.log?.error?.(`${(err as Error).message}; steering without the bank`);
      return null;
    }
  }

  readonly commands = {
    prompt: (cmd: CommandOf<'prompt'>, ctx: CommandContext) => this.prompt(cmd, ctx),
  };

  status(): Pick<FeatureState, 'warnings' | 'understood' | 'similarity' | 'steering'> {
    const s = this.search;
    return {
      warnings: this.warnings,
      understood: this.understood,
      similarity: this.lastSimilarity,
      steering: {
        path: this.path,
        reading: this.reading,
        search: s ? { generation: s.es.generation, evaluated: s.evaluated, best: Number.isFinite(s.bestScore) ? s.bestScore : null } : null,
      },
    };
  }

  save(preset: Preset): void {
    const p = this.stage.engine.prompt;
    if (p.text) preset.prompt = { text: p.text, fade: p.fade, strength: p.strength };
  }

  load(preset: Preset): CommandOf<'prompt'>[] {
    return preset.prompt ? [{ type: 'prompt', ...preset.prompt }] : [];
  }

  private readonly onCommand = (cmd: StageCommand) => {
    if (cmd.type === 'set' && 'search' in cmd) this.restartSearch();
  };

  private readonly onFrame = (f: { info: { index: number } }) => this.pace(f.info.index);

  /** Whether the CLIP-guided search runs for the active prompt. */
  get searching(): boolean {
    if (!this.active || !this.stage.model.runtime.encodeImage) return false;
    return this.path === 'search' || this.stage.engine.params.search >= 0.5;
  }

  private async prompt(cmd: CommandOf<'prompt'>, ctx: CommandContext): Promise<void> {
    const { stage } = this;
    const parts = parsePrompt(cmd.text); // throws with a position; nothing has changed yet
    const fade = cmd.fade ?? stage.engine.params.fade;
    if (parts.length === 0) {
      ctx.apply(cmd);
      const dim = stage.engine.dim;
      const neutral = { mean: new Float64Array(dim), scale: new Float64Array(dim).fill(1) };
      const condition = stage.engine.condition ? new Float64Array(stage.engine.conditionDim) : undefined;
      ctx.apply({ type: 'target', region: neutral, condition, fade });
      this.active = null;
      this.reading = null;
      this.hold(NaN);
      this.setWarnings([]);
      this.restartSearch();
      return;
    }
    if (!this.encoder || this.path === 'none') {
      throw new CommandError(`prompt: model ${stage.model.manifest.id} has no text encoder (or nothing a prompt can steer)`);
    }
    const prompt = await this.encoder.encode(cmd.text, parts);
    const read = this.path === 'bank' ? this.bank!.target(prompt) : null;
    const region = this.path === 'prior' ? await this.priorRegion(prompt) : read ? { mean: read.mean, scale: read.scale } : null;
    ctx.apply(cmd);
    if (region) ctx.apply({ type: 'target', region, fade });
    if (this.path === 'condition') ctx.apply({ type: 'target', condition: prompt.combined, fade });
    if (read?.condition && stage.engine.condition) ctx.apply({ type: 'target', condition: read.condition, fade });
    this.active = { prompt, region };
    this.reading = read?.reading ?? null;
    this.prompts++;
    this.setWarnings(prompt.warnings, read ? [...prompt.understood, ...describeReading(read.reading, this.bank!.count)] : prompt.understood);
    this.restartSearch();
  }

  /** The prior's region for a prompt (see the header for negative-only prompts). */
  private async priorRegion(p: EncodedPrompt): Promise<{ mean: Float64Array; scale: Float64Array }> {
    const prior = this.stage.model.runtime.prior!;
    const dim = this.stage.engine.dim;
    if (p.weights.some((w) => w > 0)) {
      const r = await prior(p.combined, 1);
      return { mean: Float64Array.from(r.mean), scale: Float64Array.from(r.scale) };
    }
    const away = new Float32Array(p.combined.length);
    let total = 0;
    p.embeddings.forEach((e, i) => {
      const w = Math.abs(p.weights[i]!);
      total += w;
      e.forEach((v, j) => (away[j]! += w * v));
    });
    const r = await prior(normalise(away), 1);
    const k = Math.min(1, total);
    return { mean: Float64Array.from(r.mean, (v) => -k * v), scale: new Float64Array(dim).fill(1) };
  }

  /**
   * Measure a frame about to be made against the prompt active now: it brings its image
   * embedding while a prompt is active; the score is NaN if the prompt changed meanwhile.
   * The stage calls it for every frame on models with an image encoder.
   */
  readonly measure = (): FrameMeasure => {
    const asked = this.active;
    return {
      embed: asked !== null,
      score: (embedding) => {
        const s = embedding && asked && this.active === asked ? promptScore(embedding, asked.prompt) : NaN;
        this.hold(s);
        return s;
      },
    };
  };

  /**
   * The gauge and status hold the last measured similarity while a prompt is active: a frame that
   * was not measured (asked before the prompt changed, or in flight across a change) leaves them as
   * they are. They read NaN (null in the state) only without an active prompt.
   */
  private hold(s: number): void {
    if (!this.active) {
      this.lastSimilarity = null;
      this.gauge.set(NaN);
    } else if (Number.isFinite(s)) {
      this.lastSimilarity = s;
      this.gauge.set(s);
    }
  }

  /** Similarity of any generated image (generator output at the model's resolution) to the active prompt. */
  async judge(image: Float32Array): Promise<number> {
    const active = this.active;
    const { model } = this.stage;
    if (!active || !model.runtime.encodeImage || !model.manifest.image) return NaN;
    return promptScore(await model.runtime.encodeImage(toEncoderInput(image, 1, model.manifest), 1), active.prompt);
  }

  private setWarnings(warnings: string[], understood: string[] = []): void {
    this.warnings = warnings;
    this.understood = understood;
    for (const w of warnings) this.opts.log?.warn(w);
  }

  /** Start (or stop) the search to match the active prompt and the `search` parameter. */
  restartSearch(): void {
    this.search = null;
    if (this.closed || !this.searching || !this.active) return;
    const { stage } = this;
    const e = stage.engine;
    const start = this.active.region?.mean ?? e.region.to.mean;
    const condition = e.condition ? e.condition.to : null;
    this.search = new ClipSearch(stage.model, this.active.prompt, {
      start,
      sigma: this.active.region ? 0.5 : 0.7,
      seed: hashN(e.seed, this.prompts, e.frame),
      condition,
    });
    this.lastPublish = -Infinity;
    if (this.live) void this.loop(this.search);
  }

  /** One search generation, then the attractor update (for callers that drive the stage). */
  async searchStep(): Promise<void> {
    const s = this.search;
    if (!s) return;
    await s.generation();
    if (this.search === s) await this.publish(s);
  }

  /**
   * Move the walk's region to the search mean (the attractor), gliding in within the fade,
   * through the command queue like every other change to the walk.
   */
  private async publish(s: ClipSearch): Promise<void> {
    const { stage } = this;
    const e = stage.engine;
    if (e.time - this.lastPublish < this.publishEvery) return;
    this.lastPublish = e.time;
    const remaining = e.prompt.at + e.prompt.fade - e.time;
    const scale = this.active?.region?.scale ?? new Float64Array(e.dim).fill(1);
    await stage.enqueue({ type: 'target', region: { mean: Float64Array.from(s.mean), scale }, fade: Math.max(0.5, remaining) }, 'steering');
  }

  private async loop(s: ClipSearch): Promise<void> {
    try {
      while (this.search === s && !this.closed) {
        await s.generation((remaining) => this.slot(s, remaining));
        if (this.search !== s || this.closed) break;
        void this.publish(s).catch((err: Error) => this.opts.log?.error?.(`search target rejected: ${err.message}`));
      }
    } catch (err) {
      if (err !== SUPERSEDED) this.opts.log?.error?.(`search stopped: ${(err as Error).message}`);
      if (this.search === s) {
        this.search = null;
        // the runtime worker crashed under it: start over once the fresh worker is up
        if (err instanceof RuntimeCrashError) this.restartSearch();
      }
    }
  }

  private pace(index: number): void {
    const gap = this.lastIndex >= 0 ? index - this.lastIndex : 1;
    this.lastIndex = index;
    this.sinceChunk++;
    const blame = this.chunkRan;
    this.chunkRan = false;
    if (gap > 1 && blame) {
      this.every = Math.min(32, this.every * 2);
      this.clean = 0;
    } else if (++this.clean >= 30) {
      this.every = Math.max(1, this.every - 1);
      this.clean = 0;
    }
  }

  /**
   * Wait for a frame (every `every` frames), then allow as many candidates as fit in the budget:
   * `budget` of a frame interval, and never past the next frame's start. When not even one fits,
   * wait for the next frame (at most 8 frames: a machine too slow for any room still searches).
   */
  private slot(s: ClipSearch, remaining: number): Promise<number> {
    return new Promise((resolve, reject) => {
      let waited = 0;
      const onFrame = () => {
        if (this.sinceChunk < this.every && this.search === s && !this.closed) return void this.stage.once('frame', onFrame);
        setImmediate(() => {
          if (this.search !== s || this.closed) return reject(SUPERSEDED);
          const fps = this.stage.targetFps || Math.max(1, this.stage.fps);
          const left = this.stage.msToNextFrame();
          const budgetMs = Math.min((this.budget * 1000) / fps, left === null ? Infinity : left - 1);
          const per = s.msPerCandidate;
          if (per > 0 && budgetMs < per && waited++ < 8) return void this.stage.once('frame', onFrame);
          this.sinceChunk = 0;
          this.chunkRan = true;
          resolve(per > 0 ? Math.max(1, Math.min(remaining, Math.floor(budgetMs / per))) : 1);
        });
      };
      this.stage.once('frame', onFrame);
    });
  }

  close(): void {
    this.closed = true;
    this.search = null;
    this.stage.off('command', this.onCommand);
    this.stage.off('frame', this.onFrame);
  }
}
