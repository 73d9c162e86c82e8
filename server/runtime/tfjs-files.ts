// TF.js model folders on disk: a model.json (layers or graph model) and the weight shards its
// weightsManifest lists, next to it. Plain fs, no TF.js import, so the manifest check can name a
// missing shard without loading TensorFlow.js.
import { readFile, access } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import type { io } from '@tensorflow/tfjs';

export class TfjsFileError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'TfjsFileError';
  }
}

/** model.json parsed, with the weight-shard paths resolved inside `dir`. */
export interface TfjsModelFiles {
  json: io.ModelJSON;
  /** Absolute path of each shard, in weightsManifest order. */
  shards: string[];
}

/** Read `file` (a model.json relative to `dir`) and resolve its shards; checks each shard exists. */
export async function readTfjsModelJson(dir: string, file: string): Promise<TfjsModelFiles> {
  const jsonPath = path.join(dir, file);
  let json: io.ModelJSON;
  try {
    json = JSON.parse(await readFile(jsonPath, 'utf8')) as io.ModelJSON;
  } catch (err) {
    throw new TfjsFileError(`${jsonPath} is not a readable TF.js model.json: ${(err as Error).message}`, file);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology) throw new TfjsFileError(`${jsonPath} has no modelTopology; is it a TF.js model.json?`, file);
  const base = path.dirname(jsonPath);
  const root = path.resolve(dir);
  const shards: string[] = [];
  for (const group of json.weightsManifest ?? []) {
    for (const p of group.paths) {
      const abs = path.resolve(base, decodeURIComponent(p));
      if (path.isAbsolute(p) || /^[a-z]+:/i.test(p) || (abs !== root && !abs.startsWith(root + path.sep))) {
        throw new TfjsFileError(`${jsonPath}: weight path "${p}" must be a relative path inside the model folder`, p);
      }
      try {
        await access(abs, constants.R_OK);
      } catch {
        throw new TfjsFileError(`file ${abs} named in ${file} is missing`, path.relative(root, abs));
      }
      shards.push(abs);
    }
  }
  return { json, shards };
}

/**
 * A TF.js IOHandler that loads a model.json and its shards from a folder (TF.js has file://
 * loading only in tfjs-node). `getModelArtifactsForJSON` comes from the TF.js in use, so the
 * handler works with @tensorflow/tfjs and with tfjs-node's bundled copy alike.
 */
export function folderLoadHandler(
  tfio: Pick<typeof io, 'getModelArtifactsForJSON'>,
  dir: string,
  file: string,
): io.IOHandler {
  return {
    async load() {
      const { json, shards } = await readTfjsModelJson(dir, file);
      return tfio.getModelArtifactsForJSON(json, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const bytes = Buffer.concat(await Promise.all(shards.map((s) => readFile(s))));
        const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
        return [specs, data];
      });
    },
  };
}
