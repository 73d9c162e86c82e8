// Several runtime workers behind one Runtime. Each call goes to the worker with the fewest calls
// in flight (running workers first), so N workers make N frames side by side. Uncapped on a CPU,
// two single-threaded workers beat one worker with two threads: a batch-1 network keeps two
// threads busy only part of the time. Each worker crashes and restarts on its own (worker.ts);
// the pool passes the events on, and the others keep serving meanwhile.
import { EventEmitter } from 'node:events';
import type { Manifest } from '../model/manifest.ts';
import type { Device, GenerateOptions, PriorOutput, RenderedFrame, Runtime } from './runtime.ts';
import type { RuntimeOptions } from './create.ts';
import { WorkerRuntime, type WorkerRuntimeEvents } from './worker.ts';
import type { WorkerState } from '../state.ts';

export class RuntimePool extends EventEmitter<WorkerRuntimeEvents> implements Runtime {
  encodeText?: Runtime['encodeText'];
  encodeImage?: Runtime['encodeImage'];
  prior?: Runtime['prior'];
  private readonly busy: number[];
  private turn = 0;

  private constructor(
    readonly manifest: Manifest,
    readonly members: WorkerRuntime[],
  ) {
    super();
    this.busy = members.map(() => 0);
    for (const m of members) {
      m.on('crash', (err) => this.emit('crash', err));
      m.on('restart', () => this.emit('restart'));
      m.on('restartFailed', (err) => this.emit('restartFailed', err));
      m.on('held', (err, ms) => this.emit('held', err, ms));
    }
    const first = members[0];
    // prompts (text encoder, prior) go to the first worker, the only one that loads those networks
    if (first.encodeText) this.encodeText = (ids, batch) => this.route((rt) => rt.encodeText!(ids, batch), 1);
    if (first.encodeImage) this.encodeImage = (images, batch) => this.route((rt) => rt.encodeImage!(images, batch));
    if (first.prior) this.prior = (embedding, batch): Promise<PriorOutput> => this.route((rt) => rt.prior!(embedding, batch), 1);
  }

  /**
   * `size` workers (at least 1) on the same model folder and options. The first loads every
   * network; the others only what frames and the search need (generator, refiner, image encoder).
   */
  static async create(dir: string, manifest: Manifest, size: number, opts: RuntimeOptions = {}): Promise<RuntimePool> {
    const started = await Promise.allSettled(
      Array.from({ length: Math.max(1, size) }, (_, i) => WorkerRuntime.create(dir, manifest, i === 0 ? opts : { ...opts, skip: ['text', 'prior'] })),
    );
    const members = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(members.map((m) => m.close()));
      throw failed.reason;
    }
    return new RuntimePool(manifest, members);
  }

  /** Frames the pool can make at once. */
  get lanes(): number {
    return this.members.length;
  }

  get device(): Device {
    return this.members[0].device;
  }

  /** 'running' when every worker is; otherwise the first that is not says what is going on. */
  get state(): WorkerState {
    return this.members.find((m) => m.state !== 'running')?.state ?? 'running';
  }

  /** Crashes since start, all workers together. */
  get crashes(): number {
    return this.members.reduce((n, m) => n + m.crashes, 0);
  }

  generate(z: Float32Array, batch: number, condition?: Float32Array | null, opts?: GenerateOptions): Promise<Float32Array> {
    return this.route((rt) => rt.generate(z, batch, condition, opts));
  }

  frame(z: Float32Array, condition: Float32Array | null, embed: boolean): Promise<RenderedFrame> {
    return this.route((rt) => rt.frame(z, condition, embed));
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.close()));
  }

  /** Run a call on the least busy running worker among the first `among` (ties rotate), counting it while in flight. */
  private async route<T>(call: (rt: WorkerRuntime) => Promise<T>, among = this.members.length): Promise<T> {
    const n = this.members.length;
    const all = among >= n;
    let best = -1;
    for (let k = 0; k < Math.min(among, n); k++) {
      const i = all ? (this.turn + k) % n : k;
      const ok = this.members[i].state === 'running';
      const bestOk = best >= 0 && this.members[best].state === 'running';
      if (best < 0 || (ok && !bestOk) || (ok === bestOk && this.busy[i] < this.busy[best])) best = i;
    }
    if (all) this.turn = (best + 1) % n;
    this.busy[best]++;
    try {
      return await call(this.members[best]);
    } finally {
      this.busy[best]--;
    }
  }
}

export interface WorkerPlan {
  workers: number;
  /** Intra-op threads per network in each worker; undefined leaves ONNX Runtime's default. */
  threads?: number;
}

/**
 * How many runtime workers to run, and their threads, unless the performer said. Capped, one
 * worker using every core makes each frame soonest (command -> frame latency). Uncapped on a CPU
 * with two or more cores, throughput counts: two workers, the cores split between them.
 */
export function planWorkers(o: { fps: number; device?: Device; workers?: number; threads?: number; cores: number }): WorkerPlan {
  const workers = o.workers ?? (o.fps === 0 && (o.device ?? 'cpu') === 'cpu' && o.cores >= 2 ? 2 : 1);
  const threads = o.threads ?? (workers > 1 ? Math.max(1, Math.floor(o.cores / workers)) : undefined);
  return { workers, threads };
}
