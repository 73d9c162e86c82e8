// A model's lexicon (models/<id>/lexicon.json, format "latentstage-lexicon/1"): English word ->
// the caption concepts (labels) it can mean, built from the training texts and WordNet by the
// model's recipe. Optional: a model without one steers by its text encoder alone.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Model } from '../model/load.ts';

/** n: names a thing (noun or caption word); m: modifier only (adjective/adverb); v: verb only. */
export type WordKind = 'n' | 'm' | 'v';

export interface LexiconSpec {
  format: string;
  concepts: string[];
  stopwords: string[];
  prepositions: string[];
  /** word -> [kind, [concept index, strength], ...], strongest first. */
  words: Record<string, [WordKind, ...[number, number][]]>;
  /**
   * A word that names a group ("fruit", "big cat", "face") -> the concepts that are kinds of it,
   * most typical first (strength 1 for the most typical). Optional (words v3).
   */
  members?: Record<string, [WordKind, ...[number, number][]]>;
  /** A word -> the concepts whose definitions it describes ("stripes" -> tiger). Optional (words v3). */
  gloss?: Record<string, [WordKind, ...[number, number][]]>;
}

export interface Sense {
  concept: number;
  strength: number;
}

export interface Entry {
  /** The form found in the lexicon ("noodles" is found as "noodle" when only that is listed). */
  word: string;
  kind: WordKind;
  senses: Sense[];
}

/** Base forms of an inflected English word, most likely first (WordNet's detachment rules). */
export function baseForms(w: string): string[] {
  const out: string[] = [];
  const add = (b: string) => {
    if (b.length >= 3 && b !== w && !out.includes(b)) out.push(b);
  };
  const rules: [string, string][] = [
    ['ses', 's'], ['xes', 'x'], ['zes', 'z'], ['ches', 'ch'], ['shes', 'sh'], ['men', 'man'], ['ies', 'y'], ['s', ''],
    ['es', 'e'], ['es', ''], ['ed', 'e'], ['ed', ''], ['ing', 'e'], ['ing', ''], ['er', ''], ['est', ''], ['er', 'e'], ['est', 'e'],
  ];
  for (const [suf, rep] of rules) if (w.endsWith(suf)) add(w.slice(0, w.length - suf.length) + rep);
  for (const suf of ['ing', 'ed', 'er', 'est']) {
    const k = w.length - suf.length;
    if (w.endsWith(suf) && k > 3 && w[k - 1] === w[k - 2]) add(w.slice(0, k - 1));
  }
  return out;
}

/**
 * The words of a lexicon, packed: one string of every word in sorted order and typed arrays of
 * their senses, looked up by binary search. About a hundred thousand words held as JSON objects
 * made the server's heap several hundred thousand objects that every major garbage collection
 * had to mark, on the event loop, while frames were due; packed, they are a handful.
 */
class WordTable {
  private readonly text: string;
  /** Where each word starts in `text` (one more entry: the end). */
  private readonly starts: Int32Array;
  private readonly kinds: Uint8Array;
  /** Each word's senses are firstSense[i] .. firstSense[i + 1] - 1 in concepts/strengths. */
  private readonly firstSense: Int32Array;
  private readonly concepts: Int32Array;
  private readonly strengths: Float64Array;

  constructor(words: LexiconSpec['words']) {
    const keys = Object.keys(words).sort();
    let senses = 0;
    for (const k of keys) senses += words[k].length - 1;
    this.text = keys.join('');
    this.starts = new Int32Array(keys.length + 1);
    this.kinds = new Uint8Array(keys.length);
    this.firstSense = new Int32Array(keys.length + 1);
    this.concepts = new Int32Array(senses);
    this.strengths = new Float64Array(senses);
    let at = 0;
    let j = 0;
    keys.forEach((k, i) => {
      this.starts[i] = at;
      at += k.length;
      const [kind, ...list] = words[k];
      this.kinds[i] = KINDS.indexOf(kind);
      this.firstSense[i] = j;
      for (const [concept, strength] of list) {
        this.concepts[j] = concept;
        this.strengths[j++] = strength;
      }
    });
    this.starts[keys.length] = at;
    this.firstSense[keys.length] = j;
  }

