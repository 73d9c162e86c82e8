// When OSC messages apply. Faders: the first value per address in a frame applies at once, later
// ones wait for the next frame and only the newest of them survives (a 100 ms fallback covers a
// stalled loop). Bundles: at their timetag, bounded in how far ahead and how many wait.

const FRAME_FALLBACK_MS = 100;
export const MAX_AHEAD_MS = 60_000;
export const MAX_SCHEDULED = 1024;

export class FaderPacer<T> {
  private appliedThisFrame = new Set<string>();
  private pending = new Map<string, T>();
  private fallback: NodeJS.Timeout | null = null;

  /** `apply` runs a value now; `coalesced` counts a value replaced before it applied. */
  constructor(
    private readonly apply: (key: string, value: T) => void,
    private readonly coalesced: () => void = () => {},
  ) {}

  /** A fader moved: apply now, or keep as the newest value for the next frame. */
  offer(key: string, value: T): void {
    if (!this.appliedThisFrame.has(key)) {
      this.appliedThisFrame.add(key);
      return this.apply(key, value);
    }
    if (this.pending.has(key)) this.coalesced();
    this.pending.set(key, value);
    this.fallback ??= setTimeout(() => this.frame(), FRAME_FALLBACK_MS); // in case frames stall
  }

  /** Apply what waits now (before a queued command, to keep arrival order). */
  flush(): void {
    for (const [key, value] of this.pending) {
      this.appliedThisFrame.add(key);
      this.apply(key, value);
    }
    this.pending.clear();
  }

  /** A new frame: every fader may apply once more. */
  frame(): void {
    if (this.fallback) clearTimeout(this.fallback);
    this.fallback = null;
    this.appliedThisFrame.clear();
    this.flush();
  }

  close(): void {
    if (this.fallback) clearTimeout(this.fallback);
    this.fallback = null;
    this.pending.clear();
  }
}

export class BundleTimer {
  private scheduled = new Set<NodeJS.Timeout>();

  /**
   * Run `fn` at `at` (ms since the epoch; 0 or past = now). Returns an error message instead when
   * the time is too far ahead or too many bundles wait.
   */
  at(at: number, fn: () => void, now = Date.now()): string | null {
    const delay = at - now;
    if (at === 0 || delay <= 0) {
      fn();
      return null;
    }
    if (delay > MAX_AHEAD_MS) return `bundle timetag is more than ${MAX_AHEAD_MS / 1000} s ahead`;
    if (this.scheduled.size >= MAX_SCHEDULED) return `more than ${MAX_SCHEDULED} bundles waiting for their time`;
    const t = setTimeout(() => {
      this.scheduled.delete(t);
      fn();
    }, delay);
    this.scheduled.add(t);
    return null;
  }

  close(): void {
    for (const t of this.scheduled) clearTimeout(t);
    this.scheduled.clear();
  }
}
