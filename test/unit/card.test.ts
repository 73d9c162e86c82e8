import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cardFacts } from '../../server/model/card.ts';

test('model card facts: bullets and table rows, first occurrence wins', () => {
  const card = [
    '# Emoji 64',
    '',
    '- **Dataset**: 4,000 emoji images (Twemoji, Noto)',
    '- Licences: CC-BY 4.0, Apache-2.0',
    '* Vocabulary: 5787 words',
    '',
    '| Key | Value |',
    '| --- | --- |',
    '| Resolution | 64 x 64 |',
    '| dataset | ignored (already set) |',
    'Plain text: not a fact',
  ].join('\n');
  assert.deepEqual(cardFacts(card), {
    dataset: '4,000 emoji images (Twemoji, Noto)',
    licences: 'CC-BY 4.0, Apache-2.0',
    vocabulary: '5787 words',
    resolution: '64 x 64',
  });
  assert.deepEqual(cardFacts(null), {});
  assert.deepEqual(cardFacts('# nothing here'), {});
});
