// What a Web Audio AnalyserNode (smoothing 0) reports, computed in node for synthetic signals:
// the last `fft` samples, Blackman-windowed, as dB per bin. Lets the audio page's analysis be
// tested on signals whose onsets are known.

/** In-place radix-2 FFT of (re, im); length a power of two. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const a = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(a * k);
        const wi = Math.sin(a * k);
        const xr = re[i + k + len / 2] * wr - im[i + k + len / 2] * wi;
        const xi = re[i + k + len / 2] * wi + im[i + k + len / 2] * wr;
        re[i + k + len / 2] = re[i + k] - xr;
        im[i + k + len / 2] = im[i + k] - xi;
        re[i + k] += xr;
        im[i + k] += xi;
      }
    }
  }
}

/** dB per bin (fft/2 bins) of the `fft` samples of `signal` ending at `end`, as AnalyserNode gives. */
export function spectrumDb(signal: Float32Array, end: number, fftSize = 1024): Float32Array {
  const re = new Float64Array(fftSize);
  const im = new Float64Array(fftSize);
  for (let i = 0; i < fftSize; i++) {
    const x = signal[end - fftSize + i] ?? 0;
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / fftSize) + 0.08 * Math.cos((4 * Math.PI * i) / fftSize);
    re[i] = x * w;
  }
  fft(re, im);
  const out = new Float32Array(fftSize / 2);
  for (let k = 0; k < out.length; k++) out[k] = 20 * Math.log10(Math.hypot(re[k], im[k]) / fftSize + 1e-12);
  return out;
}

/** A seeded noise source in [-1, 1). */
export function noise(seed = 1): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return (s / 2147483647) * 2 - 1;
  };
}

/**
 * Feed `signal` to `push(spectrum, tMs)` as the audio page does: every `pollMs` the analyser's
 * newest window. Returns the times (ms) where push returned true.
 */
export function detect(signal: Float32Array, rate: number, push: (spectrum: Float32Array, t: number) => boolean, pollMs = 8, fftSize = 1024): number[] {
  const hits: number[] = [];
  const hop = (pollMs / 1000) * rate;
  for (let end = fftSize; end <= signal.length; end += hop) {
    const t = (end / rate) * 1000;
    if (push(spectrumDb(signal, Math.round(end), fftSize), t)) hits.push(t);
  }
  return hits;
}
