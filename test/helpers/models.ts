// Real-format model fixtures for the import tests: random-init networks written by the Python
// fixture generator (server/python/latentstage/fixtures.py), imported by the real CLI path, and
// the torch reference the ONNX export is compared with.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runModule } from '../../server/model/python.ts';
import { importCli } from '../../server/model/import-cli.ts';

export function tempDir(prefix = 'ls-models-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Write fixture KIND (e.g. nvlabs-sg2) to `out`. */
export async function makeFixture(kind: string, out: string, seed = 0): Promise<string> {
  await runModule('fixtures', [kind, out, '--seed', String(seed)]);
  return out;
}

/** `latentstage import KIND SRC -o OUT` through the CLI's own code path (quiet). */
export async function importModel(kind: string, src: string, out: string, extra: string[] = []): Promise<string> {
  await importCli([kind, src, '-o', out, ...extra], () => {});
  return out;
}

/** Deterministic standard-normal numbers (Box-Muller on a small LCG). */
export function normals(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

/** The folder's torch generator on z (batch rows), as NCHW float32: the reference for the ONNX. */
export async function torchGenerate(folder: string, z: Float32Array, batch: number, opts: { condition?: Float32Array; truncation?: number } = {}): Promise<Float32Array> {
  const dir = tempDir('ls-render-');
  const zf = path.join(dir, 'z.f32');
  const out = path.join(dir, 'images.f32');
  writeFileSync(zf, Buffer.from(z.buffer, z.byteOffset, z.byteLength));
  const args = [folder, '--z', zf, '--batch', String(batch), '--out', out];
  if (opts.condition) {
    const cf = path.join(dir, 'c.f32');
    writeFileSync(cf, Buffer.from(opts.condition.buffer, opts.condition.byteOffset, opts.condition.byteLength));
    args.push('--condition', cf);
  }
  if (opts.truncation !== undefined) args.push('--truncation', String(opts.truncation));
  try {
    await runModule('render', args);
    const b = readFileSync(out);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
