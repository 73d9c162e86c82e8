// The reference tables in the folder READMEs match the code: the command list, the parameter
// table and the OSC address table are regenerated from commands.ts, params.ts and osc/table.ts
// and compared with the markdown (`npm run docs` rewrites them after a change).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { docFiles, regenerate, read, generators, ROOT } from '../docs/tables.ts';

test('every generated block in the markdown matches the code (npm run docs rewrites them)', () => {
  const seen = new Set<string>();
  for (const file of docFiles()) {
    const text = read(file);
    const next = regenerate(text);
    next.blocks.forEach((b) => seen.add(b));
    if (next.text === text) continue;
    const a = text.split('\n');
    const b = next.text.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    assert.fail(`${path.relative(ROOT, file)} is out of date at line ${line + 1} (run npm run docs):\n  has:  ${a[line]}\n  code: ${b[line]}`);
  }
  assert.deepEqual([...seen].sort(), Object.keys(generators).sort(), 'each table appears in some README');
});

test('the command list names every command, its fields and the OSC addresses that reach it', () => {
  const table = generators.commands!();
  assert.match(table, /^\| `prompt` \| `text`, `fade\?`, `strength\?` \| `\/ls\/prompt` \|/m);
  assert.match(table, /^\| `stream\.start` \| `url`, `size\?` \| - \|/m, 'no OSC address streams');
  assert.match(table, /^\| `record\.stop` \| \(none\) \| `\/ls\/record` \|/m);
});

test('a block with an unknown name is an error, not left as it was', () => {
  assert.throws(() => regenerate('<!-- generated:nope (npm run docs) -->\nx\n<!-- /generated:nope -->'), /unknown generated block "nope"/);
});
