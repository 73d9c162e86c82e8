// MIDI clock (24 ticks per quarter note) -> tempo, with no DOM. The tempo is the slope of a line
// fitted through the last ticks' times (robust to jitter), smoothed; the page shows and sends the
// smoothed value in 0.1 BPM steps whenever it changes (at most every SEND_MS), so what the page
// shows, what the server holds and the clock agree once it settles (a new tempo is followed as
// the window slides over it: about 4 beats).

const WINDOW = 96; // ticks in the fit (4 beats)
const MIN_TICKS = 48; // ticks before the first estimate (2 beats)
const SMOOTH = 0.08; // share of each new fit in the smoothed tempo
export const SEND_MS = 250;

/** Tempo of ticks `c` (ms), as the slope of a least-squares line. */
function fit(c) {
  const n = c.length;
  const mk = (n - 1) / 2;
  const mt = c.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - mk) * (c[i] - mt);
    den += (i - mk) ** 2;
  }
  return 60000 / ((num / den) * 24);
}

export class ClockTempo {
  constructor() {
    this.ticks = [];
    /** Smoothed tempo (BPM), or null before enough ticks. */
    this.smoothed = null;
    /** The tempo shown and sent (BPM, 0.1 steps), or null before enough ticks. */
    this.bpm = null;
    this.lastSent = null;
    this.lastSentAt = -Infinity;
  }

  /** Forget the ticks (a MIDI start). */
  reset() {
    this.ticks = [];
    this.smoothed = null;
  }

  /** One clock tick at `t` ms; returns the BPM to send now, or null. */
  tick(t) {
    const c = this.ticks;
    c.push(t);
    if (c.length > WINDOW) c.shift();
    if (c.length < MIN_TICKS) return null;
    const raw = fit(c);
    this.smoothed = this.smoothed === null ? raw : this.smoothed + (raw - this.smoothed) * SMOOTH;
    this.bpm = Math.round(this.smoothed * 10) / 10;
    return this.flush(t);
  }

  /** Is there a shown tempo that has not gone out yet (held back by SEND_MS)? */
  get waiting() {
    return this.bpm !== null && this.bpm !== this.lastSent && this.bpm >= 20 && this.bpm <= 400;
  }

  /** The tempo to send at `t` ms, if one is waiting and SEND_MS has passed; else null. */
  flush(t) {
    if (!this.waiting || t - this.lastSentAt < SEND_MS) return null;
    this.lastSent = this.bpm;
    this.lastSentAt = t;
    return this.bpm;
  }
}
