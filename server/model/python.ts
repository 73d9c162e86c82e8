// The Python side (server/python/latentstage): find a python3 that imports torch, run its modules.
// Used by `latentstage import` and by the torch runtime. Nothing is installed or downloaded here:
// when no Python with PyTorch is found, the error says what to install.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** server/python: the PYTHONPATH entry that holds the latentstage package. */
export const PYTHON_PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'python');

export class PythonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PythonError';
  }
}

export interface Python {
  /** The interpreter, as found ($LATENTSTAGE_PYTHON, else python3 on PATH, else /usr/bin/python3). */
  executable: string;
  torch: string;
}

export const INSTALL_TORCH =
  'install PyTorch for Python 3: `sudo apt-get install --no-install-recommends python3-torch python3-numpy` (Debian/Ubuntu) or `pip install torch numpy`; or set LATENTSTAGE_PYTHON to a python that has it';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  spawnError?: NodeJS.ErrnoException;
}

/** The environment of a latentstage Python process: our package first on PYTHONPATH. */
export function pythonEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PYTHONPATH: [PYTHON_PACKAGE_ROOT, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter), PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' };
}

function run(executable: string, args: string[], opts: { timeoutMs?: number; onStderr?: (chunk: string) => void } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(executable, args, { env: pythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : null;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(d);
    });
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      resolve({ code: null, stdout, stderr, spawnError: err });
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** $LATENTSTAGE_PYTHON alone when set; else python3 on PATH, then the system's /usr/bin/python3. */
function candidates(): string[] {
  if (process.env.LATENTSTAGE_PYTHON) return [process.env.LATENTSTAGE_PYTHON];
  return ['python3', '/usr/bin/python3'];
}

let found: Promise<Python> | null = null;

/**
 * The first candidate Python that imports torch (cached), or `executable` alone when given (the
 * torch runtime's option); PythonError saying what to install otherwise.
 */
export function findPython(executable?: string): Promise<Python> {
  if (executable) return probe([executable]);
  found ??= probe(candidates());
  found.catch(() => (found = null));
  return found;
}

function probe(list: string[]): Promise<Python> {
  return (async () => {
    const tried: string[] = [];
    for (const exe of list) {
      const r = await run(exe, ['-c', 'import sys, numpy, torch; assert sys.version_info >= (3, 8); print(torch.__version__)'], { timeoutMs: 120_000 });
      if (r.spawnError) {
        tried.push(`${exe}: not found`);
        continue;
      }
      if (r.code === 0) return { executable: exe, torch: r.stdout.trim() };
      const why = /No module named '?(\w+)/.exec(r.stderr)?.[1];
      tried.push(`${exe}: ${why ? `no ${why} module` : (r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`)}`);
    }
    throw new PythonError(`no Python 3 with PyTorch found (${tried.join('; ')}); ${INSTALL_TORCH}`);
  })();
}

export interface ModuleResult {
  stdout: string;
  stderr: string;
}

/**
 * Run `python3 -m latentstage.<module> ...args`. A non-zero exit throws PythonError with the
 * module's last stderr line (its one-line message for bad input), or the traceback's last line.
 */
export async function runModule(module: string, args: string[], opts: { onStderr?: (chunk: string) => void; timeoutMs?: number } = {}): Promise<ModuleResult> {
  if (!/^[a-z_][a-z0-9_.]*$/.test(module)) throw new PythonError(`bad module name ${module}`);
  const py = await findPython();
  const r = await run(py.executable, ['-m', `latentstage.${module}`, ...args], opts);
  if (r.spawnError) throw new PythonError(`cannot run ${py.executable}: ${r.spawnError.message}`);
  if (r.code !== 0) {
    const last = r.stderr.trim().split('\n').filter((l) => l.trim()).pop() ?? `exit code ${r.code}`;
    throw new PythonError(last.replace(/^latentstage import: /, ''));
  }
  return { stdout: r.stdout, stderr: r.stderr };
}
