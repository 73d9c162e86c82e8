// Run the repository's Python model package (server/python/latentstage) with python3 + torch, for
// model-tier tests: fixtures, importers and PyTorch reference outputs.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The first of $LATENTSTAGE_PYTHON, python3, /usr/bin/python3 that imports torch (else python3, whose error then shows). */
export const PYTHON =
  [process.env.LATENTSTAGE_PYTHON, 'python3', '/usr/bin/python3'].find((p) => p && spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) ??
  'python3';

export interface PyResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** python3 ARGS with PYTHONPATH=server/python; never throws (check .status). */
export function py(args: string[], timeoutMs = 600_000): PyResult {
  const r = spawnSync(PYTHON, args, {
    cwd: ROOT,
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'server/python'), PYTHONWARNINGS: 'ignore' },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** python3 ARGS; throws with its stderr when it fails. */
export function pyOk(args: string[], timeoutMs?: number): string {
  const r = py(args, timeoutMs);
  if (r.status !== 0) throw new Error(`python3 ${args.join(' ')} exited ${r.status}:\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}
