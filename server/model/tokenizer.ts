// Word + hashed character n-gram tokenizer for the tiny-CLIP text encoders
// (models/<id>/tokenizer.json, format "latentstage-tokenizer/1").
//
// Must match models/recipe/train.py `Tokenizer` exactly:
//   1. text.normalize('NFKD'), strip combining marks U+0300..U+036F, lowercase
//   2. split on the `split` regex ([^a-z0-9]+), drop empty pieces -> words
//   3. ids = [wordOffset + words[w] for every in-vocabulary word, in order]
//      ++ [ngram.offset + fnv1a32(g) % ngram.buckets for every word in order,
//          for n = min..max, for every n-gram g of begin + word + end, left to right]
//   4. truncate to maxLength, right-pad with padId.
// No dependencies; pure ESM. tokenizers.ts picks this one or a Hugging Face tokenizer.json
// (hf-tokenizer.ts) by the manifest's text.tokenizerFormat.

export interface TokenizerReference {
  text: string;
  ids: number[];
  words: string[];
  unknown: string[];
  embedding?: number[];
}

export interface TokenizerSpec {
  format: string;
  normalize: {
    unicode: 'NFKD' | 'NFKC' | 'NFC' | 'NFD' | string;
    stripCombiningMarks?: string;
    lowercase: boolean;
    order?: string[];
  };
  split: string;
  padId: number;
  maxLength: number;
  wordOffset: number;
  words: Record<string, number>;
  ngram: {
    min: number;
    max: number;
    begin: string;
    end: string;
    hash: 'fnv1a32-utf8' | string;
    buckets: number;
    offset: number;
  };
  layout?: string;
  reference?: TokenizerReference[];
}

export interface Encoded {
  ids: number[];
  words: string[];
  unknown: string[];
}

export interface Tokenizer {
  encode(text: string): Encoded;
  maxLength: number;
}

const encoder = new TextEncoder();

/** 32-bit FNV-1a over the UTF-8 bytes of `s`, as an unsigned integer. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of encoder.encode(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function createTokenizer(spec: TokenizerSpec): Tokenizer {
  if (spec.ngram.hash !== 'fnv1a32-utf8') {
    throw new Error(`tokenizer: unsupported n-gram hash "${spec.ngram.hash}"`);
  }
  const split = new RegExp(spec.split, 'g');
  const marks = spec.normalize.stripCombiningMarks ? new RegExp(spec.normalize.stripCombiningMarks, 'g') : null;
  const vocab = new Map<string, number>(Object.entries(spec.words));
  const { min, max, begin, end, buckets, offset } = spec.ngram;

  function normaliseWords(text: string): string[] {
    let t = spec.normalize.unicode ? text.normalize(spec.normalize.unicode as 'NFKD') : text;
    if (marks) t = t.replace(marks, '');
    if (spec.normalize.lowercase) t = t.toLowerCase();
    return t.split(split).filter((w) => w.length > 0);
  }

  function ngrams(word: string): string[] {
    // code-point aware slicing (words are ASCII after the split, but stay safe)
    const s = Array.from(begin + word + end);
    const out: string[] = [];
    for (let n = min; n <= max; n++) {
      for (let i = 0; i + n <= s.length; i++) out.push(s.slice(i, i + n).join(''));
    }
    return out;
  }

  return {
    maxLength: spec.maxLength,
    encode(text: string): Encoded {
      const words = normaliseWords(text);
      const ids: number[] = [];
      const unknown: string[] = [];
      for (const w of words) {
        const id = vocab.get(w);
        if (id === undefined) unknown.push(w);
        else ids.push(spec.wordOffset + id);
      }
      outer: for (const w of words) {
        for (const g of ngrams(w)) {
          if (ids.length >= spec.maxLength) break outer;
          ids.push(offset + (fnv1a32(g) % buckets));
        }
      }
      ids.length = Math.min(ids.length, spec.maxLength);
      while (ids.length < spec.maxLength) ids.push(spec.padId);
      return { ids, words, unknown };
    },
  };
}
