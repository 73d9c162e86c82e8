// Model folders for the torch runtime's tests and benches: a fixture checkpoint written by
// latentstage.fixtures (random weights, a real architecture in its real file format), imported
// with latentstage.importer into a folder with both ONNX files and PyTorch weights. Built once per
// process and kind, with the python3 that has torch (server/model/python.ts).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runModule } from '../../server/model/python.ts';

const built = new Map<string, Promise<string>>();

/**
 * An imported model folder from a fixture checkpoint: `kind` as latentstage.fixtures names it
 * (nvlabs-sg2, ...), `extra` the fixture generator's options. Cached per process.
 */
export function importedFixture(kind = 'nvlabs-sg2', extra: string[] = [], importer = 'stylegan'): Promise<string> {
  const key = [kind, ...extra].join(' ');
  let p = built.get(key);
  if (!p) {
    p = (async () => {
      const tmp = mkdtempSync(path.join(tmpdir(), `ls-torch-${kind}-`));
      const src = path.join(tmp, kind.startsWith('nvlabs') ? 'source.pkl' : 'source.pt');
      await runModule('fixtures', [kind, src, ...extra], { timeoutMs: 600_000 });
      const out = path.join(tmp, 'model');
      await runModule('importer', [importer, src, '-o', out], { timeoutMs: 600_000 });
      return out;
    })();
    built.set(key, p);
    p.catch(() => built.delete(key));
  }
  return p;
}
