// What a prompt part means to the model: the caption concept its words point at, using the
// model's lexicon (see lexicon.ts). The part is then steered by that concept's label, which the
// text prior knows exactly, instead of by whatever the typed words' character n-grams suggest.
//
//   blaze                        -> fire
//   a bowl of hot noodles        -> steaming bowl   (bowl, noodles; "hot" is a modifier)
//   a man riding a horse on a beach -> one concept, with a warning: man and beach are not in it
//
// Content words (not stopwords) vote for concepts with their lexicon strengths; modifiers
// (adjectives, adverbs) and words after a preposition ("a dog with a ball") vote with less weight. A concept whose whole label is
// typed gets a bonus, each label word not typed a small penalty. Nouns the chosen concept does not
// explain, and words the lexicon does not know, become warnings: they will not be drawn.
import { words, type Entry, type Lexicon } from './lexicon.ts';

export interface Understanding {
  /** The concept label this part is steered by; null: no concept, the text is encoded as typed. */
  as: string | null;
  /** How the part was read, for the performer (e.g. "blaze -> fire"); empty when typed as a label. */
  note: string | null;
  warnings: string[];
}

const SECONDARY = 0.35;
/** Adjectives and adverbs ("shiny", "old") describe; next to a noun they vote with less weight than it. */
const MODIFIER = 0.5;
const MIN_SCORE = 0.2;
const EXPLAINS = 0.2;

interface Content {
  word: string;
  weight: number;
  senses: Map<number, number>;
  kind: 'n' | 'm' | 'v' | null;
  /** The listed words a closed compound was read as ("raincloud": rain, cloud). */
  parts?: string[];
}

/** A lexicon entry's concepts and strengths. */
const sensesOf = (e: Entry) => new Map(e.senses.map((s) => [s.concept, s.strength]));

export function understand(lex: Lexicon, text: string, modelId: string): Understanding {
  const ws = words(text);
  const exact = lex.label(ws);
  if (exact !== null) return { as: lex.concepts[exact]!, note: null, warnings: [] };

  const content: Content[] = [];
  let secondary = false;
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    if (lex.prepositions.has(w)) {
      if (content.length) secondary = true;
      continue;
    }
    if (lex.stopwords.has(w) || content.some((c) => c.word === w)) continue;
    // two words the lexicon lists together ("sports car", "teddy bears") are one thing
    const next = ws[i + 1];
    const pair = next && !lex.stopwords.has(next) ? lex.lookup(`${w} ${next}`) : null;
    if (pair) {
      content.push({ word: `${w} ${next}`, weight: secondary ? SECONDARY : 1, senses: sensesOf(pair), kind: pair.kind, parts: [w, next!] });
      i++;
      continue;
    }
    const e = lex.lookup(w);
    const parts = e ? null : lex.split(w);
    if (parts) {
      // a closed compound ("raincloud") reads as its parts, the second naming the thing
      const [first, second] = parts.map((p) => lex.lookup(p)!) as [Entry, Entry];
      const senses = sensesOf(second);
      for (const s of first.senses) senses.set(s.concept, (senses.get(s.concept) ?? 0) + MODIFIER * s.strength);
      content.push({ word: w, weight: secondary ? SECONDARY : 1, senses, kind: second.kind, parts: [first.word, second.word] });
      continue;
    }
    content.push({
      word: w,
      weight: secondary ? SECONDARY : 1,
      senses: e ? sensesOf(e) : new Map<number, number>(),
      kind: e ? e.kind : null,
    });
  }
  if (content.length === 0) return { as: null, note: null, warnings: [`'${text}' has no words that name something`] };
  // Modifiers describe a thing when one is named ("a shiny star"); alone ("so sleepy") they are the meaning.
  if (content.some((c) => c.kind === 'n')) for (const c of content) if (c.kind === 'm') c.weight *= MODIFIER;

  const typed = new Set(content.flatMap((c) => [c.word, ...(c.parts ?? [])]));
  const score = new Map<number, number>();
  for (const c of content) for (const [k, s] of c.senses) score.set(k, (score.get(k) ?? 0) + c.weight * s);
  let best = -1;
  let bestScore = -Infinity;
  for (const [k, s0] of score) {
    const lw = lex.conceptWords[k]!;
    const missing = lw.filter((w) => !typed.has(w) && !content.some((c) => c.senses.has(k) && c.word.startsWith(w))).length;
    const s = s0 + (lw.length > 0 && missing === 0 && lw.length > 1 ? 0.3 : 0) - 0.08 * missing;
    const label = lex.concepts[k]!;
    if (s > bestScore || (s === bestScore && label.length < lex.concepts[best]!.length)) {
      best = k;
      bestScore = s;
    }
  }

  const unknown = content.filter((c) => c.kind === null).map((c) => c.word);
  const warnings = unknown.map((w) => `'${w}' means nothing ${modelId} can draw (not in its captions or lexicon)`);
  if (best < 0 || bestScore < MIN_SCORE) {
    const known = content.filter((c) => c.kind !== null).map((c) => c.word);
    if (known.length) warnings.push(`'${text}': ${list(known)} ${known.length > 1 ? 'are' : 'is'} too far from anything ${modelId} can draw; steering by the letters as typed`);
    return { as: null, note: null, warnings };
  }

  const label = lex.concepts[best]!;
  const explains = (c: Content) => (c.senses.get(best) ?? 0) >= EXPLAINS || lex.conceptWords[best]!.includes(c.word);
  const used = content.filter(explains).map((c) => c.word);
  const unused = content.filter((c) => c.kind !== null && !explains(c));
  const stray = unused.filter((c) => c.kind === 'n').map((c) => c.word);
  if (stray.length) {
    warnings.push(`'${text}': ${list(stray)} ${stray.length > 1 ? 'are' : 'is'} not part of any one picture of ${modelId} with ${list(used)}; steering toward ${label}`);
  }
  const single = content.length === 1 && ws.length === 1;
  const detail = single ? '' : ` (${list(used)}${unused.length ? `; not drawn: ${list(unused.map((c) => c.word))}` : ''})`;
  return { as: label, note: `${single ? content[0]!.word : text} -> ${label}${detail}`, warnings };
}

function list(ws: string[]): string {
  return ws.length <= 1 ? (ws[0] ?? '') : `${ws.slice(0, -1).join(', ')} and ${ws[ws.length - 1]}`;
}
