// The model files a browser may fetch to draw frames itself: only those the manifest lists under
// `browser.files`, and only when `browser.render` is true. Each file's URL carries its content hash
// (/api/model/files/generator.onnx?v=<sha256>), so a browser caches it for good and a model swapped
// under the same name is fetched afresh; without ?v= it revalidates (ETag) on every load.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Request, Response } from 'express';
import type { Model } from '../model/load.ts';
import { fileSha256 } from '../model/hash.ts';

export interface BrowserFile {
  name: string;
  bytes: number;
  sha256: string;
  /** Where to fetch it (immutable: cached by the browser for good). */
  url: string;
}

export interface BrowserModel {
  render: boolean;
  files: BrowserFile[];
}

const hashes = new WeakMap<Model, Promise<BrowserFile[]>>();

async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  return { sha256: await fileSha256(file), bytes: (await stat(file)).size };
}

/** What a browser needs to know to draw this model's frames (hashed once per model). */
export function browserModel(model: Model): Promise<BrowserModel> {
  const b = model.manifest.browser;
  if (!b?.render) return Promise.resolve({ render: false, files: [] });
  let files = hashes.get(model);
  if (!files) {
    files = Promise.all(
      b.files.map(async (name) => {
        const { sha256, bytes } = await hashFile(path.join(model.dir, name));
        return { name, bytes, sha256, url: `/api/model/files/${name.split('/').map(encodeURIComponent).join('/')}?v=${sha256.slice(0, 16)}` };
      }),
    );
    hashes.set(model, files);
  }
  return files.then((f) => ({ render: true, files: f }));
}

/** GET /api/model/files/*: a listed file, with caching headers; 404 for anything else. */
export async function serveModelFile(model: Model, req: Request, res: Response): Promise<void> {
  const raw = (req.params as { file?: string | string[] }).file;
  const name = Array.isArray(raw) ? raw.join('/') : (raw ?? '');
  const info = await browserModel(model);
  const file = info.files.find((f) => f.name === name);
  if (!file) {
    res.status(404).json({ error: info.render ? `not a file browsers may fetch: ${name} (see the manifest's browser.files)` : `model ${model.manifest.id} is not rendered in browsers (its manifest has no browser.render)` });
    return;
  }
  const version = typeof req.query.v === 'string' ? req.query.v : null;
  const immutable = version !== null && file.sha256.startsWith(version) && version.length >= 8;
  // the content hash is the ETag: a revalidation with it answers 304 Not Modified
  const etag = `"${file.sha256}"`;
  res.set({
    'Content-Type': 'application/octet-stream',
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    ETag: etag,
  });
  const match = req.headers['if-none-match'];
  if (match && match.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
    res.status(304).end();
    return;
  }
  res.sendFile(path.join(model.dir, file.name), {
    etag: false,
    lastModified: true,
    cacheControl: false,
    dotfiles: 'deny',
  });
}
