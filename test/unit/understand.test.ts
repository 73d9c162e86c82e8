// The lexicon and prompt understanding on a small hand-written lexicon (the shipped one is
// exercised by default-model tests and the integration test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lexicon, baseForms, words, type LexiconSpec } from '../../server/steer/lexicon.ts';
import { understand } from '../../server/steer/understand.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_MODEL } from '../../server/server.ts';

const concepts = ['fire', 'cat', 'cat face', 'steaming bowl', 'star', 'glowing star', 'horse', 'horse racing', 'man', 'beach with umbrella', 'dog', 'soccer ball', 'sleepy face', 'cloud', 'cloud with rain', 'wastebasket', 'fire engine', 'pickup truck'];
const c = (label: string) => concepts.indexOf(label);
const spec: LexiconSpec = {
  format: 'latentstage-lexicon/1',
  concepts,
  stopwords: ['a', 'an', 'the', 'of', 'with', 'on', 'in'],
  prepositions: ['with', 'on', 'in'],
  words: {
    fire: ['n', [c('fire'), 1]],
    blaze: ['n', [c('fire'), 0.6]],
    cat: ['n', [c('cat'), 1], [c('cat face'), 0.7]],
    kitten: ['n', [c('cat face'), 0.75], [c('cat'), 0.5]],
    face: ['n', [c('cat face'), 0.85]],
    bowl: ['n', [c('steaming bowl'), 0.85]],
    noodle: ['n', [c('steaming bowl'), 0.71]],
    hot: ['m', [c('steaming bowl'), 0.3]],
    star: ['n', [c('star'), 1], [c('glowing star'), 0.85]],
    shiny: ['m', [c('glowing star'), 0.3]],
    yellow: ['m', [c('star'), 0.2]],
    horse: ['n', [c('horse'), 1], [c('horse racing'), 0.7]],
    riding: ['n', [c('horse racing'), 0.5]],
    man: ['n', [c('man'), 1]],
    beach: ['n', [c('beach with umbrella'), 0.85]],
    dog: ['n', [c('dog'), 1]],
    ball: ['n', [c('soccer ball'), 0.85]],
    democracy: ['n', [c('man'), 0.05]],
    drowsy: ['m', [c('sleepy face'), 0.45]],
    cloud: ['n', [c('cloud'), 1], [c('cloud with rain'), 0.85]],
    rain: ['n', [c('cloud with rain'), 0.85]],
    trash: ['n', [c('wastebasket'), 0.7]],
    can: ['n', [c('wastebasket'), 0.4]],
    truck: ['n', [c('pickup truck'), 0.9], [c('fire engine'), 0.6]],
    'fire truck': ['n', [c('fire engine'), 1.2]],
  },
};
const lex = new Lexicon(spec);
const u = (text: string) => understand(lex, text, 'toy');

test('words() matches the tokenizer split and baseForms() finds base forms', () => {
  assert.deepEqual(words('Crème Brûlée, 2 BOWLS!'), ['creme', 'brulee', '2', 'bowls']);
  assert.ok(baseForms('noodles').includes('noodle'));
  assert.ok(baseForms('kittens').includes('kitten'));
  assert.ok(baseForms('running').includes('run'));
  assert.ok(baseForms('ponies').includes('pony'));
  assert.deepEqual(lex.lookup('noodles')?.word, 'noodle');
  assert.equal(lex.lookup('zzqx'), null);
});

test('a label is steered as itself, without a note', () => {
  assert.deepEqual(u('fire'), { as: 'fire', note: null, warnings: [] });
  assert.deepEqual(u('  Cat FACE '), { as: 'cat face', note: null, warnings: [] });
});

test('an unknown word maps to the concept it means, and says so', () => {
  assert.deepEqual(u('blaze'), { as: 'fire', note: 'blaze -> fire', warnings: [] });
  assert.equal(u('kitten').as, 'cat face');
  assert.equal(u('kittens').note, 'kittens -> cat face');
});

test('filler words do not drag a phrase elsewhere', () => {
  const bowl = u('a bowl of hot noodles');
  assert.equal(bowl.as, 'steaming bowl');
  assert.deepEqual(bowl.warnings, []);
  assert.equal(bowl.note, 'a bowl of hot noodles -> steaming bowl (bowl, hot and noodles)');
  const star = u('a shiny yellow star');
  assert.equal(star.as, 'star', 'yellow and shiny describe the star; they do not pull it to another picture');
  assert.deepEqual(star.warnings, []);
  // words after a preposition count less: a dog with a ball is a dog (and the ball is not drawn)
  const dog = u('a dog with a ball');
  assert.equal(dog.as, 'dog');
  assert.match(dog.warnings.join(), /'a dog with a ball': ball is not part of any one picture of toy with dog; steering toward dog/);
});

