// Steering through a latent bank (see bank-file.ts for what it holds and README "Latent bank"):
// a prompt becomes the softmax-weighted blend of the bank latents whose pictures match it best.
//
//   score_i   = sum_j w_j cos(image_i, text_j) / sum_j |w_j|     (promptScore: the live similarity)
//   top k     by score; a_i = softmax(score_i / temperature) over them
//   mean      = sum a_i latent_i; in z it is rescaled to sum a_i |latent_i| (an average of Gaussian
//               vectors is shorter than any of them: the picture would fade toward the mean image);
//               in W (a linear map of the walk vector) blends are meaningful and are kept as they are
//   scale     = per dimension, the weighted spread of the k latents around the blend, within
//               [MIN_SCALE, 1]: the walk (truncation) wanders where the neighbours disagree
//
// Negative parts lower the score of pictures like them, so "fire:-1" picks pictures least like fire.
// Models with classes (BigGAN) also read the prompt as classes: the same score against the text
// embeddings of "a photo of a {name}" (zero-shot, as in CLIP's paper), top CLASS_K softmax-weighted
// with CLASS_TEMPERATURE, as the condition vector.
import { promptScore, type EncodedPrompt } from './text.ts';
import type { BankData } from './bank-file.ts';
import type { BankReading } from '../state.ts';

export type { BankNeighbour, BankReading } from '../state.ts';

export const BANK_K = 8;
export const BANK_TEMPERATURE = 0.02;
export const MIN_SCALE = 0.25;
export const CLASS_K = 5;
export const CLASS_TEMPERATURE = 0.01;



export interface BankTarget {
  mean: Float64Array;
  scale: Float64Array;
  /** The condition vector (class models), else null. */
  condition: Float32Array | null;
  reading: BankReading;
}

type Prompt = Pick<EncodedPrompt, 'embeddings' | 'weights'>;

/** Indices of the k largest scores, best first, and their softmax weights at `temperature`. */
export function topSoftmax(scores: ArrayLike<number>, k: number, temperature: number): { ids: number[]; weights: number[] } {
  const ids = Array.from({ length: scores.length }, (_, i) => i)
    .sort((a, b) => scores[b]! - scores[a]! || a - b)
    .slice(0, Math.max(1, k));
  const top = scores[ids[0]!]!;
  const e = ids.map((i) => Math.exp((scores[i]! - top) / temperature));
  const sum = e.reduce((a, b) => a + b, 0);
  return { ids, weights: e.map((v) => v / sum) };
}

export class LatentBank {
  constructor(
    readonly data: BankData,
    readonly k = BANK_K,
    readonly temperature = BANK_TEMPERATURE,
  ) {}

  get count(): number {
    return this.data.header.count;
  }

  /** Score of every bank picture for the prompt. */
  scores(p: Prompt): Float32Array {
    const { embeddings, header } = this.data;
    const d = header.imageDim;
    const out = new Float32Array(header.count);
    for (let i = 0; i < header.count; i++) out[i] = promptScore(embeddings.subarray(i * d, (i + 1) * d), p);
    return out;
  }

  /** The prompt's target: blended latent, walk scale, condition and how it was read. */
  target(p: Prompt): BankTarget {
    const { latents, header, classIds } = this.data;
    const n = header.latentDim;
    const scores = this.scores(p);
    const { ids, weights } = topSoftmax(scores, this.k, this.temperature);
    const names = header.classes?.names;
    const blend = new Float64Array(n);
    let norm = 0;
    ids.forEach((id, j) => {
      let sq = 0;
      for (let i = 0; i < n; i++) {
        const v = latents[id * n + i]!;
        blend[i]! += weights[j]! * v;
        sq += v * v;
      }
      norm += weights[j]! * Math.sqrt(sq);
    });
    const scale = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      ids.forEach((id, j) => (s += weights[j]! * (latents[id * n + i]! - blend[i]!) ** 2));
      scale[i] = Math.min(1, Math.max(MIN_SCALE, Math.sqrt(s)));
    }
    const mean = Float64Array.from(blend);
    if (header.space === 'z') {
      const len = Math.hypot(...mean);
      if (len > 0) for (let i = 0; i < n; i++) mean[i]! *= norm / len;
    }
    const neighbours = ids.map((id, j) => ({ id, weight: weights[j]!, score: scores[id]!, ...(names && classIds ? { class: names[classIds[id]!]! } : {}) }));
    const classes = this.classes(p);
    let condition: Float32Array | null = null;
    if (classes && header.classes) {
      condition = new Float32Array(header.classes.conditionDim);
      for (const c of classes) condition[c.id] = c.weight;
    }
    return { mean, scale, condition, reading: { neighbours, classes: classes?.map(({ name, weight, score }) => ({ name, weight, score })) ?? null } };
  }

  /** The prompt read as classes (zero-shot on the class names), or null for models without classes. */
  classes(p: Prompt): { id: number; name: string; weight: number; score: number }[] | null {
    const { header, classEmbeddings } = this.data;
    if (!header.classes || !classEmbeddings) return null;
    const d = header.imageDim;
    const count = header.classes.names.length;
    const s = new Float32Array(count);
    for (let c = 0; c < count; c++) s[c] = promptScore(classEmbeddings.subarray(c * d, (c + 1) * d), p);
    const { ids, weights } = topSoftmax(s, CLASS_K, CLASS_TEMPERATURE);
    return ids.map((id, j) => ({ id, name: header.classes!.names[id]!, weight: weights[j]!, score: s[id]! }));
  }
}

/** One line for `understood`: how the prompt was read through the bank. */
export function describeReading(r: BankReading, count: number): string[] {
  const pct = (w: number) => `${Math.round(w * 100)}%`;
  const lines: string[] = [];
  if (r.classes) lines.push(`classes: ${r.classes.filter((c) => c.weight >= 0.01).map((c) => `${c.name} ${pct(c.weight)}`).join(', ')}`);
  const shown = r.neighbours.filter((b) => b.weight >= 0.01);
  lines.push(`bank: ${shown.map((b) => `#${b.id}${b.class ? ` (${b.class})` : ''} ${pct(b.weight)}`).join(', ')} of ${count} latents (best score ${r.neighbours[0]!.score.toFixed(3)})`);
  return lines;
}
