// Prompt text -> text embeddings: tokenise every part with the model's tokenizer.json, encode all
// parts in one batched call, and combine them as normalise(sum w_i e_i). Also reports the words
// that never occur in the model's training captions. With a lexicon (lexicon.ts), each part is first
// understood as one of the model's caption concepts (understand.ts) and encoded as that label.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Tokenizer } from '../model/tokenizer.ts';
import { loadTokenizer } from '../model/tokenizers.ts';
import type { Model } from '../model/load.ts';
import { PromptError, type PromptPart } from './prompt.ts';
import { Lexicon } from './lexicon.ts';
import { understand } from './understand.ts';

export interface EncodedPrompt {
  text: string;
  parts: PromptPart[];
  weights: number[];
  /** One unit-length text embedding per part. */
  embeddings: Float32Array[];
  /** normalise(sum w_i e_i). */
  combined: Float32Array;
  warnings: string[];
  /** How parts were understood through the lexicon ("blaze -> fire"); empty without one. */
  understood: string[];
}

export function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  return n > 0 ? v.map((x) => x / n) : v;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/** The prompt's score for an image embedding: sum w_i cos(img, e_i) / sum |w_i|. */
export function promptScore(image: ArrayLike<number>, p: Pick<EncodedPrompt, 'embeddings' | 'weights'>): number {
  let s = 0;
  let total = 0;
  for (let i = 0; i < p.embeddings.length; i++) {
    s += p.weights[i]! * cosine(image, p.embeddings[i]!);
    total += Math.abs(p.weights[i]!);
  }
  return total > 0 ? s / total : 0;
}

export class PromptEncoder {
  private constructor(
    private readonly model: Model,
    readonly tokenizer: Tokenizer,
    readonly lexicon: Lexicon | null = null,
  ) {}

  /** The model's prompt encoder, or null when the model has no text encoder. */
  static async load(model: Model): Promise<PromptEncoder | null> {
    const text = model.manifest.text;
    if (!text || !model.runtime.encodeText) return null;
    const spec = JSON.parse(await readFile(path.join(model.dir, text.tokenizer), 'utf8')) as unknown;
    return new PromptEncoder(model, loadTokenizer(spec, text), await Lexicon.load(model));
  }

  /** Words of the parts that the training captions never contain, as warnings. */
  warnings(words: string[]): string[] {
    const vocab = this.model.vocabulary;
    const unknown = new Set<string>();
    for (const w of words) if (vocab ? !vocab.has(w) : false) unknown.add(w);
    return [...unknown].map((w) => `'${w}' does not appear in the training captions of ${this.model.manifest.id}`);
  }

  async encode(text: string, parts: PromptPart[]): Promise<EncodedPrompt> {
    const L = this.tokenizer.maxLength;
    const ids = new BigInt64Array(parts.length * L);
    const words: string[] = [];
    const understood: string[] = [];
    const warnings: string[] = [];
    parts.forEach((p, i) => {
      if (this.tokenizer.encode(p.text).words.length === 0) throw new PromptError(`"${p.text}" at position ${p.at} has no words`);
      const u = this.lexicon ? understand(this.lexicon, p.text, this.model.manifest.id) : null;
      if (u?.note) understood.push(u.note);
      if (u) warnings.push(...u.warnings);
      const enc = this.tokenizer.encode(u?.as ?? p.text);
      if (!u) words.push(...enc.words);
      for (let j = 0; j < L; j++) ids[i * L + j] = BigInt(enc.ids[j]!);
    });
    const dim = this.model.manifest.text!.dim;
    const out = await this.model.runtime.encodeText!(ids, parts.length);
    const embeddings = parts.map((_, i) => normalise(out.slice(i * dim, (i + 1) * dim)));
    const weights = parts.map((p) => p.weight);
    const sum = new Float32Array(dim);
    embeddings.forEach((e, i) => e.forEach((v, j) => (sum[j]! += weights[i]! * v)));
    if (Math.hypot(...sum) < 1e-6) throw new PromptError('the parts cancel each other out');
    warnings.push(...this.warnings(words));
    return { text, parts, weights, embeddings, combined: normalise(sum), warnings: [...new Set(warnings)], understood };
  }
}
