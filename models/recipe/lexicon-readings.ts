// How the server reads prompts, without rendering: for each [prompt, intended label] of a set, the
// concept the prompt language and the model's lexicon steer it toward (server/steer/understand.ts).
//
//   node --import tsx models/recipe/lexicon-readings.ts [--model models/emoji-64] [--set dev|dev-phrases|paraphrases|phrases] [-v]
//
// dev: dev-words.json (tuning words, and the same words in filler phrases); dev-phrases: the v3 tuning
// phrases; paraphrases and phrases: the held-out paraphrases.json and phrases.json. Prints how many read
// exactly as the intended label, overall and per class; -v lists the others.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Lexicon, type LexiconSpec } from '../../server/steer/lexicon.ts';
import { understand } from '../../server/steer/understand.ts';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}
const here = import.meta.dirname;
const modelDir = flag('model', path.join(here, '..', 'emoji-64'));
const set = flag('set', 'dev');
const manifest = JSON.parse(readFileSync(path.join(modelDir, 'latentstage.json'), 'utf8')) as { id: string; text?: { lexicon?: string } };
const lex = new Lexicon(JSON.parse(readFileSync(path.join(modelDir, manifest.text?.lexicon ?? 'lexicon.json'), 'utf8')) as LexiconSpec);

let items: [string, string, string?][];
if (set === 'paraphrases' || set === 'phrases' || set === 'dev-phrases') {
  const doc = JSON.parse(readFileSync(path.join(here, `${set}.json`), 'utf8')) as { prompts: { text: string; label: string; class?: string; group?: string }[] };
  items = doc.prompts.map((p) => [p.text, p.label, p.class ?? p.group]);
} else {
  const words = (JSON.parse(readFileSync(path.join(here, 'dev-words.json'), 'utf8')) as { words: [string, string][] }).words;
  const fillers = ['a tiny X', 'my X', 'the beautiful X', 'X at night', 'a dark X', 'X in the rain', 'a pretty X', 'very X', 'X everywhere', 'the famous X'];
  items = [...words, ...words.map(([w, l], i): [string, string] => [fillers[i % fillers.length]!.replace('X', w), l])];
}
let exact = 0;
let none = 0;
const other: string[] = [];
const byClass = new Map<string, [number, number]>();
for (const [text, label, cls] of items) {
  const r = understand(lex, text, manifest.id);
  if (r.as === label) exact++;
  else if (r.as === null) none++;
  if (r.as !== label) other.push(`${text.padEnd(30)} intended ${label.padEnd(28)} read as ${r.as ?? '(nothing)'}${r.note ? `   [${r.note}]` : ''}`);
  if (cls) {
    const c = byClass.get(cls) ?? [0, 0];
    byClass.set(cls, [c[0] + (r.as === label ? 1 : 0), c[1] + 1]);
  }
}
console.log(`${set}: ${exact}/${items.length} read as intended (${((100 * exact) / items.length).toFixed(1)}%), ${none} as no concept`);
for (const [cls, [n, of]] of byClass) console.log(`  ${cls.padEnd(14)} ${n}/${of} (${((100 * n) / of).toFixed(1)}%)`);
if (process.argv.includes('-v')) console.log(other.join('\n'));
