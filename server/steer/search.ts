// CLIP-guided search: CMA-ES over the generator's latent z, scoring batches of candidates with the
// image encoder against the prompt's text embeddings (like the BigGAN+CLIP+CMA-ES notebooks).
//
//   cost(z) = -sum_i w_i cos(image(z), e_i) / sum_i |w_i|  +  penalty * (|z| / sqrt(d) - 1)^2
//
// The penalty keeps z at the typical radius of N(0, I), where the generator was trained.
// Evaluation is split into chunks; `pace` decides when each chunk may run and how large it is, so
// the live frame loop can interleave them with frames.
import { performance } from 'node:perf_hooks';
import { CmaEs } from './cmaes.ts';
import { eigenOffThread } from './eigen.ts';
import { toEncoderInput } from '../runtime/encoder-input.ts';
import { promptScore, type EncodedPrompt } from './text.ts';
import type { Model } from '../model/load.ts';
import { generatorResolution } from '../model/manifest.ts';

export interface SearchOptions {
  /** Where the search starts (a latent of the generator's z dimension). */
  start: ArrayLike<number>;
  sigma?: number;
  lambda?: number;
  seed?: number;
  penalty?: number;
  /** Fixed condition vector for conditioned generators. */
  condition?: ArrayLike<number> | null;
}

/** Waits until the next chunk may run; resolves to how many candidates it may evaluate. */
export type Pace = (remaining: number) => Promise<number>;

export class ClipSearch {
  readonly es: CmaEs;
  readonly penalty: number;
  /** Score (prompt similarity, no penalty) of the best candidate so far. */
  bestScore = -Infinity;
  evaluated = 0;
  /** Measured milliseconds per candidate (running average), for pacing. */
  msPerCandidate = 0;
  private readonly dim: number;
  private readonly condition: Float32Array | null;

  constructor(
    private readonly model: Model,
    readonly prompt: EncodedPrompt,
    opts: SearchOptions,
  ) {
    const m = model.manifest;
    if (!m.image || !model.runtime.encodeImage) throw new Error(`model ${m.id} has no image encoder: CLIP-guided search needs one`);
    this.dim = m.generator.z.dim;
    if (opts.start.length !== this.dim) throw new RangeError(`search start must have ${this.dim} values`);
    this.es = new CmaEs({ mean: opts.start, sigma: opts.sigma ?? 0.7, lambda: opts.lambda, seed: opts.seed });
    this.penalty = opts.penalty ?? 0.5;
    const cd = m.generator.condition?.dim ?? 0;
    this.condition = cd > 0 ? Float32Array.from(opts.condition ?? new Float32Array(cd)) : null;
  }

  get mean(): Float64Array {
    return this.es.mean;
  }

  /** Prompt score of each latent (batched generator + image encoder calls). */
  async scores(zs: ArrayLike<number>[]): Promise<number[]> {
    const t0 = performance.now();
    const n = zs.length;
    const z = new Float32Array(n * this.dim);
    zs.forEach((v, i) => z.set(v, i * this.dim));
    let cond: Float32Array | null = null;
    if (this.condition) {
      cond = new Float32Array(n * this.condition.length);
      for (let i = 0; i < n; i++) cond.set(this.condition, i * this.condition.length);
    }
    // candidates are judged at the image encoder's size: the refiner would only be averaged away
    const m = this.model.manifest;
    const rt = this.model.runtime;
    // a runtime that can embed a batch itself (the torch runtime) keeps the pictures on its device
    const emb = rt.embedLatents
      ? await rt.embedLatents(z, n, cond)
      : await rt.encodeImage!(toEncoderInput(await rt.generate(z, n, cond, { refine: false }), n, m, generatorResolution(m)), n);
    const dim = this.model.manifest.image!.dim;
    const out = Array.from({ length: n }, (_, i) => promptScore(emb.subarray(i * dim, (i + 1) * dim), this.prompt));
    const ms = (performance.now() - t0) / n;
    this.msPerCandidate = this.msPerCandidate ? 0.8 * this.msPerCandidate + 0.2 * ms : ms;
    this.evaluated += n;
    return out;
  }

  cost(z: ArrayLike<number>, score: number): number {
    let s = 0;
    for (let i = 0; i < z.length; i++) s += z[i]! * z[i]!;
    return -score + this.penalty * (Math.sqrt(s / this.dim) - 1) ** 2;
  }

  /** One CMA-ES generation: ask, evaluate (in paced chunks), tell. */
  async generation(pace?: Pace): Promise<void> {
    // candidates are drawn chunk by chunk (the same ones ask() would give), so the event loop
    // never does a whole generation's sampling at once
    const lambda = this.es.lambda;
    const xs: Float64Array[] = [];
    const costs: number[] = [];
    for (let i = 0; i < lambda; ) {
      const take = pace ? Math.max(1, Math.min(lambda - i, await pace(lambda - i))) : lambda;
      const chunk = Array.from({ length: take }, () => this.es.sample());
      xs.push(...chunk);
      const scores = await this.scores(chunk);
      chunk.forEach((x, k) => {
        costs.push(this.cost(x, scores[k]!));
        if (scores[k]! > this.bestScore) this.bestScore = scores[k]!;
      });
      i += take;
    }
    // the O(n^3) eigendecomposition, when due, runs in a worker thread; same result as tell()
    const due = this.es.tellDeferred(xs, costs);
    if (due) this.es.applyEigen(await eigenOffThread(this.es.n, due));
  }
}
