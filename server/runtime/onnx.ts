// Runtime on onnxruntime-node. Sessions are created once per model file; asking for a device that
// is not available falls back to CPU with a warning, never a crash.
import * as ort from 'onnxruntime-node';
import path from 'node:path';
import { generatorResolution, modelRoles, type Manifest } from '../model/manifest.ts';
import type { Device, Runtime, RuntimeOptions, PriorOutput } from './runtime.ts';
import { nhwcToNchw } from './layout.ts';

const providers: Record<Device, string | null> = {
  cpu: 'cpu',
  cuda: 'cuda',
  mps: null,
  tensorrt: 'tensorrt',
  coreml: 'coreml',
  dml: 'dml',
};

export type OnnxRuntimeOptions = RuntimeOptions;

async function createSession(file: string, device: Device, threads: number | undefined, spin: boolean): Promise<ort.InferenceSession> {
  const allow_spinning = spin ? '1' : '0';
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: device === 'cpu' ? ['cpu'] : [providers[device] ?? `${device} (not an ONNX Runtime provider)`],
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning }, inter_op: { allow_spinning } } },
  };
  if (threads) options.intraOpNumThreads = threads;
  return ort.InferenceSession.create(file, options);
}

/** Create all sessions of a model on the requested device, falling back to CPU as a whole. */
export async function createOnnxRuntime(dir: string, manifest: Manifest, opts: OnnxRuntimeOptions = {}): Promise<Runtime> {
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  let device: Device = opts.device ?? 'cpu';
  const files = modelRoles(manifest);
  const open = async (d: Device) => {
    const out: Partial<Record<keyof typeof files, ort.InferenceSession>> = {};
    for (const [role, f] of Object.entries(files) as [keyof typeof files, string | undefined][]) {
      if (!f || opts.skip?.includes(role)) continue;
      try {
        out[role] = await createSession(path.join(dir, f), d, opts.threads, opts.spin ?? false);
      } catch (err) {
        await Promise.all(Object.values(out).map((s) => s?.release()));
        throw Object.assign(err as Error, { file: f });
      }
    }
    return out;
  };
  let sessions: Awaited<ReturnType<typeof open>>;
  try {
    sessions = await open(device);
  } catch (err) {
    if (device === 'cpu') throw new Error(`cannot load ${(err as { file?: string }).file ?? 'model'}: ${(err as Error).message}`);
    warn(`device ${device} is not available (${(err as Error).message.split('\n')[0]}); falling back to cpu`);
    device = 'cpu';
    sessions = await open('cpu');
  }
  // absent only when skipped: a helper for another runtime's missing networks (torch.ts)
  const gen = sessions.generator;
  const { width, height } = manifest.resolution;
  const base = generatorResolution(manifest);
  const zDim = manifest.generator.z.dim;
  const truncation = manifest.generator.truncation;
  const truncationFeed = new ort.Tensor('float32', Float32Array.of(truncation?.default ?? 1), [1]);
  const refiner = manifest.refiner;
  const refine = sessions.refiner;
  // The refiner takes the generator's layout (NCHW or NHWC) at resolution / scale.
  const nhwc = manifest.generator.output.layout === 'NHWC';
  const baseShape = (batch: number) => (nhwc ? [batch, base.height, base.width, 3] : [batch, 3, base.height, base.width]);

  const runtime: Runtime = {
    manifest,
    device,
    async generate(z, batch, condition, opts) {
      if (z.length !== batch * zDim) throw new RangeError(`z must hold ${batch} x ${zDim} values`);
      if (!gen) throw new Error('this runtime was opened without its generator');
      const feeds: Record<string, ort.Tensor> = { [manifest.generator.z.input]: new ort.Tensor('float32', z, [batch, zDim]) };
      const cond = manifest.generator.condition;
      if (cond) {
        const c = condition ?? new Float32Array(batch * cond.dim);
        feeds[cond.input] = new ort.Tensor('float32', c, [batch, cond.dim]);
      }
      if (truncation) feeds[truncation.input] = truncationFeed;
      const out = await gen.run(feeds);
      const data = out[manifest.generator.output.name].data as Float32Array;
      if (data.length !== batch * 3 * base.width * base.height) {
        throw new Error(`generator returned ${data.length} values, expected ${batch} x 3 x ${base.height} x ${base.width}`);
      }
      if (!refine || !refiner || opts?.refine === false) return nhwc ? nhwcToNchw(data, batch, base.height, base.width) : data;
      const refined = (await refine.run({ [refiner.input]: new ort.Tensor('float32', data, baseShape(batch)) }))[refiner.output]?.data as Float32Array | undefined;
      if (!refined || refined.length !== batch * 3 * width * height) {
        throw new Error(`refiner returned ${refined?.length ?? 'no'} values, expected ${batch} x 3 x ${height} x ${width}`);
      }
      return nhwc ? nhwcToNchw(refined, batch, height, width) : refined;
    },
    async close() {
      await Promise.all(Object.values(sessions).map((s) => s?.release()));
    },
  };

  const text = manifest.text;
  if (sessions.text && text) {
    const s = sessions.text;
    runtime.encodeText = async (ids, batch) => {
      const out = await s.run({ [text.input]: new ort.Tensor('int64', ids, [batch, ids.length / batch]) });
      return out[text.output].data as Float32Array;
    };
  }
  const image = manifest.image;
  if (sessions.image && image) {
    const s = sessions.image;
    runtime.encodeImage = async (images, batch) => {
      const out = await s.run({ [image.input]: new ort.Tensor('float32', images, image.layout === 'NHWC' ? [batch, image.size, image.size, 3] : [batch, 3, image.size, image.size]) });
      return out[image.output].data as Float32Array;
    };
  }
  const prior = manifest.prior;
  if (sessions.prior && prior) {
    const s = sessions.prior;
    runtime.prior = async (embedding, batch): Promise<PriorOutput> => {
      const out = await s.run({ [prior.input]: new ort.Tensor('float32', embedding, [batch, embedding.length / batch]) });
      return { mean: out[prior.mean].data as Float32Array, scale: out[prior.scale].data as Float32Array };
    };
  }
  return runtime;
}
