// The torch runtime: a Python child process (server/python/latentstage/serve.py) runs the model
// folder's PyTorch weights (load_folder) on cuda, mps or the cpu, behind the same Runtime interface.
// This is the GPU path: PyTorch with CUDA or MPS is what artists with a GPU have.
//
// Requests and replies cross two pipes (torch-wire.ts). A live frame is one call that returns 8-bit
// RGB made on the device; the JPEG encode stays in Node. The search's candidates go in one call
// that returns only their embeddings (embedLatents). Networks the folder has no PyTorch weights for
// (a prior, or encoders imported as ONNX only) run on ONNX Runtime in this process.
//
// Lifecycle as the worker thread's (restarting.ts): the child's death rejects the calls in flight with
// RuntimeCrashError, emits 'crash' and starts a fresh child while callers wait, with the same
// backoff and hold (a model that kills its child at every start is held, not restarted in a loop);
// close() asks the child to finish, then kills it after a timeout. Its PID is `pid`.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { generatorResolution, ModelError, type Manifest, type ModelRole } from '../model/manifest.ts';
import { findPython, pythonEnv } from '../model/python.ts';
import { RuntimeCrashError, type Device, type GenerateOptions, type PriorOutput, type RenderedFrame, type Runtime, type RuntimeOptions } from './runtime.ts';
import { encodeMessage, f32, WireReader, type WireMessage } from './torch-wire.ts';
import { RestartingRuntime, type RestartingEvents } from './restarting.ts';

/** How long close() waits for the child to finish before killing it. */
const CLOSE_TIMEOUT = 5000;
/** How long a child may take to load and warm up before it counts as failed. */
const START_TIMEOUT = 300_000;

/** The same events as the worker thread's, so the server watches both alike. */
export type TorchRuntimeEvents = RestartingEvents;

interface Has {
  encodeText: boolean;
  encodeImage: boolean;
  width: number;
  height: number;
}

/** Why a model folder cannot run on the torch runtime (null when it can). */
export function torchUnfit(m: Manifest): string | null {
  if (!m.torch?.generator) return `model ${m.id} has no PyTorch weights ("torch" in its manifest): import it with \`latentstage import\`, or serve it with --runtime onnx`;
  return null;
}

export class TorchRuntime extends RestartingRuntime<WireMessage> implements Runtime {
  device: Device = 'cpu';
  readonly lanes = 1;
  encodeText?: Runtime['encodeText'];
  encodeImage?: Runtime['encodeImage'];
  prior?: Runtime['prior'];
  embedLatents?: Runtime['embedLatents'];
  private child: ChildProcess | null = null;
  private input: Writable | null = null;
  /** ONNX Runtime for the networks the child does not run (opened once, kept across restarts). */
  private onnx: Runtime | null = null;
  private readonly warn: (message: string) => void;
  private readonly info: (message: string) => void;

  private constructor(
    readonly manifest: Manifest,
    private readonly dir: string,
    private readonly python: string,
    private readonly options: RuntimeOptions,
  ) {
    super('torch runtime child process');
    this.warn = options.warn ?? ((m) => console.warn(m));
    this.info = options.info ?? ((m) => console.log(m));
    this.ready = this.spawn().then((has) => this.bind(has));
  }

  static async create(dir: string, manifest: Manifest, opts: RuntimeOptions = {}): Promise<TorchRuntime> {
    const unfit = torchUnfit(manifest);
    if (unfit) throw new ModelError(unfit);
    const { executable: python } = await findPython(opts.torch?.python);
    const rt = new TorchRuntime(manifest, dir, python, opts);
    try {
      await rt.ready;
    } catch (err) {
      await rt.close();
      throw err;
    }
    return rt;
  }

  /** The child process now serving calls (undefined while none is). */
  get pid(): number | undefined {
    return this.state === 'running' ? this.child?.pid : undefined;
  }

  async generate(z: Float32Array, batch: number, condition?: Float32Array | null, opts?: GenerateOptions): Promise<Float32Array> {
    const zDim = this.manifest.generator.z.dim;
    if (!Number.isInteger(batch) || batch < 1 || z.length !== batch * zDim) throw new RangeError(`z must hold ${batch} x ${zDim} values`);
    const m = await this.call({ op: 'generate', batch, live: !!opts?.live }, this.inputs(z, condition));
    return f32(m.parts[0]!);
  }

