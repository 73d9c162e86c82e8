// Audio features for modulation, with no DOM: band energies (low/mid/high), loudness, onsets
// (spectral flux over an adaptive threshold) and a tempo estimate from the onset times. The audio
// page feeds it an AnalyserNode's spectrum and waveform; everything is 0..1 for mod.input.

export const BANDS = { low: [20, 250], mid: [250, 4000], high: [4000, 16000] };

/** Map decibels to 0..1 over [floor, 0] dB. */
export const level = (db, floor = -90) => Math.min(1, Math.max(0, (db - floor) / -floor));

/** Mean power of a band of an AnalyserNode spectrum (dB per bin), as dB. */
export function bandDb(spectrum, sampleRate, [lo, hi]) {
  const binHz = sampleRate / 2 / spectrum.length;
  const a = Math.max(1, Math.floor(lo / binHz));
  const b = Math.min(spectrum.length - 1, Math.ceil(hi / binHz));
  let p = 0;
  for (let i = a; i <= b; i++) p += 10 ** (spectrum[i] / 10);
  return 10 * Math.log10(p / Math.max(1, b - a + 1) + 1e-12);
}

/** RMS of a waveform in dBFS. */
export function rmsDb(wave) {
  let s = 0;
  for (let i = 0; i < wave.length; i++) s += wave[i] * wave[i];
  return 10 * Math.log10(s / wave.length + 1e-12);
}

/** Onsets: positive spectral flux above mean + k·deviation of the recent flux, at most one per `gap` ms. */
export class OnsetDetector {
  constructor({ k = 2.5, history = 60, gap = 120, floor = 0.02 } = {}) {
    Object.assign(this, { k, history, gap, floor });
    this.prev = null;
    this.fluxes = [];
    this.last = -Infinity;
  }

  /** Feed one spectrum (dB per bin) at time `t` (ms); true when an onset starts here. */
  push(spectrum, t) {
    let flux = 0;
    if (this.prev) {
      for (let i = 0; i < spectrum.length; i++) {
        const d = level(spectrum[i], -100) - level(this.prev[i], -100);
        if (d > 0) flux += d;
      }
      flux /= spectrum.length;
    } else this.prev = new Float32Array(spectrum.length);
    this.prev.set(spectrum);
    const f = this.fluxes;
    const mean = f.length ? f.reduce((a, b) => a + b, 0) / f.length : 0;
    const dev = f.length ? Math.sqrt(f.reduce((a, b) => a + (b - mean) ** 2, 0) / f.length) : 0;
    f.push(flux);
    if (f.length > this.history) f.shift();
    const onset = f.length > 8 && flux > this.floor && flux > mean + this.k * dev && t - this.last >= this.gap;
    if (onset) this.last = t;
    return onset;
  }
}

/** Tempo from onset times: the median gap, folded into [lo, hi] BPM, refined by a least-squares fit. */
export class TempoEstimator {
  constructor({ keep = 24, lo = 70, hi = 180 } = {}) {
    Object.assign(this, { keep, lo, hi });
    this.times = [];
  }

  push(t) {
    this.times.push(t);
    if (this.times.length > this.keep) this.times.shift();
  }

  /** BPM, or null with fewer than 5 onsets. */
  get bpm() {
    const t = this.times;
    if (t.length < 5) return null;
    const gaps = t.slice(1).map((x, i) => x - t[i]).sort((a, b) => a - b);
    let period = gaps[gaps.length >> 1];
    while (60000 / period < this.lo) period /= 2;
    while (60000 / period > this.hi) period *= 2;
    // Beat numbers of each onset, then the slope of time over beat number.
    const ks = t.map((x) => Math.round((x - t[0]) / period));
    const n = t.length;
    const mk = ks.reduce((a, b) => a + b, 0) / n;
    const mt = t.reduce((a, b) => a + b, 0) / n;
    let num = 0;
    let den = 0;
    for (let i = 0; i < n; i++) {
      num += (ks[i] - mk) * (t[i] - mt);
      den += (ks[i] - mk) ** 2;
    }
    if (den > 0) period = num / den;
    return 60000 / period;
  }
}
