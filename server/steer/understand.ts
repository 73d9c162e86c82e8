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
/** Words that start a description of the thing named before them ("a bird that cannot fly"). */
const RELATIVES = new Set(['that', 'which', 'who', 'whose', 'where']);
/** A selector's evidence for one of the head's members must reach this to choose among them. */
const SELECTS = 0.15;
/** A word's description evidence for a concept that another word of the phrase names, next to its own senses. */
const GLOSS = 0.5;
/** The strength with which two words that are a concept's whole label name it. */
const LABEL = 1.2;
/** How much a member's typicality counts next to what the phrase's other words say of it. */
const TYPICAL = 0.1;
/** A word with at least this many members names a group whose typical member "a <word>" draws. */
const GROUP = 5;
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
    if (lex.prepositions.has(w) || RELATIVES.has(w)) {
      if (content.length) secondary = true;
      continue;
    }
    if (lex.stopwords.has(w) || content.some((c) => c.word === w)) continue;
    // two words the lexicon lists together ("sports car", "teddy bears") are one thing
    const next = ws[i + 1];
    const after = ws[i + 2];
    // "a red fire engine": of two overlapping pairs the later one names the thing (English compounds end on
    // their head), unless the first is a concept's whole label ("a polar bear cub")
    const later = after && next && !lex.stopwords.has(after) && lex.lookup(`${next} ${after}`) !== null && lex.label([w, next]) === null;
    const pair = next && !lex.stopwords.has(next) && !later ? lex.lookup(`${w} ${next}`) : null;
    if (pair) {
      const senses = sensesOf(pair);
      // a pair that is a concept's whole label ("polar bear") names that concept above all
      const whole = lex.label([w, next!]);
      if (whole !== null) senses.set(whole, Math.max(senses.get(whole) ?? 0, LABEL));
      content.push({ word: `${w} ${next}`, weight: secondary ? SECONDARY : 1, senses, kind: pair.kind, parts: [w, next!] });
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

  const chosen = chooseMember(lex, content, text, ws.length);
  if (chosen) return chosen;

  const typed = new Set(content.flatMap((c) => [c.word, ...(c.parts ?? [])]));
  const score = new Map<number, number>();
  for (const c of content) for (const [k, s] of c.senses) score.set(k, (score.get(k) ?? 0) + c.weight * s);
  // a word that describes a concept another word named ("halloween" of jack-o-lantern, which "pumpkin"
  // names) adds to it: two words agreeing on one thing beat one word's strongest sense
  if (content.length > 1) {
    const named = [...score.keys()];
    for (const c of content) {
      for (const g of lex.gloss(c.word)) {
        if (c.senses.has(g.concept) || !named.includes(g.concept)) continue;
        score.set(g.concept, score.get(g.concept)! + GLOSS * c.weight * g.strength);
      }
    }
  }
  let best = -1;
  let bestScore = -Infinity;
  // a word that names a feeling ("grinning", "weeping") as much as a face as anything else is a face's
  const human = (k: number) => (content.length === 1 && lex.conceptWords[k]!.includes(FACE.word) ? 1 : 0);
  for (const [k, s0] of score) {
    const lw = lex.conceptWords[k]!;
    const missing = lw.filter((w) => !typed.has(w) && !content.some((c) => c.senses.has(k) && c.word.startsWith(w))).length;
    const s = s0 + (lw.length > 0 && missing === 0 && lw.length > 1 ? 0.3 : 0) - 0.08 * missing;
    const label = lex.concepts[k]!;
    const tie = Math.abs(s - bestScore) < 1e-9;
    if (s > bestScore + 1e-9 || (tie && (human(k) > human(best) || (human(k) === human(best) && label.length < lex.concepts[best]!.length)))) {
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
  // two words read together name one thing ("a red fire engine": read as one thing: fire engine)
  const whole = content.filter((c) => explains(c) && c.parts && c.word.includes(' ')).map((c) => c.word);
  const shown = whole.length ? `read as one thing: ${list(whole)}${used.length > whole.length ? `; ${list(used.filter((w) => !whole.includes(w)))}` : ''}` : list(used);
  const detail = single ? '' : ` (${shown}${unused.length ? `; not drawn: ${list(unused.map((c) => c.word))}` : ''})`;
  return { as: label, note: `${single ? content[0]!.word : text} -> ${label}${detail}`, warnings };
}

/**
 * A phrase whose thing is a group word ("a fruit", "a big cat with stripes", "a sad face", "a halloween
 * pumpkin"): the other words choose among the group's members, by their own concepts and by the
 * definitions they describe; with none of them saying anything about a member, a typical member is drawn.
 * Null when the phrase names no group, or names a concept outright ("a cat", "bird").
 */
function chooseMember(lex: Lexicon, content: Content[], text: string, nWords: number): Understanding | null {
  const primary = content.filter((c) => c.weight === 1 && c.kind === 'n');
  // a feeling with no thing named ("furious", "so sleepy") is a face's
  let head = primary[primary.length - 1];
  if (!head && content.every((c) => c.kind === 'm')) {
    // ...when the lexicon already reads one of its words as a face first
    const faces = new Set(lex.members(FACE.word).map((m) => m.concept));
    if (content.some((c) => faces.has([...c.senses.keys()][0] ?? -1))) head = FACE;
  }
  if (!head) return null;
  const members = lex.members(head.word);
  const own = [...head.senses];
  if (members.length === 0) return null;
  const selectors = content.filter((c) => c !== head && c.kind !== null || (c !== head && lex.gloss(c.word).length > 0));
  const typed = new Set(content.flatMap((c) => [c.word, ...(c.parts ?? [])]));
  const candidates = new Map<number, number>();
  for (const m of members) candidates.set(m.concept, TYPICAL * m.strength);
  for (const [k, s] of own) candidates.set(k, Math.max(candidates.get(k) ?? 0, TYPICAL * s));
  let best = -1;
  let bestScore = -Infinity;
  let bestSel = 0;
  for (const [k, prior] of candidates) {
    let sel = 0;
    for (const c of selectors) {
      const g = lex.gloss(c.word).find((s) => s.concept === k)?.strength ?? 0;
      const weight = c.weight === 1 ? 1 : Math.min(1, c.weight * 2);
      sel += weight * Math.max(c.senses.get(k) ?? 0, g);
    }
    // a member whose whole label was typed ("a tired face") is meant; each label word not typed counts against
    const lw = lex.conceptWords[k]!;
    const missing = lw.filter((w) => !typed.has(w)).length;
    const score = prior + sel + (missing === 0 && lw.length > 1 ? 0.3 : 0) - 0.08 * missing;
    if (score > bestScore) {
      best = k;
      bestScore = score;
      bestSel = sel;
    }
  }
  const label = lex.concepts[best]!;
  const group = head.word;
  if (bestSel >= SELECTS) {
    const by = selectors.filter((c) => (c.senses.get(best) ?? 0) > 0 || lex.gloss(c.word).some((s) => s.concept === best)).map((c) => c.word);
    return { as: label, note: `${text} -> ${label} (${article(group)} ${group}: ${list(by)})`, warnings: [] };
  }
  // nothing chooses: the group word names the thing itself when one of its own concepts is named by it
  // ...and a word with few members (mansion, plumage) is better read by its own senses than as a group
  if (lex.label(words(group)) !== null || selectors.length > 0 || members.length < GROUP) return null;
  const typical = members[0]!.concept;
  return { as: lex.concepts[typical]!, note: `${nWords === 1 ? group : text} -> ${lex.concepts[typical]} (typical of ${group})`, warnings: [] };
}

const FACE: Content = { word: 'face', weight: 1, senses: new Map(), kind: 'n' };

function article(w: string): string {
  return /^[aeiou]/.test(w) ? 'an' : 'a';
}

function list(ws: string[]): string {
  return ws.length <= 1 ? (ws[0] ?? '') : `${ws.slice(0, -1).join(', ')} and ${ws[ws.length - 1]}`;
}
