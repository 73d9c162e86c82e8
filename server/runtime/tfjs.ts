// Runtime on TensorFlow.js, for models saved as model.json + weight shards (layers or graph models,
// the format ml5 and TF.js users have). Uses @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node
// when one is installed, else the pure-JavaScript CPU backend of @tensorflow/tfjs.
import type * as TF from '@tensorflow/tfjs';
import { generatorResolution, modelRoles, type Manifest } from '../model/manifest.ts';
import type { Device, Runtime, RuntimeOptions, PriorOutput } from './runtime.ts';
import { folderLoadHandler } from './tfjs-files.ts';
import { nhwcToNchw } from './layout.ts';

type Tf = typeof TF;

interface Backend {
  tf: Tf;
  /** The npm package that provides it. */
  from: string;
  device: Device;
}

/** Import an optional package: null when it is not installed, an Error when it is but fails to load. */
async function importOptional(name: string): Promise<Tf | null | Error> {
  try {
    const mod = (await import(name)) as Tf & { default?: Tf };
    return mod.default && typeof mod.default.tensor === 'function' ? mod.default : mod;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if ((e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && e.message.includes(name)) return null;
    return e;
  }
}

let backend: Promise<Backend> | null = null;

/** The TF.js to use, chosen once per process (or worker): native GPU, native CPU, then pure JS. */
function loadBackend(device: Device, warn: (m: string) => void): Promise<Backend> {
  return (backend ??= (async () => {
    const candidates: [string, Device][] = device === 'cpu' ? [] : [['@tensorflow/tfjs-node-gpu', 'cuda']];
    candidates.push(['@tensorflow/tfjs-node', 'cpu']);
    for (const [name, d] of candidates) {
      const tf = await importOptional(name);
      if (tf instanceof Error) warn(`${name} is installed but does not load (${tf.message.split('\n')[0]}); trying the next backend`);
      else if (tf) return finish(tf, name, d);
    }
    return finish((await import('@tensorflow/tfjs')) as Tf, '@tensorflow/tfjs', 'cpu');
  })());
}

async function finish(tf: Tf, from: string, device: Device): Promise<Backend> {
  // We log the backend ourselves; PROD also silences TF.js's console advice about tfjs-node.
  tf.env().set('PROD', true);
  await tf.ready();
  return { tf, from, device };
}

/** One loaded TF.js model with named inputs and outputs, whatever its kind. */
interface TfModel {
  inputs: string[];
  outputs: string[];
  run(feeds: Map<string, TF.Tensor>, outputs: string[]): Promise<TF.Tensor[]>;
  dispose(): void;
}

async function openModel(tf: Tf, dir: string, file: string): Promise<TfModel> {
  const handler = folderLoadHandler(tf.io, dir, file);
  const artifacts = await handler.load!();
  const memory = tf.io.fromMemory(artifacts);
  const topology = artifacts.modelTopology as { class_name?: string } | undefined;
  if (artifacts.format === 'graph-model' || (topology && !topology.class_name)) {
    const m = await tf.loadGraphModel(memory);
    return {
      inputs: m.inputNodes,
      outputs: m.outputNodes,
      async run(feeds, outputs) {
        const out = await m.executeAsync(Object.fromEntries(feeds), outputs);
        return Array.isArray(out) ? out : [out];
      },
      dispose: () => m.dispose(),
    };
  }
  const m = await tf.loadLayersModel(memory);
  return {
    inputs: m.inputNames,
    outputs: m.outputNames,
    async run(feeds, outputs) {
      const xs = m.inputNames.map((n) => feeds.get(n)!);
      const y = m.predict(xs.length === 1 ? xs[0]! : xs);
      const ys = Array.isArray(y) ? y : [y];
      const picked = outputs.map((o) => ys[m.outputNames.indexOf(o)]!);
      for (const t of ys) if (!picked.includes(t)) t.dispose();
      return picked;
    },
    dispose: () => m.dispose(),
  };
}

/** The model's own name for a manifest's input/output: exact, without ":0", or the only one. */
function pick(wanted: string, available: string[], kind: string, file: string): string {
  const found = available.find((n) => n === wanted) ?? available.find((n) => n.replace(/:0$/, '') === wanted);
  if (found) return found;
  if (available.length === 1) return available[0]!;
  throw new Error(`${file} has no ${kind} "${wanted}" (it has ${available.map((n) => `"${n}"`).join(', ')})`);
}

export async function createTfjsRuntime(dir: string, manifest: Manifest, opts: RuntimeOptions = {}): Promise<Runtime> {
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const info = opts.info ?? ((m: string) => console.log(m));
  const wanted: Device = opts.device ?? 'cpu';
  const { tf, from, device } = await loadBackend(wanted, warn);
  if (wanted !== device) warn(`device ${wanted} is not available for TF.js models (install @tensorflow/tfjs-node-gpu for cuda); falling back to ${device}`);
  info(`TF.js backend: ${tf.getBackend()} (${from})${from === '@tensorflow/tfjs' ? '; install @tensorflow/tfjs-node for native speed' : ''}`);

  const files = modelRoles(manifest);
  const models: Partial<Record<keyof typeof files, TfModel>> = {};
  const closeAll = () => Object.values(models).forEach((m) => m?.dispose());
  try {
    for (const [role, f] of Object.entries(files) as [keyof typeof files, string | undefined][]) {
      if (!f || opts.skip?.includes(role as 'text' | 'prior')) continue;
      try {
        models[role] = await openModel(tf, dir, f);
      } catch (err) {
        throw new Error(`cannot load ${f}: ${(err as Error).message}`);
      }
    }
    if (!models.generator) throw new Error(`cannot load ${files.generator}`);
    return await assemble(tf, device, manifest, { ...models, generator: models.generator }, closeAll);
  } catch (err) {
    closeAll();
    throw err;
  }
}

/** The Runtime over loaded models: names resolved, tensors in and out, one test frame. */
async function assemble(
  tf: Tf,
  device: Device,
  manifest: Manifest,
  models: { generator: TfModel; refiner?: TfModel; text?: TfModel; image?: TfModel; prior?: TfModel },
  closeAll: () => void,
): Promise<Runtime> {
  const g = manifest.generator;
  const gen = models.generator;
  const { width, height } = manifest.resolution;
  const base = generatorResolution(manifest);
  const zDim = g.z.dim;
  const names = {
    z: pick(g.z.input, gen.inputs, 'input', g.file),
    c: g.condition ? pick(g.condition.input, gen.inputs, 'input', g.file) : null,
    out: pick(g.output.name, gen.outputs, 'output', g.file),
  };
  const nhwc = g.output.layout === 'NHWC';
  // The refiner takes and returns images in the generator's layout, at resolution / scale and resolution.
  const refiner = manifest.refiner && models.refiner ? { model: models.refiner, ...manifest.refiner } : null;
  const refinerNames = refiner && {
    input: pick(refiner.input, refiner.model.inputs, 'input', refiner.file),
    output: pick(refiner.output, refiner.model.outputs, 'output', refiner.file),
  };
  const shape = (batch: number, h: number, w: number) => (nhwc ? [batch, h, w, 3] : [batch, 3, h, w]);

  /** Run one model and download the named outputs as Float32Arrays; frees every tensor. */
  const download = async (model: TfModel, feeds: Map<string, TF.Tensor>, outputs: string[]): Promise<Float32Array[]> => {
    let outs: TF.Tensor[] = [];
    try {
      outs = await model.run(feeds, outputs);
      return await Promise.all(outs.map(async (t) => Float32Array.from(await t.data())));
    } finally {
      for (const t of [...feeds.values(), ...outs]) t.dispose();
    }
  };

  const runtime: Runtime = {
    manifest,
    device,
    async generate(z, batch, condition, opts) {
      if (z.length !== batch * zDim) throw new RangeError(`z must hold ${batch} x ${zDim} values`);
      const refineIt = !!(refiner && refinerNames) && opts?.refine !== false;
      const size = refineIt ? { width, height } : base;
      const feeds = new Map<string, TF.Tensor>([[names.z, tf.tensor2d(z, [batch, zDim])]]);
      if (g.condition && names.c) feeds.set(names.c, tf.tensor2d(condition ?? new Float32Array(batch * g.condition.dim), [batch, g.condition.dim]));
      let out: TF.Tensor[] = [];
      try {
        out = await gen.run(feeds, [names.out]);
        let image = out[0]!;
        if (image.size !== batch * 3 * base.width * base.height) {
          throw new Error(`generator returned ${image.size} values, expected ${batch} x 3 x ${base.height} x ${base.width}`);
        }
        if (refineIt && refiner && refinerNames) {
          const input = image.reshape(shape(batch, base.height, base.width));
          out.push(input);
          image = (await refiner.model.run(new Map([[refinerNames.input, input]]), [refinerNames.output]))[0]!;
          out.push(image);
          if (image.size !== batch * 3 * width * height) throw new Error(`refiner returned ${image.size} values, expected ${batch} x 3 x ${height} x ${width}`);
        }
        const data = await image.data();
        if (nhwc) return nhwcToNchw(data, batch, size.height, size.width);
        return data instanceof Float32Array ? data : Float32Array.from(data);
      } finally {
        for (const t of [...feeds.values(), ...out]) t.dispose();
      }
    },
    async close() {
      closeAll();
    },
  };

  const text = manifest.text;
  if (models.text && text) {
    const m = models.text;
    const input = pick(text.input, m.inputs, 'input', text.encoder);
    const output = pick(text.output, m.outputs, 'output', text.encoder);
    runtime.encodeText = async (ids, batch) => {
      const feeds = new Map([[input, tf.tensor2d(Int32Array.from(ids, Number), [batch, ids.length / batch], 'int32')]]);
      return (await download(m, feeds, [output]))[0]!;
    };
  }
  const image = manifest.image;
  if (models.image && image) {
    const m = models.image;
    const input = pick(image.input, m.inputs, 'input', image.encoder);
    const output = pick(image.output, m.outputs, 'output', image.encoder);
    const s = image.size;
    const shape: [number, number, number] = image.layout === 'NHWC' ? [s, s, 3] : [3, s, s];
    runtime.encodeImage = async (images, batch) => (await download(m, new Map([[input, tf.tensor4d(images, [batch, ...shape])]]), [output]))[0]!;
  }
  const prior = manifest.prior;
  if (models.prior && prior) {
    const m = models.prior;
    const input = pick(prior.input, m.inputs, 'input', prior.file);
    const outs = [pick(prior.mean, m.outputs, 'output', prior.file), pick(prior.scale, m.outputs, 'output', prior.file)];
    runtime.prior = async (embedding, batch): Promise<PriorOutput> => {
      const [mean, scale] = await download(m, new Map([[input, tf.tensor2d(embedding, [batch, embedding.length / batch])]]), outs);
      return { mean: mean!, scale: scale! };
    };
  }

  // One frame now: a generator whose output does not fit the manifest fails at load, not on stage.
  try {
    await runtime.generate(new Float32Array(zDim), 1);
  } catch (err) {
    throw new Error(`cannot load ${g.file}: ${(err as Error).message}`);
  }
  return runtime;
}
