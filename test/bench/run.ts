// `npm run bench`: every benchmark in one run, printed as a table and as JSON
// (also written to test/artifacts/bench.json).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchLive } from './live.ts';

type Bench = () => Promise<Record<string, number | string>>;

const suites: [string, Bench | (() => Promise<Bench | null>)][] = [['live', benchLive]];

/** Benchmarks that other parts contribute, loaded when present. */
const optional: [string, string, string][] = [
  ['steering', './steering.ts', 'benchSteering'],
  ['osc', './osc.ts', 'benchOsc'],
  ['record', './record.ts', 'benchRecord'],
  ['pipeline', './pipeline.ts', 'benchPipeline'],
  ['runtimes', './runtimes.ts', 'benchRuntimes'],
  ['picture', './picture.ts', 'benchPicture'],
  ['instruments', './instruments.ts', 'benchInstruments'],
];

/** Benchmarks that run only when named (`npm run bench soak`): the 30-minute soak. */
const onRequest: [string, string, string][] = [['soak', './soak.ts', 'benchSoak']];

async function main() {
  const only = process.argv.slice(2);
  for (const entry of onRequest) if (only.includes(entry[0])) optional.push(entry);
  const results: Record<string, Record<string, number | string>> = {};
  const all: [string, Bench][] = [...(suites as [string, Bench][])];
  for (const [name, file, fn] of optional) {
    if (!existsSync(path.join(import.meta.dirname, file))) continue;
    const mod = await import(file);
    if (typeof mod[fn] === 'function') all.push([name, mod[fn] as Bench]);
  }
  for (const [name, bench] of all) {
    if (only.length && !only.includes(name)) continue;
    process.stderr.write(`bench: ${name}...\n`);
    try {
      results[name] = await bench();
    } catch (err) {
      results[name] = { error: (err as Error).message };
    }
  }
  const rows = Object.entries(results).flatMap(([suite, r]) => Object.entries(r).map(([metric, value]) => ({ suite, metric, value })));
  console.table(rows);
  const json = JSON.stringify(results, null, 2);
  console.log(json);
  const out = path.join(import.meta.dirname, '..', 'artifacts');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'bench.json'), json + '\n');
}

main().then(() => process.exit(0));
