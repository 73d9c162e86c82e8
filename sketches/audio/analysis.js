// Audio features for modulation, with no DOM: band energies (low/mid/high) and loudness behind an
// input gain and a noise gate, onsets (spectral flux per band over adaptive thresholds) and a
// tempo estimate from the onset times. The audio page feeds it an AnalyserNode's spectrum and
// waveform; everything is 0..1 for mod.input.

export const BANDS = { low: [20, 250], mid: [250, 4000], high: [4000, 16000] };

/** Map decibels to 0..1 over [floor, 0] dB. */
export const level = (db, floor = -90) => Math.min(1, Math.max(0, (db - floor) / -floor));

/** Default noise gate: a band or the loudness below this many dBFS reads 0. */
export const GATE_DB = -65;

/**
 * A band's (or the loudness's) dB as 0..1 for mod.input, after the input gain (dB) and the noise
 * gate: 0 at or below `gate` dBFS, 1 at 0 dBFS, so hiss reads 0 instead of holding routes up.
 */
export const bandLevel = (db, { gain = 0, gate = GATE_DB } = {}) => level(db + gain, gate);

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

/** Bands in which onsets are detected on their own: a bass drum, a snare and a hi-hat each register. */
export const ONSET_BANDS = { low: [20, 200], mid: [200, 3000], high: [3000, 16000] };

/**
 * Onsets per band, as SuperFlux does: in each band, the mean rise of the bins' levels over the
 * last `lag` spectra, each bin compared with the loudest of its neighbours then (so noise, which
 * flickers bin to bin, hardly rises), against that band's recent flux; an onset when it exceeds
 * the mean by k·deviation and by at least `floor`, at most one per `gap` ms per band. A 60 Hz
 * kick lights the few low bins it fills, which an average over the whole spectrum would drown.
 */
export class OnsetDetector {
  constructor({ k = 3, history = 60, gap = 120, floor = 0.1, lag = 2, sampleRate = 48000, bands = ONSET_BANDS } = {}) {
    Object.assign(this, { k, history, gap, floor, lag, sampleRate });
    this.bands = Object.entries(bands).map(([name, range]) => ({ name, range, fluxes: [], last: -Infinity }));
    /** The last `lag` spectra as levels 0..1, each max-filtered over 3 bins; oldest first. */
    this.past = [];
    this.last = -Infinity;
    /** The bands that fired on the last push. */
    this.fired = [];
  }

  /** Feed one spectrum (dB per bin) at time `t` (ms); true when an onset starts here in any band. */
  push(spectrum, t) {
    const n = spectrum.length;
    const lv = new Float32Array(n);
    for (let i = 0; i < n; i++) lv[i] = level(spectrum[i], -100);
    const ref = this.past.length >= this.lag ? this.past[0] : null;
    const binHz = this.sampleRate / 2 / n;
    this.fired = [];
    for (const band of this.bands) {
      const a = Math.max(1, Math.floor(band.range[0] / binHz));
      const b = Math.min(n - 1, Math.ceil(band.range[1] / binHz));
      let flux = 0;
      if (ref && b >= a) {
        for (let i = a; i <= b; i++) {
          const d = lv[i] - ref[i];
          if (d > 0) flux += d;
        }
        flux /= b - a + 1;
      }
      const f = band.fluxes;
      const mean = f.length ? f.reduce((x, y) => x + y, 0) / f.length : 0;
      const dev = f.length ? Math.sqrt(f.reduce((x, y) => x + (y - mean) ** 2, 0) / f.length) : 0;
      f.push(flux);
      if (f.length > this.history) f.shift();
      if (f.length > 8 && flux > mean + Math.max(this.k * dev, this.floor) && t - band.last >= this.gap) {
        band.last = t;
        this.fired.push(band.name);
      }
    }
    const maxed = new Float32Array(n);
    for (let i = 0; i < n; i++) maxed[i] = Math.max(lv[i], lv[i - 1] ?? 0, lv[i + 1] ?? 0);
    this.past.push(maxed);
    if (this.past.length > this.lag) this.past.shift();
    const onset = this.fired.length > 0 && t - this.last >= this.gap;
    if (onset) this.last = t;
    return onset;
  }
}

/** Weights of the first harmonics of the beat in the tempo score (the beat itself counts most). */
const HARMONICS = [1.5, 1, 1, 1];

/**
 * Tempo from onset times, without assuming every onset is on a beat: each candidate tempo in
 * [lo, 2·lo) is scored by how well the onsets line up with its beat and with halves, thirds and
 * quarters of it (the phase coherence of the onsets at the first four harmonics of the beat), so
 * eighth notes, off-beat hats and swing all point at the same beat. The best candidate is then
 * refined (finer steps and a parabola through the peak). Tempi an octave apart cannot be told
 * apart from onsets alone, so the answer is folded into that one octave (88-176 BPM by default).
 */
export class TempoEstimator {
  constructor({ keep = 24, lo = 88, step = 0.25 } = {}) {
    Object.assign(this, { keep, lo, hi: 2 * lo, step });
    this.times = [];
  }

  push(t) {
    this.times.push(t);
    if (this.times.length > this.keep) this.times.shift();
  }

  /** How well the onsets fit a beat of `bpm`, 0..sum(HARMONICS). */
  score(bpm) {
    const t = this.times;
    const w = (2 * Math.PI * bpm) / 60000;
    const re = new Float64Array(HARMONICS.length);
    const im = new Float64Array(HARMONICS.length);
    for (let i = 0; i < t.length; i++) {
      // e^(i·h·a) for h = 1, 2, ... by repeated multiplication: one cos and one sin per onset
      const a = w * (t[i] - t[0]);
      const c1 = Math.cos(a);
      const s1 = Math.sin(a);
      let c = c1;
      let si = s1;
      for (let h = 0; h < HARMONICS.length; h++) {
        re[h] += c;
        im[h] += si;
        [c, si] = [c * c1 - si * s1, c * s1 + si * c1];
      }
    }
    let s = 0;
    for (let h = 0; h < HARMONICS.length; h++) s += (HARMONICS[h] * Math.hypot(re[h], im[h])) / t.length;
    return s;
  }

  /** BPM, or null with fewer than 5 onsets. */
  get bpm() {
    if (this.times.length < 5) return null;
    let best = this.lo;
    let bestScore = -1;
    for (let b = this.lo; b < this.hi; b += this.step) {
      const sc = this.score(b);
      if (sc > bestScore) [best, bestScore] = [b, sc];
    }
    // refine around the peak, then fit a parabola through the three best points
    const fine = this.step / 10;
    for (let b = best - this.step; b <= best + this.step; b += fine) {
      const sc = this.score(b);
      if (sc > bestScore) [best, bestScore] = [b, sc];
    }
    const l = this.score(best - fine);
    const r = this.score(best + fine);
    const den = l - 2 * bestScore + r;
    if (den < 0) best += (fine * (l - r)) / (2 * den);
    return Math.min(this.hi, Math.max(this.lo, best));
  }
}