test('a phrase of known words that describes nothing the model has is warned about', () => {
  const r = u('a man riding a horse on a beach');
  assert.equal(r.as, 'horse racing');
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /man and beach are not part of any one picture of toy with riding and horse; steering toward horse racing/);
});

test('words that map to nothing drawable are warned about; nothing at all keeps the text as typed', () => {
  const r = u('zzqx fire');
  assert.equal(r.as, 'fire');
  assert.deepEqual(r.warnings, ["'zzqx' means nothing toy can draw (not in its captions or lexicon)"]);
  const none = u('zzqx');
  assert.equal(none.as, null);
  assert.deepEqual(none.warnings, ["'zzqx' means nothing toy can draw (not in its captions or lexicon)"]);
  const weak = u('democracy');
  assert.equal(weak.as, null, 'too weak a link is not a meaning');
  assert.deepEqual(weak.warnings, ["'democracy': democracy is too far from anything toy can draw; steering by the letters as typed"]);
  assert.deepEqual(u('the of a').warnings, ["'the of a' has no words that name something"]);
});

test('modifiers alone are the meaning; next to a noun they only describe it', () => {
  assert.equal(u('so drowsy').as, 'sleepy face', 'no noun: the adjective votes in full');
  assert.equal(u('drowsy').note, 'drowsy -> sleepy face');
  assert.equal(u('a drowsy cat').as, 'cat', 'the noun names the thing');
});

test('a closed compound that is not listed reads as its two listed parts', () => {
  assert.deepEqual(lex.split('raincloud'), ['rain', 'cloud']);
  assert.deepEqual(lex.split('trashcans'), ['trash', 'cans'], 'the second part may be inflected');
  assert.equal(lex.split('cloud'), null, 'a listed word is not split');
  assert.equal(lex.split('zzqxfire'), null, 'both parts must be listed');
  assert.equal(lex.split('firex'), null, 'parts have at least 3 letters');
  const r = u('raincloud');
  assert.equal(r.as, 'cloud with rain', 'both parts vote, and the label counts as typed');
  assert.deepEqual(r.warnings, []);
  assert.equal(u('a shiny trashcan').as, 'wastebasket');
});

test('two words the lexicon lists together are read as one thing', () => {
  const r = u('a big red fire truck');
  assert.equal(r.as, 'fire engine');
  assert.equal(r.note, 'a big red fire truck -> fire engine (read as one thing: fire truck)');
  assert.equal(u('two fire trucks').as, 'fire engine', 'the pair may be inflected');
  assert.equal(u('a truck on fire').as, 'pickup truck', 'words apart are not a pair');
});

test('the packed lexicon answers every listed word as the file lists it, and nothing else', async () => {
  // the shipped lexicon, whole: each word's kind and senses in order, exactly
  const file = path.join(DEFAULT_MODEL, 'lexicon.json');
  const shipped = JSON.parse(readFileSync(file, 'utf8')) as LexiconSpec;
  const big = new Lexicon(shipped);
  const listed = Object.entries(shipped.words);
  assert.ok(listed.length > 50_000);
  for (const [word, [kind, ...senses]] of listed) {
    const e = big.lookup(word);
    assert.ok(e && e.word === word, word);
    assert.equal(e.kind, kind, word);
    assert.deepEqual(
      e.senses.map((x) => [x.concept, x.strength]),
      senses,
      word,
    );
  }
  // words that are not listed, including names an object would answer to
  // (at most a listed base form of them)
  for (const w of ['zzqx', '__proto__', 'valueof', 'hasownproperty', '']) {
    assert.ok(!Object.hasOwn(shipped.words, w));
    const e = big.lookup(w);
    assert.ok(e === null || (e.word !== w && Object.hasOwn(shipped.words, e.word)), w);
  }
  assert.equal(lex.lookup('constructor'), null, 'a name every object answers to, unlisted in the toy lexicon');
  assert.equal(u('constructor').as, null);
});

test('a lexicon of another format is refused', () => {
  assert.throws(() => new Lexicon({ ...spec, format: 'other/2' }), /unknown format/);
});

