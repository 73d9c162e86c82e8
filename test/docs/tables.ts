// The reference tables that are generated from the code, and the marked blocks of the folder
// READMEs they fill: the command list (commands.ts + command-docs.ts, with the OSC addresses that
// reach each command), the parameter table (params.ts) and the OSC address table (osc/table.ts).
// `npm run docs` rewrites the blocks; test/unit/docs.test.ts fails when one differs.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandSchemas, commandTypes } from '../../server/commands.ts';
import { commandDocs } from '../../server/command-docs.ts';
import { numericParams, numericParamNames, enumParams, type NumericParam } from '../../server/params.ts';
import { oscRoutes, oscTableMarkdown, DEFAULT_PREFIX } from '../../server/surfaces/osc/table.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const esc = (s: string) => s.replaceAll('|', '\\|');

/** The OSC addresses that dispatch a command type. */
function oscAddresses(type: string): string[] {
  return oscRoutes()
    .filter((r) => r.command.split(' / ').some((c) => c.split(' ')[0] === type))
    .map((r) => DEFAULT_PREFIX + r.path);
}

export function commandTable(): string {
  const lines = ['| command | fields (`?` optional) | OSC | what it does |', '| --- | --- | --- | --- |'];
  for (const type of commandTypes) {
    const shape = (commandSchemas[type] as unknown as { shape: Record<string, { isOptional(): boolean }> }).shape;
    const fields = type === 'set' ? 'any parameter below' : Object.entries(shape).filter(([f]) => f !== 'type').map(([f, s]) => `\`${f}${s.isOptional() ? '?' : ''}\``).join(', ') || '(none)';
    const osc = oscAddresses(type);
    const where = osc.length === 0 ? '-' : osc.length > 3 ? `${osc.slice(0, 2).map((a) => `\`${a}\``).join(', ')} and ${osc.length - 2} more` : osc.map((a) => `\`${a}\``).join(', ');
    lines.push(`| \`${type}\` | ${fields} | ${where} | ${esc(commandDocs[type] ?? '')} |`);
  }
  return lines.join('\n');
}

export function paramTable(): string {
  const lines = ['| parameter | range | default | modulated | meaning |', '| --- | --- | --- | --- | --- |'];
  for (const name of numericParamNames) {
    const p: NumericParam = numericParams[name];
    lines.push(`| \`${name}\` | ${p.min}..${p.max}${p.unit ? ` ${p.unit}` : ''} | ${p.default} | ${p.modulate ? 'yes' : 'no'} | ${esc(p.doc)} |`);
  }
  for (const [name, p] of Object.entries(enumParams)) {
    lines.push(`| \`${name}\` | ${p.values.map((v) => `\`${v}\``).join(', ')} | \`${p.default}\` | no | ${esc(p.doc)} |`);
  }
  return lines.join('\n');
}

export const generators: Record<string, () => string> = {
  commands: commandTable,
  params: paramTable,
  osc: () => oscTableMarkdown(),
};

const BLOCK = /(<!-- generated:([a-z-]+) \(npm run docs\) -->\n)([\s\S]*?)(<!-- \/generated:\2 -->)/g;

/** The text with every generated block filled in from the code, and the names of the blocks. */
export function regenerate(text: string): { text: string; blocks: string[] } {
  const blocks: string[] = [];
  const out = text.replace(BLOCK, (_all, open: string, name: string, _old: string, close: string) => {
    const gen = generators[name];
    if (!gen) throw new Error(`unknown generated block "${name}" (known: ${Object.keys(generators).join(', ')})`);
    blocks.push(name);
    return `${open}${gen()}\n${close}`;
  });
  return { text: out, blocks };
}

/** Every markdown file of the repository (not dependencies, not build output). */
export function docFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.startsWith('.') || e.name === 'node_modules' || e.name === 'artifacts' || e.name === 'cache' || e.name === 'runs') return [];
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return docFiles(p);
    return e.name.endsWith('.md') ? [p] : [];
  });
}

export const read = (file: string) => readFileSync(file, 'utf8');
