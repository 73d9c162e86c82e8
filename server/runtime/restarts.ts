// When a crashed runtime starts again: the one policy of the worker thread (worker.ts) and the torch
// child (torch.ts). Restarts back off with the crashes of the last minute (0, 0.25, 1, 5 s); after
// MAX_CRASHES in that window the runtime is held: no restart for HOLD_MS and calls fail at once
// (the stage keeps showing its last frame), then one more try. A failed restart counts as a crash.
import { performance } from 'node:perf_hooks';
import { RuntimeCrashError } from './runtime.ts';

/** Respawn delays by the number of crashes in the window (ms); the last repeats. */
const BACKOFF = [0, 250, 1000, 5000];
/** Crashes (and failed restarts) within CRASH_WINDOW_MS that make the runtime hold instead of restarting. */
export const MAX_CRASHES = 5;
export const CRASH_WINDOW_MS = 60_000;
/** How long a held runtime waits before trying once more. */
export const HOLD_MS = 60_000;

export interface RestartWait {
  /** Milliseconds until the next start. */
  delay: number;
  /** Too many crashes in the window: until the wait ends, calls fail with `heldError`. */
  held: boolean;
  /** Resolves when the next start is due (at once after cancel()). */
  due: Promise<void>;
}

export class Restarts {
  /** When the recent crashes and failed restarts happened (monotonic ms). */
  private times: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  /** While held: the error every call fails with. */
  heldError: RuntimeCrashError | null = null;

  /** `what` names the runtime in the held error ("runtime worker", "torch runtime child process"). */
  constructor(
    private readonly what: string,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A crash (or failed restart) happened: how long to wait before the next start, and whether to hold. */
  crashed(err: Error): RestartWait {
    const now = this.now();
    this.times = [...this.times, now].filter((t) => now - t < CRASH_WINDOW_MS);
    const recent = this.times.length;
    const held = recent >= MAX_CRASHES;
    const delay = held ? HOLD_MS : BACKOFF[Math.min(recent - 1, BACKOFF.length - 1)]!;
    if (held) {
      this.heldError = new RuntimeCrashError(
        `${this.what} crashed ${recent} times in ${CRASH_WINDOW_MS / 1000} s (last: ${err.message}); holding, next try in ${HOLD_MS / 1000} s`,
      );
      this.times = [];
    }
    const due = new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, delay);
      this.timer.unref();
    }).then(() => {
      this.timer = null;
      this.wake = null;
      this.heldError = null;
    });
    return { delay, held, due };
  }

  /** Ends a pending wait now (close() does not wait out a backoff or a hold). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }
}
