// The runtime in a worker thread, behind the same Runtime interface: inference never runs on the
// event loop, so sockets, OSC and commands never wait behind it. Inputs are copied (they are small
// and callers keep them); outputs come back as transferred buffers, without copies.
//
// A crash of the worker (a native abort, an uncaught error, an exit nobody asked for) rejects the
// calls in flight with RuntimeCrashError, emits 'crash', and starts a fresh worker; calls made
// meanwhile wait for it. Restarts back off, and a runtime that keeps crashing is held (calls fail
// at once, 'held' says so), as restarts.ts says. close() lets the worker release its sessions and
// joins the thread (a pending restart is cancelled).
import { Worker } from 'node:worker_threads';
import { EventEmitter } from 'node:events';
import type { Manifest } from '../model/manifest.ts';
import { RuntimeCrashError, type Device, type PriorOutput, type Runtime, type GenerateOptions, type RenderedFrame } from './runtime.ts';
import type { RuntimeOptions } from './create.ts';
import type { WorkerCall, WorkerEvent, WorkerReply } from './worker-protocol.ts';
import type { WorkerState } from '../state.ts';
import { Restarts } from './restarts.ts';

export { MAX_CRASHES, CRASH_WINDOW_MS, HOLD_MS } from './restarts.ts';

const BOOT = new URL('./worker-boot.mjs', import.meta.url);
/** How long close() waits for the worker to release its sessions before terminating it. */
const CLOSE_TIMEOUT = 5000;

type CallBody = WorkerCall extends infer C ? (C extends WorkerCall ? Omit<C, 'id'> : never) : never;

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export interface WorkerRuntimeEvents {
  /** The worker died; calls in flight were rejected and a fresh worker is starting. */
  crash: [Error];
  /** A fresh worker is ready after a crash. */
  restart: [];
  /** A fresh worker could not start; another try follows. */
  restartFailed: [Error];
  /** Too many crashes in the window: no restart before `retryInMs` (the last frame stays up). */
  held: [Error, number];
}

export class WorkerRuntime extends EventEmitter<WorkerRuntimeEvents> implements Runtime {
  device: Device = 'cpu';
  encodeText?: Runtime['encodeText'];
  encodeImage?: Runtime['encodeImage'];
  prior?: Runtime['prior'];
  /** Crashes since start. */
  crashes = 0;
  state: WorkerState = 'starting';
  private current: Worker | null = null;
  private ready: Promise<void>;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly restarts = new Restarts('runtime worker');
  private closing: Promise<void> | null = null;
  private lastError: Error | null = null;
  private readonly warn: (message: string) => void;
  private readonly info: (message: string) => void;

  private constructor(
    readonly manifest: Manifest,
    private readonly dir: string,
    private readonly options: RuntimeOptions,
  ) {
    super();
    this.warn = options.warn ?? ((m) => console.warn(m));
    this.info = options.info ?? ((m) => console.log(m));
    this.ready = this.spawn();
  }

  static async create(dir: string, manifest: Manifest, opts: RuntimeOptions = {}): Promise<WorkerRuntime> {
    const rt = new WorkerRuntime(manifest, dir, opts);
    await rt.ready;
    return rt;
  }

  /** Calls sent to the worker and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
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
      this.restarts.cancel();
      await this.ready.catch(() => {});
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

  private spawn(): Promise<void> {
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
          case 'error': {
            const p = this.pending.get(msg.id);
            if (!p) return;
            this.pending.delete(msg.id);
            if (this.pending.size === 0) worker.unref();
            if (msg.type === 'result') p.resolve(msg.value);
            else p.reject(new Error(msg.message));
            return;
          }
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

  private crashed(err: Error): void {
    this.crashes++;
    this.state = 'restarting';
    this.rejectAll(err);
    this.emit('crash', err);
    this.respawn(err);
  }

  /** Start a fresh worker after the backoff, or hold (restarts.ts). */
  private respawn(err: Error): void {
    const wait = this.restarts.crashed(err);
    if (wait.held) {
      this.state = 'held';
      this.emit('held', err, wait.delay);
    }
    this.ready = wait.due.then(() => {
      if (this.closing) return;
      this.state = 'restarting';
      return this.spawn().then(
        () => {
          this.emit('restart');
        },
        (e: Error) => {
          this.emit('restartFailed', e);
          if (!this.closing) this.respawn(e);
          throw e;
        },
      );
    });
    this.ready.catch(() => {});
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

  private async call(body: CallBody, transfer: ArrayBuffer[]): Promise<unknown> {
    if (this.restarts.heldError) throw this.restarts.heldError;
    if (this.state !== 'running') await this.ready;
    if (this.closing) throw new Error('runtime closed');
    const w = this.current;
    if (!w) throw new RuntimeCrashError('runtime worker is restarting');
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ ...body, id }, transfer);
    });
  }

  private rejectAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }
}

export function createWorkerRuntime(dir: string, manifest: Manifest, opts: RuntimeOptions = {}): Promise<WorkerRuntime> {
  return WorkerRuntime.create(dir, manifest, opts);
}
