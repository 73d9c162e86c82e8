// The tokenizer a manifest's text entry names: text.tokenizerFormat "latentstage" (default,
// tokenizer.ts) or "huggingface" (a tokenizer.json through @huggingface/tokenizers, hf-tokenizer.ts).
import { createTokenizer, type Tokenizer, type TokenizerSpec } from './tokenizer.ts';
import { createHfTokenizer } from './hf-tokenizer.ts';

export function loadTokenizer(json: unknown, text: { tokenizerFormat?: 'latentstage' | 'huggingface' | undefined; length?: number | undefined }): Tokenizer {
  if (text.tokenizerFormat === 'huggingface') {
    if (text.length === undefined) throw new Error('text.length is required with tokenizerFormat "huggingface" (the encoder\'s token count, 77 for CLIP)');
    return createHfTokenizer(json, text.length);
  }
  return createTokenizer(json as TokenizerSpec);
}
