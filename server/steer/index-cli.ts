// `latentstage index MODEL_FOLDER [-n N] [--seed S] [--batch B] [--device D] [--threads T]`: build the
// model's latent bank (bank-index.ts) with a progress bar on stderr.
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { loadModel } from '../model/load.ts';
import { MANIFEST } from '../model/manifest.ts';
import { devices } from '../runtime/runtime.ts';
import { buildBank } from './bank-index.ts';

export const INDEX_USAGE = `usage: latentstage index MODEL_FOLDER [options]

Renders N sampled latents, stores their CLIP image embeddings next to the model (bank.json +
bank.bin, a few MB) and sets the manifest's "bank"; prompts then steer through it (server/steer/README.md).

  -n N           latents to sample and render (default 2000)
  --seed S       sampling seed (default 1)
  --batch B      pictures per runtime call (default 16)
  --device D     ${devices.join('|')} (default cpu)
  --threads T    inference threads
`;

export class IndexUsageError extends Error {}

const int = (name: string, min: number, max: number) =>
  z.coerce.number({ error: `${name} must be a number` }).int(`${name} must be an integer`).min(min, `${name} must be >= ${min}`).max(max, `${name} must be <= ${max}`);

const schema = z.object({
  n: int('-n', 1, 1_000_000).default(2000),
  seed: int('--seed', 0, 2 ** 32 - 1).default(1),
  batch: int('--batch', 1, 1024).default(16),
  device: z.enum(devices, { error: `--device must be one of ${devices.join(', ')}` }).default('cpu'),
  threads: int('--threads', 1, 64).optional(),
});

export function parseIndexArgs(args: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: { n: { type: 'string', short: 'n' }, seed: { type: 'string' }, batch: { type: 'string' }, device: { type: 'string' }, threads: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw new IndexUsageError((err as Error).message);
  }
  if (parsed.values.help) throw new IndexUsageError('');
  if (parsed.positionals.length !== 1) throw new IndexUsageError('give exactly one MODEL_FOLDER');
  const r = schema.safeParse(parsed.values);
  if (!r.success) throw new IndexUsageError(r.error.issues.map((i) => i.message).join('\n'));
  const dir = parsed.positionals[0]!;
  if (!existsSync(path.join(dir, MANIFEST))) throw new IndexUsageError(`no model at ${dir} (${MANIFEST} missing)`);
  return { dir, ...r.data };
}

export async function indexCli(args: string[]): Promise<string> {
  const o = parseIndexArgs(args);
  const model = await loadModel(o.dir, { device: o.device, threads: o.threads, skip: ['prior'], warn: (m) => console.error(`latentstage: warning: ${m}`) });
  const bar = new cliProgress.SingleBar(
    { format: 'indexing {bar} {percentage}% | {value}/{total} latents | {speed}/s | ETA {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  let started = false;
  try {
    const file = await buildBank(model, {
      count: o.n,
      seed: o.seed,
      batch: o.batch,
      onProgress: (done, total) => {
        if (!started) {
          bar.start(total, 0, { speed: '-' });
          started = true;
        }
        bar.update(done, { speed: (done / Math.max(1e-3, (performance.now() - t0) / 1000)).toFixed(0) });
      },
    });
    if (started) bar.stop();
    console.log(`latent bank of ${o.n} latents written to ${file} in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${path.join(o.dir, MANIFEST)} now names it`);
    return file;
  } finally {
    if (started) bar.stop();
    await model.runtime.close();
  }
}