  private index(word: string): number {
    let lo = 0;
    let hi = this.kinds.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const key = this.text.slice(this.starts[mid], this.starts[mid + 1]);
      if (key === word) return mid;
      if (key < word) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  has(word: string): boolean {
    return this.index(word) >= 0;
  }

  get(word: string): { kind: WordKind; senses: Sense[] } | null {
    const i = this.index(word);
    if (i < 0) return null;
    const senses: Sense[] = [];
    for (let j = this.firstSense[i]; j < this.firstSense[i + 1]; j++) senses.push({ concept: this.concepts[j], strength: this.strengths[j] });
    return { kind: KINDS[this.kinds[i]], senses };
  }
}

const KINDS: readonly WordKind[] = ['n', 'm', 'v'];

export class Lexicon {
  readonly concepts: string[];
  readonly stopwords: Set<string>;
  readonly prepositions: Set<string>;
  /** Each concept's label words, without stopwords. */
  readonly conceptWords: string[][];
  private readonly byLabel = new Map<string, number>();
  private readonly words: WordTable;
  private readonly groups: WordTable | null;
  private readonly definitions: WordTable | null;

  constructor(spec: LexiconSpec) {
    if (spec.format !== 'latentstage-lexicon/1') throw new Error(`lexicon: unknown format ${JSON.stringify(spec.format)}`);
    this.words = new WordTable(spec.words);
    this.groups = spec.members ? new WordTable(spec.members) : null;
    this.definitions = spec.gloss ? new WordTable(spec.gloss) : null;
    this.concepts = spec.concepts;
    this.stopwords = new Set(spec.stopwords);
    this.prepositions = new Set(spec.prepositions);
    this.conceptWords = spec.concepts.map((c) => words(c).filter((w) => !this.stopwords.has(w)));
    spec.concepts.forEach((c, i) => this.byLabel.set(words(c).join(' '), i));
  }

  /** The model's lexicon, or null when its manifest declares none. */
  static async load(model: Model): Promise<Lexicon | null> {
    const file = model.manifest.text?.lexicon;
    if (!file) return null;
    return new Lexicon(JSON.parse(await readFile(path.join(model.dir, file), 'utf8')) as LexiconSpec);
  }

  /** The concept whose label is exactly these (normalised) words, if any. */
  label(ws: string[]): number | null {
    return this.byLabel.get(ws.join(' ')) ?? null;
  }

  /** A word's entry, trying its base forms when the word itself is not listed. */
  lookup(word: string): Entry | null {
    for (const w of [word, ...baseForms(word)]) {
      const e = this.words.get(w);
      if (e) return { word: w, ...e };
    }
    return null;
  }

  /** The concepts that are kinds of a group word ("fruit"), most typical first; [] when it names no group. */
  members(word: string): Sense[] {
    return this.fromTable(this.groups, word);
  }

  /** The concepts whose definitions a word describes ("stripes" -> tiger); [] when none. */
  gloss(word: string): Sense[] {
    return this.fromTable(this.definitions, word);
  }

  private fromTable(table: WordTable | null, word: string): Sense[] {
    if (!table) return [];
    for (const w of [word, ...baseForms(word)]) {
      const e = table.get(w);
      if (e) return e.senses;
    }
    return [];
  }

  /**
   * A closed compound the lexicon does not list, as its two listed parts ("raincloud" -> rain, cloud;
   * "trashcans" -> trash, cans): the split whose parts are both listed (the second may be inflected),
   * with the longest second part, each part at least 3 letters. Null when there is none.
   */
  split(word: string): [string, string] | null {
    if (this.words.has(word) || /[^a-z]/.test(word)) return null;
    for (let i = 3; i <= word.length - 3; i++) {
      const a = word.slice(0, i);
      const b = word.slice(i);
      if (this.words.has(a) && !this.stopwords.has(a) && this.lookup(b) && !this.stopwords.has(b)) return [a, b];
    }
    return null;
  }
}

/** The tokenizer's word split (NFKD, no combining marks, lowercase, [^a-z0-9]+). */
export function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}
