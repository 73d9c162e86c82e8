// `npm run docs`: rewrite the generated blocks of every markdown file in place (between their
// `<!-- generated:NAME (npm run docs) -->` and `<!-- /generated:NAME -->` markers) from the code.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { docFiles, regenerate, read, ROOT } from './tables.ts';

for (const file of docFiles()) {
  const text = read(file);
  const next = regenerate(text);
  if (next.text !== text) {
    writeFileSync(file, next.text);
    console.log(`updated ${path.relative(ROOT, file)} (${next.blocks.join(', ')})`);
  }
}
