// Frame timing on a fixed grid: frame n belongs at t0 + n / fps. When generation falls behind, the
// loop skips to the current slot instead of drifting in time.

export interface Tick {
  /** Frame slot to produce now. */
  index: number;
  /** Slots advanced since the last produced frame (1 = none skipped). */
  frames: number;
  /** Seconds of walk time this step covers (frames / fps). */
  dt: number;
}

/** Given the elapsed ms since start, the slot due now, or null with the ms to wait for the next. */
export function nextTick(elapsedMs: number, fps: number, last: number): Tick | { wait: number } {
  const due = Math.floor((elapsedMs * fps) / 1000);
  if (due <= last) return { wait: ((last + 1) * 1000) / fps - elapsedMs };
  const frames = due - last;
  return { index: due, frames, dt: frames / fps };
}
