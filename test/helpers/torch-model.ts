// Model folders for the torch runtime's tests and benches: a fixture checkpoint written by
// latentstage.fixtures (random weights, a real architecture in its real file format), imported
// with latentstage.importer into a folder with both ONNX files and PyTorch weights. Built once per
// process and kind, with the python3 that has torch (server/model/python.ts).
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findPython, pythonEnv } from '../../server/model/python.ts';

const run = promisify(execFile);
const built = new Map<string, Promise<string>>();

/** python3 -m latentstage.<module> args..., with our package on the path; rejects with its stderr. */
export async function runPython(module: string, args: string[], timeout = 600_000): Promise<string> {
  const { python } = await findPython();
  try {
    const { stdout } = await run(python, ['-m', `latentstage.${module}`, ...args], { env: pythonEnv(), timeout, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`python3 -m latentstage.${module} ${args.join(' ')} failed: ${e.stderr?.trim().split('\n').slice(-5).join('\n') || e.message}`);
  }
}

/**
 * An imported model folder from a fixture checkpoint: `kind` as latentstage.fixtures names it
 * (nvlabs-sg2, ...), `extra` its options (e.g. ['--size', '512']). Cached per process.
 */
export function importedFixture(kind = 'nvlabs-sg2', extra: string[] = [], importer = 'stylegan'): Promise<string> {
  const key = [kind, ...extra].join(' ');
  let p = built.get(key);
  if (!p) {
    p = (async () => {
      const tmp = mkdtempSync(path.join(tmpdir(), `ls-torch-${kind}-`));
      const src = path.join(tmp, kind.includes('pkl') || kind.startsWith('nvlabs') ? 'source.pkl' : 'source.pt');
      await runPython('fixtures', [kind, src, ...extra]);
      const out = path.join(tmp, 'model');
      await runPython('importer', [importer, src, '-o', out]);
      return out;
    })();
    built.set(key, p);
    p.catch(() => built.delete(key));
  }
  return p;
}
