// The import graph of server/ has no cycle: every relative import (type-only imports, re-exports
// and dynamic imports included) is an edge, and the test fails naming each ring it finds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../server');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|mjs)$/.test(e.name) ? [p] : [];
  });
}

/** Relative specifiers a file imports: import/export ... from '...', import '...', import('...'). */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of code.matchAll(/\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of code.matchAll(/\bimport\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out.filter((s) => s.startsWith('.'));
}

/** The strongly connected components with more than one file (or a file importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const ring: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        ring.push(w);
      } while (w !== v);
      if (ring.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(ring.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('server/ has no import cycle (type imports included)', () => {
  const files = sources(SERVER);
  assert.ok(files.length > 50, `found ${files.length} files under server/`);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps = importsOf(readFileSync(f, 'utf8'))
      .map((s) => path.resolve(path.dirname(f), s))
      .filter((p) => p.startsWith(SERVER + path.sep));
    graph.set(path.relative(SERVER, f), deps.map((p) => path.relative(SERVER, p)));
  }
  const rings = cycles(graph);
  assert.deepEqual(rings.map((r) => r.join(' <-> ')), [], `${rings.length} import cycle(s) in server/`);
});

test('the import scanner sees type imports, re-exports and dynamic imports', () => {
  const text = [
    "import type { A } from './a.ts';",
    "import { b,\n  c } from '../b.ts';",
    "export { d } from './d.ts';",
    "export type { E } from './e.ts';",
    "import './side.ts';",
    "const f = await import('./f.ts');",
    "import { z } from 'zod';",
    "// import { no } from './comment.ts';",
  ].join('\n');
  assert.deepEqual(importsOf(text).sort(), ['../b.ts', './a.ts', './d.ts', './e.ts', './f.ts', './side.ts']);
});

test('feature.ts imports no feature', () => {
  const deps = importsOf(readFileSync(path.join(SERVER, 'feature.ts'), 'utf8'));
  const features = deps.filter((d) => /^\.\/(steer|record|mod|surfaces|runtime)\//.test(d) || d === './presets.ts');
  assert.deepEqual(features, []);
});
