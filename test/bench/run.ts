// `npm run bench`: every benchmark in one run, printed as a table and as JSON
// (also written to test/artifacts/bench.json). A suite that throws is reported in the table and
// makes the run fail (exit code 1), as does asking for a suite that does not exist.
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
  ['torch-transport', './torch-transport.ts', 'benchTorchTransport'],
  ['picture', './picture.ts', 'benchPicture'],
  ['instruments', './instruments.ts', 'benchInstruments'],
  ['models', './models.ts', 'benchModels'],
  ['webrtc', './webrtc.ts', 'benchWebrtc'],
  ['latent', './latent.ts', 'benchLatent'],
];

/** Benchmarks that run only when named (`npm run bench soak`): the 30-minute soak. */
const onRequest: [string, string, string][] = [['soak', './soak.ts', 'benchSoak']];

/** Write the results so far to test/artifacts/bench.json. */
function save(results: Record<string, Record<string, number | string>>): void {
  const out = path.join(import.meta.dirname, '..', 'artifacts');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'bench.json'), JSON.stringify(results, null, 2) + '\n');
}

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
  const unknown = only.filter((n) => !all.some(([name]) => name === n));
  if (unknown.length) throw new Error(`no such benchmark: ${unknown.join(', ')} (known: ${all.map(([n]) => n).join(', ')})`);
  const failed: string[] = [];
  for (const [name, bench] of all) {
    if (only.length && !only.includes(name)) continue;
    process.stderr.write(`bench: ${name}...\n`);
    try {
      results[name] = await bench();
      // each suite's numbers reach the disk as it ends: a suite that crashes the process keeps the others'
      save(results);
    } catch (err) {
      results[name] = { error: (err as Error).message };
      failed.push(name);
      process.stderr.write(`bench: ${name} failed: ${(err as Error).stack ?? err}\n`);
    }
  }
  const rows = Object.entries(results).flatMap(([suite, r]) => Object.entries(r).map(([metric, value]) => ({ suite, metric, value })));
  console.table(rows);
  console.log(JSON.stringify(results, null, 2));
  save(results);
  if (failed.length) throw new Error(`${failed.length} benchmark suite(s) failed: ${failed.join(', ')}`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exit(1);
  },
);