  async frame(z: Float32Array, condition: Float32Array | null, embed: boolean): Promise<RenderedFrame> {
    const zDim = this.manifest.generator.z.dim;
    if (z.length !== zDim) throw new RangeError(`z must hold ${zDim} values`);
    const m = await this.call({ op: 'frame', embed: embed && !!this.manifest.image }, this.inputs(z, condition));
    // the child sends 8-bit RGB only: NaN output is not detected for this runtime (finite: true)
    return { rgb: m.parts[0]!, embedding: await this.embedding(m.header.embed, m.parts[1], 1), finite: true };
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await this.settleRestarts();
      this.state = 'closed';
      this.rejectAll(new Error('runtime closed'));
      const child = this.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        this.send({ op: 'close' }, []);
        this.input?.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT);
        await exited;
        clearTimeout(timer);
      }
      this.child = null;
      await this.onnx?.close();
      this.onnx = null;
    })());
  }

  private inputs(z: Float32Array, condition?: Float32Array | null): Float32Array[] {
    const cond = this.manifest.generator.condition;
    if (!cond) return [z];
    const batch = z.length / this.manifest.generator.z.dim;
    const c = condition ?? new Float32Array(batch * cond.dim);
    if (c.length !== batch * cond.dim) throw new RangeError(`condition must hold ${batch} x ${cond.dim} values`);
    return [z, c];
  }

  /** A reply's embedding: made by the child, or the encoder's input it sent, encoded here on ONNX. */
  private async embedding(kind: unknown, part: Buffer | undefined, batch: number): Promise<Float32Array | null> {
    if (!part || (kind !== 'embedding' && kind !== 'input')) return null;
    if (kind === 'embedding') return f32(part);
    if (!this.onnx?.encodeImage) throw new Error('torch runtime: the child sent an image encoder input but no image encoder is loaded');
    return this.onnx.encodeImage(f32(part), batch);
  }

  private spawn(): Promise<Has> {
    const o = this.options;
    const args = ['-m', 'latentstage.serve', this.dir, '--device', o.device ?? 'cpu'];
    if (o.threads) args.push('--threads', String(o.threads));
    if (o.torch?.fp16) args.push('--fp16');
    if (o.torch?.compile) args.push('--compile');
    if (o.torch?.cudaGraphs) args.push('--cuda-graphs');
    const child = spawn(this.python, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'], env: pythonEnv() });
    const input = child.stdio[3] as Writable;
    const output = child.stdio[4] as Readable;
    let tail = '';
    const lines = (stream: Readable | null, log: (m: string) => void) => {
      let buf = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (s: string) => {
        tail = (tail + s).slice(-2000);
        buf += s;
        const parts = buf.split('\n');
        buf = parts.pop()!;
        for (const l of parts) if (l.trim()) log(`torch runtime: ${l}`);
      });
    };
    lines(child.stdout, this.info);
    lines(child.stderr, this.warn);
    input.on('error', () => {});
    return new Promise<Has>((resolve, reject) => {
      let started = false;
      let failed: string | null = null;
      const timer = setTimeout(() => {
        failed = `did not start within ${START_TIMEOUT / 1000} s`;
        child.kill('SIGKILL');
      }, START_TIMEOUT);
      const reader = new WireReader((m) => {
        const h = m.header;
        if (typeof h.id === 'number') {
          this.settle(h.id, typeof h.error === 'string' ? { error: new Error(`torch runtime: ${h.error}`) } : { value: m });
          return;
        }
        switch (h.event) {
          case 'ready':
            started = true;
            clearTimeout(timer);
            this.child = child;
            this.input = input;
            this.device = h.device as Device;
            this.state = 'running';
            resolve(h.has as Has);
            return;
          case 'failed':
            failed = String(h.message);
            return;
          case 'warn':
            this.warn(`torch runtime: ${String(h.message)}`);
            return;
          case 'info':
            this.info(`torch runtime: ${String(h.message)}`);
            return;
        }
      });
      output.on('data', (chunk: Buffer) => {
        try {
          reader.push(chunk);
        } catch (err) {
          failed = (err as Error).message;
          child.kill('SIGKILL');
        }
      });
      output.on('error', () => {});
      child.on('error', (err) => {
        failed ??= err.message;
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        const how = signal ? `killed by ${signal}` : `exit code ${code}`;
        if (!started) {
          const last = tail.trim().split('\n').slice(-3).join(' | ');
          reject(new Error(`torch runtime did not start (${failed ?? how})${last && !failed ? `: ${last}` : ''}`));
          return;
        }
        if (this.child === child) {
          this.child = null;
          this.input = null;
        }
        if (this.closing) return;
        this.crashed(new RuntimeCrashError(`torch runtime child ${child.pid} died (${failed ?? how})`));
      });
    });
  }

  /** Bind the calls the model has (once: later children load the same folder) and check the picture size. */
  private async bind(has: Has): Promise<void> {
    const m = this.manifest;
    const want = m.resolution;
    if (has.width !== want.width || has.height !== want.height) {
      const base = generatorResolution(m);
      const why =
        m.refiner && has.width === base.width && has.height === base.height
          ? `the folder's refiner has no PyTorch weights (the torch generator draws ${has.width}x${has.height})`
          : `the PyTorch generator draws ${has.width}x${has.height}, the manifest says ${want.width}x${want.height}`;
      throw new ModelError(`model ${m.id} cannot run on the torch runtime: ${why}`);
    }
    if (this.onnx || this.encodeText || this.encodeImage) return;
    // what the child lacks, ONNX Runtime runs here
    const onnxRoles: ModelRole[] = [];
    if (m.text && !has.encodeText && !this.options.skip?.includes('text')) onnxRoles.push('text');
    if (m.image && !has.encodeImage) onnxRoles.push('image');
    if (m.prior && !this.options.skip?.includes('prior')) onnxRoles.push('prior');
    if (onnxRoles.length && (m.runtime ?? 'onnx') !== 'tfjs') {
      const { createOnnxRuntime } = await import('./onnx.ts');
      const skip = (['generator', 'refiner', 'text', 'image', 'prior'] as ModelRole[]).filter((r) => !onnxRoles.includes(r));
      this.onnx = await createOnnxRuntime(this.dir, m, { threads: this.options.threads, warn: this.warn, info: this.info, skip });
    }
    const onnx = this.onnx;
    if (has.encodeText) {
      this.encodeText = (ids, batch) => this.call({ op: 'encodeText', batch }, [ids]).then((r) => f32(r.parts[0]!));
    } else if (onnx?.encodeText) this.encodeText = (ids, batch) => onnx.encodeText!(ids, batch);
    if (has.encodeImage) {
      this.encodeImage = (images, batch) => this.call({ op: 'encodeImage', batch }, [images]).then((r) => f32(r.parts[0]!));
    } else if (onnx?.encodeImage) this.encodeImage = (images, batch) => onnx.encodeImage!(images, batch);
    if (onnx?.prior) this.prior = (embedding, batch): Promise<PriorOutput> => onnx.prior!(embedding, batch);
    if (this.encodeImage) {
      this.embedLatents = async (z, batch, condition) => {
        const zDim = m.generator.z.dim;
        if (!Number.isInteger(batch) || batch < 1 || z.length !== batch * zDim) throw new RangeError(`z must hold ${batch} x ${zDim} values`);
        const r = await this.call({ op: 'embed', batch }, this.inputs(z, condition));
        const e = await this.embedding(r.header.embed, r.parts[0], batch);
        if (!e) throw new Error('torch runtime: the child returned no embeddings');
        return e;
      };
    }
  }

  /** A fresh child after a crash (the first start also binds the networks it serves). */
  protected start(): Promise<Has> {
    return this.spawn();
  }

  private call(header: Record<string, unknown>, parts: ArrayBufferView[]): Promise<WireMessage> {
    return this.request((id) => {
      if (!this.child) throw new RuntimeCrashError('torch runtime is restarting');
      this.send({ ...header, id }, parts);
    });
  }

  private send(header: Record<string, unknown>, parts: ArrayBufferView[]): void {
    const input = this.input;
    if (!input) return;
    // one buffer: the inputs are copied (they are small, and callers may reuse theirs), one write
    input.write(encodeMessage(header, parts));
  }
}

export function createTorchRuntime(dir: string, manifest: Manifest, opts: RuntimeOptions = {}): Promise<TorchRuntime> {
  return TorchRuntime.create(dir, manifest, opts);
}