// Words v3: group words choose among their members, definitions describe concepts
const v3Concepts = ['tiger', 'lion', 'leopard', 'cat', 'red apple', 'pear', 'grinning face', 'pensive face', 'sleepy face', 'jack-o-lantern', 'root vegetable', 'ghost', 'deer', 'dog', 'fire engine', 'fire', 'banana', 'lemon', 'melon', 'elephant', 'grinning cat'];
const v = (label: string) => v3Concepts.indexOf(label);
const v3: LexiconSpec = {
  format: 'latentstage-lexicon/1',
  concepts: v3Concepts,
  stopwords: ['a', 'an', 'the', 'of', 'with', 'that', 'some'],
  prepositions: ['with'],
  words: {
    cat: ['n', [v('cat'), 1]],
    'big cat': ['n', [v('lion'), 1.05], [v('tiger'), 1.04]],
    stripes: ['n', [v('tiger'), 0.3]],
    fruit: ['n', [v('pear'), 1.0]],
    face: ['n', [v('grinning face'), 0.35]],
    sad: ['m', [v('pensive face'), 0.6]],
    happy: ['m', [v('grinning face'), 0.6]],
    pumpkin: ['n', [v('root vegetable'), 0.79], [v('jack-o-lantern'), 0.7]],
    halloween: ['n', [v('ghost'), 0.35]],
    animal: ['n', [v('dog'), 0.86]],
    antlers: ['n', [v('dog'), 0.1]],
    red: ['m', [v('red apple'), 0.3]],
    'red fire': ['n', [v('fire'), 0.8]],
    'fire engine': ['n', [v('fire engine'), 1]],
    fire: ['n', [v('fire'), 1]],
    engine: ['n', [v('fire engine'), 0.7]],
    trunk: ['n', [v('banana'), 0.2]],
    grinning: ['n', [v('grinning cat'), 0.56], [v('grinning face'), 0.56]],
  },
  members: {
    'big cat': ['n', [v('lion'), 1], [v('tiger'), 0.9], [v('leopard'), 0.6]],
    fruit: ['n', [v('red apple'), 1], [v('pear'), 0.6], [v('banana'), 0.5], [v('lemon'), 0.5], [v('melon'), 0.4]],
    face: ['n', [v('grinning face'), 1], [v('pensive face'), 1], [v('sleepy face'), 1]],
    animal: ['n', [v('dog'), 1], [v('cat'), 0.8], [v('lion'), 0.5], [v('tiger'), 0.5], [v('deer'), 0.3], [v('elephant'), 0.1]],
  },
  gloss: {
    stripes: ['n', [v('tiger'), 0.9]],
    halloween: ['n', [v('jack-o-lantern'), 0.8], [v('ghost'), 0.6]],
    antlers: ['n', [v('deer'), 0.85]],
    trunk: ['n', [v('elephant'), 0.3]],
  },
};
const lex3 = new Lexicon(v3);
const u3 = (text: string) => understand(lex3, text, 'toy');

test('v3: the words of a description choose among the members of the group it names', () => {
  const r = u3('a big cat with stripes');
  assert.equal(r.as, 'tiger');
  assert.equal(r.note, 'a big cat with stripes -> tiger (a big cat: stripes)');
  assert.equal(u3('an animal with antlers').as, 'deer', "a definition's word reaches a member the group's own senses never name");
  assert.equal(u3('an animal with antlers').note, 'an animal with antlers -> deer (an animal: antlers)');
});

test('v3: weak evidence from a description outweighs how typical a member is', () => {
  // the dog is the most typical animal; one weak definition word still points at the elephant
  const r = u3('an animal with a long trunk');
  assert.equal(r.as, 'elephant');
  assert.equal(r.note, 'an animal with a long trunk -> elephant (an animal: trunk)');
});

test('v3: a group word alone draws a typical member; a word that is a label stays itself', () => {
  const r = u3('a fruit');
  assert.equal(r.as, 'red apple', 'the most typical member, not the strongest of the word\'s own senses (pear)');
  assert.equal(r.note, 'a fruit -> red apple (typical of fruit)');
  assert.equal(u3('a cat').as, 'cat');
});

test('v3: a feeling picks a face, with or without the word face', () => {
  assert.equal(u3('a sad face').as, 'pensive face');
  assert.equal(u3('a happy face').as, 'grinning face');
  assert.equal(u3('sad').as, 'pensive face');
  // a word that names the grinning cat and the grinning face alike draws the face
  assert.equal(u3('grinning').as, 'grinning face');
  assert.equal(u3('grinning').note, 'grinning -> grinning face');
});

test('v3: an occasion agrees with one of the thing\'s senses and picks it', () => {
  assert.equal(u3('pumpkin').as, 'root vegetable');
  assert.equal(u3('a halloween pumpkin').as, 'jack-o-lantern', 'halloween describes the jack-o-lantern that pumpkin also names');
});

test('v3: of two overlapping pairs the later one is the thing, and the note says it was read as one', () => {
  const r = u3('a red fire engine');
  assert.equal(r.as, 'fire engine');
  assert.match(r.note ?? '', /read as one thing: fire engine/);
});

test('v3: a lexicon without members or definitions reads as before', () => {
  assert.deepEqual(lex.members('cat'), []);
  assert.deepEqual(lex.gloss('stripes'), []);
});
