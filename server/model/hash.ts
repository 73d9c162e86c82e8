// sha256 of a model's files, cached per file: a recording names the generator (and refiner) it was
// made with, and a re-render checks it is going through the same ones.
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Model } from './load.ts';

const hashes = new Map<string, Promise<string>>();

/** sha256 of a file (cached per path). */
export function fileSha256(file: string): Promise<string> {
  let h = hashes.get(file);
  if (!h) {
    h = new Promise<string>((resolve, reject) => {
      const hash = createHash('sha256');
      createReadStream(file)
        .on('data', (d) => hash.update(d))
        .on('end', () => resolve(hash.digest('hex')))
        .on('error', reject);
    });
    h.catch(() => hashes.delete(file));
    hashes.set(file, h);
  }
  return h;
}

/** sha256 of a model's generator file (cached per file). */
export function generatorSha256(model: Pick<Model, 'dir' | 'manifest'>): Promise<string> {
  return fileSha256(path.join(model.dir, model.manifest.generator.file));
}

/** sha256 of a model's refiner file, or undefined for a model without one. */
export async function refinerSha256(model: Pick<Model, 'dir' | 'manifest'>): Promise<string | undefined> {
  const r = model.manifest.refiner;
  return r ? fileSha256(path.join(model.dir, r.file)) : undefined;
}
