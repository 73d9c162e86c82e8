// The prompt language: weighted parts separated by "|", as in the VQGAN+CLIP notebooks.
//
//   robot | red heart:0.5 | water:-0.3
//
// A part's weight is a number after its last ":" (default 1); negative weights push away from a
// part. A colon followed by anything but a number is text ("person: white hair" is one part of
// weight 1). Empty text (or only spaces) clears the prompt. Errors name the character position
// (0-based).
import { CommandError } from '../commands.ts';

export interface PromptPart {
  text: string;
  weight: number;
  /** Character offset of the part's text in the prompt. */
  at: number;
}

export const MAX_PARTS = 16;
export const MAX_WEIGHT = 100;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

export class PromptError extends CommandError {
  constructor(message: string) {
    super(`prompt: ${message}`);
    this.name = 'PromptError';
  }
}

/** Parse a prompt into its parts; [] means "no prompt". Throws PromptError with a position. */
export function parsePrompt(text: string): PromptPart[] {
  if (text.trim() === '') return [];
  const parts: PromptPart[] = [];
  let start = 0;
  for (const piece of text.split('|')) {
    const colon = piece.lastIndexOf(':');
    let body = piece;
    let weight = 1;
    const raw = colon >= 0 ? piece.slice(colon + 1) : '';
    const w = raw.trim();
    if (colon >= 0 && NUMBER.test(w)) {
      body = piece.slice(0, colon);
      const wAt = start + colon + 1 + (raw.length - raw.trimStart().length);
      weight = Number(w);
      if (Math.abs(weight) > MAX_WEIGHT) throw new PromptError(`weight ${w} at position ${wAt} is outside -${MAX_WEIGHT}..${MAX_WEIGHT}`);
    }
    const lead = body.length - body.trimStart().length;
    const trimmed = body.trim();
    if (trimmed === '') throw new PromptError(`empty part at position ${start + lead}`);
    parts.push({ text: trimmed, weight, at: start + lead });
    start += piece.length + 1;
  }
  if (parts.length > MAX_PARTS) throw new PromptError(`at most ${MAX_PARTS} parts (got ${parts.length})`);
  if (parts.every((p) => p.weight === 0)) throw new PromptError('every weight is 0');
  return parts;
}
