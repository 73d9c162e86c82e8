// Finding the Python that runs latentstage's PyTorch code (model import, the torch runtime): the
// interpreter in LATENTSTAGE_PYTHON, else python3 on the PATH, else the system's /usr/bin/python3
// (where Debian's python3-torch lives when a pyenv or venv python3 comes first on the PATH), the
// first with torch and numpy importable. When none has them the answer is one clear message that
// says what to install.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The folder that holds the `latentstage` Python package (server/python). */
export const PYTHON_ROOT = fileURLToPath(new URL('../python/', import.meta.url));

export const INSTALL_TORCH =
  'install PyTorch for python3: `apt-get install --no-install-recommends python3-torch` (Debian/Ubuntu) or `pip install torch numpy` (or set LATENTSTAGE_PYTHON to a python that has them)';

export interface PythonInfo {
  /** The interpreter to run. */
  python: string;
  /** torch.__version__. */
  torch: string;
  /** Whether CUDA / Apple MPS are usable from that torch. */
  cuda: boolean;
  mps: boolean;
}

export class PythonMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PythonMissingError';
  }
}

const PROBE = [
  'import json, torch, numpy',
  'mps = getattr(torch.backends, "mps", None)',
  'print(json.dumps({"torch": torch.__version__, "cuda": bool(torch.cuda.is_available()), "mps": bool(mps and mps.is_available())}))',
].join('\n');

const probes = new Map<string, Promise<PythonInfo>>();

/** The python3 to use and its torch; rejects with PythonMissingError (the message says what to install). */
export async function findPython(python = process.env.LATENTSTAGE_PYTHON): Promise<PythonInfo> {
  if (python) return probeOnce(python);
  try {
    return await probeOnce('python3');
  } catch (err) {
    return probeOnce('/usr/bin/python3').catch(() => Promise.reject(err));
  }
}

function probeOnce(python: string): Promise<PythonInfo> {
  let p = probes.get(python);
  if (!p) {
    p = probe(python);
    probes.set(python, p);
    p.catch(() => probes.delete(python));
  }
  return p;
}

function probe(python: string): Promise<PythonInfo> {
  return new Promise((resolve, reject) => {
    execFile(python, ['-c', PROBE], { timeout: 120_000, env: pythonEnv() }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new PythonMissingError(`${python} was not found: the torch runtime and model import need Python 3 with PyTorch; ${INSTALL_TORCH}`));
      }
      if (err) {
        const why = /No module named '?(\w+)/.exec(stderr)?.[1];
        const what = why ? `${python} cannot import ${why}` : `${python} failed to import torch (${stderr.trim().split('\n').pop() ?? err.message})`;
        return reject(new PythonMissingError(`${what}; ${INSTALL_TORCH}`));
      }
      try {
        const info = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Omit<PythonInfo, 'python'>;
        resolve({ python, ...info });
      } catch {
        reject(new PythonMissingError(`${python} did not answer the torch check (${stdout.trim().slice(0, 200)}); ${INSTALL_TORCH}`));
      }
    });
  });
}

/** The environment for a latentstage Python child: our package on PYTHONPATH, unbuffered output. */
export function pythonEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const pp = process.env.PYTHONPATH;
  return { ...process.env, PYTHONPATH: pp ? `${PYTHON_ROOT}:${pp}` : PYTHON_ROOT, PYTHONUNBUFFERED: '1', ...extra };
}
