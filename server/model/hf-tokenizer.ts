// Hugging Face tokenizer.json (e.g. CLIP's byte-level BPE, written by `latentstage import clip`)
// through @huggingface/tokenizers, read from the model folder: nothing is downloaded. Ids are the
// tokenizer's own (CLIP: <|startoftext|> ... <|endoftext|>), cut to `length` with the last id kept
// as the end token, then zero-padded to `length` as OpenAI's clip.tokenize does.
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import type { Encoded, Tokenizer } from './tokenizer.ts';

export function createHfTokenizer(json: unknown, length: number): Tokenizer {
  if (!json || typeof json !== 'object' || !('model' in json)) throw new Error('tokenizer.json is not a Hugging Face tokenizer (no "model")');
  if (!Number.isInteger(length) || length < 2) throw new Error(`tokenizer length must be an integer >= 2, got ${length}`);
  const tok = new HfTokenizer(json, {});
  return {
    maxLength: length,
    encode(text: string): Encoded {
      const ids = [...tok.encode(text).ids];
      if (ids.length > length) {
        const end = ids[ids.length - 1]!;
        ids.length = length;
        ids[length - 1] = end;
      }
      while (ids.length < length) ids.push(0);
      const words = text.normalize('NFC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
      return { ids, words, unknown: [] };
    },
  };
}
