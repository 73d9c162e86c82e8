// Runs one tier of the test suite: each test file in a node process of its own, one file at a time,
// with the tier's default per-test timeout (a test may ask for more with its own `timeout`), and a
// wall-clock limit per file so a hung file fails instead of hanging the run. Prints each file's
// time and the tier's total against its budget (test/README.md).
//
//   node --import tsx test/tiers.ts unit|model|integration|import|browser [FILE...]
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Tier {
  /** What the tier's tests need. */
  doc: string;
  /** Default timeout of each test (ms). */
  test: number;
  /** Wall-clock limit of one file (ms). */
  file: number;
  /** What the whole tier should take on CI (2 cores), in seconds. */
  budget: number;
}

export const tiers: Record<string, Tier> = {
  unit: { doc: 'pure code: no model, no network peer, no child process', test: 10_000, file: 60_000, budget: 60 },
  model: { doc: 'loads models (fixture ONNX/TF.js networks, the shipped model) in this process', test: 120_000, file: 600_000, budget: 240 },
  integration: { doc: 'a running server and real peers (OSC tools, ffmpeg, nginx)', test: 120_000, file: 600_000, budget: 300 },
  import: { doc: 'model import and the PyTorch runtime: python3 + torch converting and running real architectures', test: 180_000, file: 600_000, budget: 240 },
  browser: { doc: 'real Chromium against a running server', test: 120_000, file: 600_000, budget: 180 },
  // Not in `npm test`: needs python3-torch and the recipe's dataset caches (.ci/recipe builds them).
  recipe: { doc: 'the model recipe end to end: python3 + torch training smoke runs, ONNX export', test: 300_000, file: 900_000, budget: 900 },
};

function run(file: string, name: string, tier: Tier): Promise<{ ok: boolean; seconds: number; why?: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `--test-timeout=${tier.test}`, file], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, LATENTSTAGE_TEST_TIER: name } });
    const limit = setTimeout(() => child.kill('SIGKILL'), tier.file);
    child.on('exit', (code, signal) => {
      clearTimeout(limit);
      const seconds = (performance.now() - t0) / 1000;
      if (signal === 'SIGKILL') resolve({ ok: false, seconds, why: `killed after the file limit of ${tier.file / 1000} s` });
      else resolve({ ok: code === 0, seconds, why: code === 0 ? undefined : `exit code ${code ?? signal}` });
    });
  });
}

async function main(): Promise<number> {
  const [name, ...only] = process.argv.slice(2);
  const tier = name ? tiers[name] : undefined;
  if (!name || !tier) {
    console.error(`usage: test/tiers.ts ${Object.keys(tiers).join('|')} [FILE...]`);
    return 2;
  }
  const dir = path.join('test', name);
  const files = only.length ? only : readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith('.test.ts')).sort().map((f) => path.join(dir, f));
  const t0 = performance.now();
  const rows: string[] = [];
  let failed = 0;
  for (const file of files) {
    const r = await run(file, name, tier);
    if (!r.ok) failed++;
    rows.push(`${r.ok ? 'ok  ' : 'FAIL'} ${r.seconds.toFixed(1).padStart(6)} s  ${file}${r.why ? `  (${r.why})` : ''}`);
  }
  const total = (performance.now() - t0) / 1000;
  console.log(`\n${name} tier (${tier.doc}): default test timeout ${tier.test / 1000} s`);
  for (const r of rows) console.log(`  ${r}`);
  console.log(`  ${files.length} files, ${failed} failed, ${total.toFixed(1)} s (budget ${tier.budget} s${total > tier.budget ? ': over budget' : ''})`);
  return failed ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('tiers.ts')) process.exitCode = await main();
