// What the worker thread runtime (worker.ts) and the torch child runtime (torch.ts) share: a runtime
// served by something that can die. Its calls in flight are kept by id; a death rejects them with
// RuntimeCrashError, emits 'crash', and starts a fresh one after the backoff or hold of restarts.ts
// while new calls wait for it (or fail at once while held). Each subclass brings how to start one
// (`start`), how to talk to it and how to close it.
import { EventEmitter } from 'node:events';
import { Restarts } from './restarts.ts';
import type { WorkerState } from '../state.ts';

/** The events of a restarting runtime; the server (watchWorker) and the pool listen to them alike. */
export interface RestartingEvents {
  /** The worker or child died; calls in flight were rejected and a fresh one is starting. */
  crash: [Error];
  /** A fresh one is ready after a crash. */
  restart: [];
  /** A fresh one could not start; another try follows. */
  restartFailed: [Error];
  /** Too many crashes in the window: no restart before `retryInMs` (the last frame stays up). */
  held: [Error, number];
}

interface Pending<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

export abstract class RestartingRuntime<Reply> extends EventEmitter<RestartingEvents> {
  /** Crashes since start. */
  crashes = 0;
  state: WorkerState = 'starting';
  /** What calls wait on while the state is not 'running': the first start, then each restart. */
  protected ready: Promise<void> = Promise.resolve();
  protected closing: Promise<void> | null = null;
  protected readonly pending = new Map<number, Pending<Reply>>();
  private nextId = 1;
  private readonly restarts: Restarts;

  /** `what` names it in errors: "runtime worker", "torch runtime child process". */
  constructor(what: string) {
    super();
    this.restarts = new Restarts(what);
  }

  /** Start a fresh worker or child; resolves once it serves (and has set `state` to 'running'). */
  protected abstract start(): Promise<unknown>;

  /** Calls sent and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Send a call with a fresh id once it can be served; `send` writes it out. */
  protected async request(send: (id: number) => void): Promise<Reply> {
    if (this.restarts.heldError) throw this.restarts.heldError;
    if (this.state !== 'running') await this.ready;
    if (this.closing) throw new Error('runtime closed');
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        send(id);
      } catch (err) {
        this.pending.delete(id);
        reject(err as Error);
      }
    });
  }

  /** The answer to call `id` (ignored when that call is no longer waiting); true when one was. */
  protected settle(id: number, result: { value: Reply } | { error: Error }): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    this.pending.delete(id);
    if ('error' in result) p.reject(result.error);
    else p.resolve(result.value);
    return true;
  }

  /** The worker or child died while serving. */
  protected crashed(err: Error): void {
    this.crashes++;
    this.state = 'restarting';
    this.rejectAll(err);
    this.emit('crash', err);
    this.respawn(err);
  }

  /** Before closing: end a pending backoff or hold now and wait for a start in progress. */
  protected async settleRestarts(): Promise<void> {
    this.restarts.cancel();
    await this.ready.catch(() => {});
  }

  protected rejectAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }

  /** Start a fresh one after the backoff, or hold (restarts.ts); a failed start counts as a crash. */
  private respawn(err: Error): void {
    const wait = this.restarts.crashed(err);
    if (wait.held) {
      this.state = 'held';
      this.emit('held', err, wait.delay);
    }
    this.ready = wait.due.then(() => {
      if (this.closing) return;
      this.state = 'restarting';
      return this.start().then(
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
}
