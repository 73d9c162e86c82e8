// The runtime in a worker thread, behind the same Runtime interface: inference never runs on the
// event loop, so sockets, OSC and commands never wait behind it. Inputs are copied (they are small
// and callers keep them); outputs come back as transferred buffers, without copies.
//
// A crash of the worker (a native abort, an uncaught error, an exit nobody asked for) rejects the
// calls in flight with RuntimeCrashError, emits 'crash', and starts a fresh worker; calls made
// meanwhile wait for it. Restarts back off, and a runtime that keeps crashing is held (calls fail
// at once, 'held' says so): restarting.ts, as the torch runtime. close() lets the worker release its
// sessions and joins the thread (a pending restart is cancelled).
import { Worker } from 'node:worker_threads';
import type { Manifest } from '../model/manifest.ts';
import { RuntimeCrashError, type Device, type PriorOutput, type Runtime, type GenerateOptions, type RenderedFrame } from './runtime.ts';
import type { RuntimeOptions } from './create.ts';
import type { WorkerCall, WorkerEvent, WorkerReply } from './worker-protocol.ts';
import { RestartingRuntime, type RestartingEvents } from './restarting.ts';

const BOOT = new URL('./worker-boot.mjs', import.meta.url);
/** How long close() waits for the worker to release its sessions before terminating it. */
const CLOSE_TIMEOUT = 5000;

type CallBody = WorkerCall extends infer C ? (C extends WorkerCall ? Omit<C, 'id'> : never) : never;

/** The events the server and the pool watch (restarting.ts). */
export type WorkerRuntimeEvents = RestartingEvents;

export class WorkerRuntime extends RestartingRuntime<unknown> implements Runtime {
  device: Device = 'cpu';
  encodeText?: Runtime['encodeText'];
  encodeImage?: Runtime['encodeImage'];
  prior?: Runtime['prior'];
  private current: Worker | null = null;
  private lastError: Error | null = null;
  private readonly warn: (message: string) => void;
  private readonly info: (message: string) => void;

  private constructor(
    readonly manifest: Manifest,
    private readonly dir: string,
    private readonly options: RuntimeOptions,
  ) {
    super('runtime worker');
    this.warn = options.warn ?? ((m) => console.warn(m));
    this.info = options.info ?? ((m) => console.log(m));
    this.ready = this.start();
  }

  static async create(dir: string, manifest: Manifest, opts: RuntimeOptions = {}): Promise<WorkerRuntime> {
    const rt = new WorkerRuntime(manifest, dir, opts);
    await rt.ready;
    return rt;
  }

  /** The worker thread now serving calls (null while none is), for logs and tests. */
  get worker(): Worker | null {
    return this.current;
  }

  generate(z: Float32Array, batch: number, condition?: Float32Array | null, opts?: GenerateOptions): Promise<Float32Array> {
    const zDim = this.manifest.generator.z.dim;
    if (z.length !== batch * zDim) return Promise.reject(new RangeError(`z must hold ${batch} x ${zDim} values`));
    const c = condition ? condition.slice() : null;
    const zc = z.slice();
    return this.call({ op: 'generate', z: zc, batch, condition: c, live: !!opts?.live, refine: opts?.refine !== false }, c ? [zc.buffer, c.buffer] : [zc.buffer]) as Promise<Float32Array>;
  }

  /** A live frame made whole in the worker: the RGB picture (and embedding) cross, not the floats. */
  async frame(z: Float32Array, condition: Float32Array | null, embed: boolean): Promise<RenderedFrame> {
    const zDim = this.manifest.generator.z.dim;
    if (z.length !== zDim) throw new RangeError(`z must hold ${zDim} values`);
    const c = condition ? condition.slice() : null;
    const zc = z.slice();
    // a transferred Buffer arrives as a plain Uint8Array over the same memory
    const r = (await this.call({ op: 'frame', z: zc, condition: c, embed }, c ? [zc.buffer, c.buffer] : [zc.buffer])) as { rgb: Uint8Array; embedding: Float32Array | null; finite: boolean };
    return { rgb: Buffer.from(r.rgb.buffer, r.rgb.byteOffset, r.rgb.byteLength), embedding: r.embedding, finite: r.finite };
  }

  /** Make the worker fail the way an uncaught error in it does (for recovery tests and drills). */
  simulateCrash(): void {
    this.current?.postMessage({ op: 'crash' });
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await this.settleRestarts();
      this.state = 'closed';
      const w = this.current;
      this.rejectAll(new Error('runtime closed'));
      if (!w) return;
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      w.postMessage({ op: 'close' });
      const timer = setTimeout(() => void w.terminate(), CLOSE_TIMEOUT);
      await exited;
      clearTimeout(timer);
      this.current = null;
    })());
  }

  protected start(): Promise<void> {
    const { warn: _warn, info: _info, ...options } = this.options;
    // referenced while it loads (so a process awaiting the model does not exit meanwhile), then
    // only while calls are in flight
    const worker = new Worker(BOOT, { workerData: { dir: this.dir, manifest: this.manifest, options } });
    return new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on('message', (msg: WorkerReply | WorkerEvent) => {
        switch (msg.type) {
          case 'ready':
            started = true;
            if (this.pending.size === 0) worker.unref();
            this.current = worker;
            this.device = msg.device;
            this.bind(msg.has);
            this.state = 'running';
            resolve();
            return;
          case 'warn':
            this.warn(msg.message);
            return;
          case 'info':
            this.info(msg.message);
            return;
          case 'result':
          case 'error':
            if (this.settle(msg.id, msg.type === 'result' ? { value: msg.value } : { error: new Error(msg.message) }) && this.pending.size === 0) worker.unref();
            return;
        }
      });
      worker.on('error', (err) => {
        this.lastError = err;
      });
      worker.on('exit', (code) => {
        if (!started) {
          reject(this.lastError ?? new Error(`runtime worker exited with code ${code} before it was ready`));
          this.lastError = null;
          return;
        }
        if (this.current === worker) this.current = null;
        if (this.closing) return;
        const err = new RuntimeCrashError(`runtime worker crashed: ${this.lastError?.message ?? `exit code ${code}`}`);
        this.lastError = null;
        this.crashed(err);
      });
    });
  }

  private bind(has: { encodeText: boolean; encodeImage: boolean; prior: boolean }): void {
    this.encodeText = has.encodeText
      ? (ids, batch) => {
          const c = ids.slice();
          return this.call({ op: 'encodeText', ids: c, batch }, [c.buffer]) as Promise<Float32Array>;
        }
      : undefined;
    this.encodeImage = has.encodeImage
      ? (images, batch) => {
          const c = images.slice();
          return this.call({ op: 'encodeImage', images: c, batch }, [c.buffer]) as Promise<Float32Array>;
        }
      : undefined;
    this.prior = has.prior
      ? (embedding, batch) => {
          const c = embedding.slice();
          return this.call({ op: 'prior', embedding: c, batch }, [c.buffer]) as Promise<PriorOutput>;
        }
      : undefined;
  }

  private call(body: CallBody, transfer: ArrayBuffer[]): Promise<unknown> {
    return this.request((id) => {
      const w = this.current;
      if (!w) throw new RuntimeCrashError('runtime worker is restarting');
      w.ref();
      w.postMessage({ ...body, id }, transfer);
    });
  }
}

export function createWorkerRuntime(dir: string, manifest: Manifest, opts: RuntimeOptions = {}): Promise<WorkerRuntime> {
  return WorkerRuntime.create(dir, manifest, opts);
}
