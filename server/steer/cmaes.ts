// (mu/mu_w, lambda)-CMA-ES with rank-one and rank-mu updates and cumulative step-size adaptation,
// following N. Hansen, "The CMA Evolution Strategy: A Tutorial" (2016), with its default
// parameters. Minimises. Seeded, so a run is reproducible. Ask/tell interface:
//
//   const es = new CmaEs({ mean, sigma, seed });
//   const xs = es.ask();            // lambda candidates
//   es.tell(xs, xs.map(f));         // their costs (lower is better)
import { mulberry32 } from '../engine/prng.ts';

export interface CmaEsOptions {
  /** Initial mean (its length is the dimension). */
  mean: ArrayLike<number>;
  /** Initial step size. */
  sigma: number;
  /** Population size; default 4 + floor(3 ln n). */
  lambda?: number;
  seed?: number;
}

export class CmaEs {
  readonly n: number;
  readonly lambda: number;
  readonly mu: number;
  readonly weights: Float64Array;
  readonly mueff: number;
  mean: Float64Array;
  sigma: number;
  /** Best candidate seen so far and its cost. */
  best: { x: Float64Array; cost: number } = { x: new Float64Array(0), cost: Infinity };
  generation = 0;
  evaluations = 0;

  private readonly cc: number;
  private readonly cs: number;
  private readonly c1: number;
  private readonly cmu: number;
  private readonly damps: number;
  private readonly chiN: number;
  private readonly C: Float64Array; // n x n, row-major
  private readonly B: Float64Array; // eigenvectors in columns
  private readonly D: Float64Array; // sqrt of eigenvalues
  private readonly pc: Float64Array;
  private readonly ps: Float64Array;
  private eigenAt = 0;
  private readonly normal: () => number;
  /** sample()'s standard normal draws, reused. */
  private readonly z: Float64Array;

  constructor(opts: CmaEsOptions) {
    const n = opts.mean.length;
    if (n < 1) throw new RangeError('CMA-ES needs at least one dimension');
    if (!(opts.sigma > 0)) throw new RangeError('sigma must be > 0');
    this.n = n;
    this.lambda = Math.max(2, opts.lambda ?? 4 + Math.floor(3 * Math.log(n)));
    this.mu = Math.floor(this.lambda / 2);
    const w = Float64Array.from({ length: this.mu }, (_, i) => Math.log((this.lambda + 1) / 2) - Math.log(i + 1));
    const sum = w.reduce((a, b) => a + b, 0);
    for (let i = 0; i < w.length; i++) w[i] /= sum;
    this.weights = w;
    this.mueff = 1 / w.reduce((a, b) => a + b * b, 0);
    const me = this.mueff;
    this.cc = (4 + me / n) / (n + 4 + (2 * me) / n);
    this.cs = (me + 2) / (n + me + 5);
    this.c1 = 2 / ((n + 1.3) ** 2 + me);
    this.cmu = Math.min(1 - this.c1, (2 * (me - 2 + 1 / me)) / ((n + 2) ** 2 + me));
    this.damps = 1 + 2 * Math.max(0, Math.sqrt((me - 1) / (n + 1)) - 1) + this.cs;
    this.chiN = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
    this.mean = Float64Array.from(opts.mean);
    this.sigma = opts.sigma;
    this.C = identity(n);
    this.B = identity(n);
    this.D = new Float64Array(n).fill(1);
    this.z = new Float64Array(n);
    this.pc = new Float64Array(n);
    this.ps = new Float64Array(n);
    const rand = mulberry32(opts.seed ?? 1);
    let spare: number | null = null;
    this.normal = () => {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      const r = Math.sqrt(-2 * Math.log(1 - rand()));
      const t = 2 * Math.PI * rand();
      spare = r * Math.sin(t);
      return r * Math.cos(t);
    };
  }

  /** Sample lambda candidates x = mean + sigma * B D z. */
  ask(): Float64Array[] {
    return Array.from({ length: this.lambda }, () => this.sample());
  }

  /**
   * One candidate of the current generation: calling it lambda times gives what ask() gives, so a
   * caller can draw the candidates chunk by chunk (O(n^2) each) instead of all at once.
   */
  sample(): Float64Array {
    const { n, B, D, z } = this;
    for (let i = 0; i < n; i++) z[i] = D[i] * this.normal();
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += B[i * n + j] * z[j];
      x[i] = this.mean[i] + this.sigma * s;
    }
    return x;
  }

  /** Update the distribution from evaluated candidates (costs: lower is better). */
  tell(xs: Float64Array[], costs: number[]): void {
    const due = this.update(xs, costs);
    if (due) this.applyEigen(symmetricEigen(this.n, due));
  }

  /**
   * tell() without the eigendecomposition: returns a copy of C when one is due (decompose it with
   * symmetricEigen anywhere, e.g. in another thread, and hand the result to applyEigen before the
   * next ask), else null. Gives exactly the same search as tell().
   */
  tellDeferred(xs: Float64Array[], costs: number[]): Float64Array | null {
    return this.update(xs, costs);
  }

  /** Install the eigendecomposition of the C that tellDeferred returned. */
  applyEigen(eigen: { values: ArrayLike<number>; vectors: ArrayLike<number> }): void {
    const { n, B, D } = this;
    if (eigen.values.length !== n || eigen.vectors.length !== n * n) throw new RangeError(`eigendecomposition must be of a ${n} x ${n} matrix`);
    B.set(eigen.vectors);
    for (let i = 0; i < n; i++) D[i] = Math.sqrt(Math.max(eigen.values[i]!, 1e-20));
  }

  private update(xs: Float64Array[], costs: number[]): Float64Array | null {
    const { n, mu, weights: w, cc, cs, c1, cmu, B, D, C } = this;
    if (xs.length !== costs.length || xs.length < mu) throw new RangeError(`tell needs at least ${mu} candidates with costs`);
    const order = costs.map((c, i) => [Number.isNaN(c) ? Infinity : c, i] as const).sort((a, b) => a[0] - b[0]);
    this.evaluations += xs.length;
    this.generation++;
    const [bestCost, bestIndex] = order[0]!;
    if (bestCost < this.best.cost) this.best = { x: Float64Array.from(xs[bestIndex]!), cost: bestCost };

    const old = this.mean;
    const ys: Float64Array[] = [];
    const mean = new Float64Array(n);
    for (let k = 0; k < mu; k++) {
      const x = xs[order[k]![1]]!;
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        y[i] = (x[i]! - old[i]!) / this.sigma;
        mean[i] += w[k]! * x[i]!;
      }
      ys.push(y);
    }
    this.mean = mean;
    const yw = new Float64Array(n);
    for (let i = 0; i < n; i++) yw[i] = (mean[i]! - old[i]!) / this.sigma;

    // ps <- (1 - cs) ps + sqrt(cs (2 - cs) mueff) C^-1/2 yw, with C^-1/2 = B D^-1 B^T
    const t = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += B[i * n + j]! * yw[i]!;
      t[j] = s / D[j]!;
    }
    const csn = Math.sqrt(cs * (2 - cs) * this.mueff);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += B[i * n + j]! * t[j]!;
      this.ps[i] = (1 - cs) * this.ps[i]! + csn * s;
    }
    const psNorm = Math.hypot(...this.ps);
    const hsig = psNorm / Math.sqrt(1 - (1 - cs) ** (2 * this.generation)) / this.chiN < 1.4 + 2 / (n + 1) ? 1 : 0;
    const ccn = hsig * Math.sqrt(cc * (2 - cc) * this.mueff);
    for (let i = 0; i < n; i++) this.pc[i] = (1 - cc) * this.pc[i]! + ccn * yw[i]!;

    // C <- (1 - c1 - cmu + (1 - hsig) c1 cc (2 - cc)) C + c1 pc pc^T + cmu sum w_k y_k y_k^T
    const keep = 1 - c1 - cmu + (1 - hsig) * c1 * cc * (2 - cc);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let rankMu = 0;
        for (let k = 0; k < mu; k++) rankMu += w[k]! * ys[k]![i]! * ys[k]![j]!;
        const v = keep * C[i * n + j]! + c1 * this.pc[i]! * this.pc[j]! + cmu * rankMu;
        C[i * n + j] = v;
        C[j * n + i] = v;
      }
    }
    this.sigma *= Math.exp((cs / this.damps) * (psNorm / this.chiN - 1));

    // Lazy eigendecomposition: O(n^3), so only every few generations (tutorial, footnote).
    if (this.evaluations - this.eigenAt > this.lambda / (c1 + cmu) / n / 10) {
      this.eigenAt = this.evaluations;
      return Float64Array.from(C);
    }
    return null;
  }
}

function identity(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

// Symmetric eigendecomposition: Householder tridiagonalisation (tred2) and the QL algorithm with
// implicit shifts (tql2), after the public-domain JAMA EigenvalueDecomposition. V (row-major n x n)
// holds the matrix on entry and the eigenvectors (columns) on exit; d the eigenvalues.
function tred2(n: number, V: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[j * n + i] = f;
        g = e[j]! + V[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j]! * d[k]!;
          e[k]! += V[k * n + j]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) V[k * n + j]! -= f * e[k]! + g * d[k]!;
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i]!;
    V[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1]! * V[k * n + j]!;
        for (let k = 0; k <= i; k++) V[k * n + j]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j]!;
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

function tql2(n: number, V: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      do {
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          for (let k = 0; k < n; k++) {
            h = V[k * n + i + 1]!;
            V[k * n + i + 1] = s * V[k * n + i]! + c * h;
            V[k * n + i] = c * V[k * n + i]! - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

/** Exposed for tests: eigenvalues and eigenvectors (columns, row-major) of a symmetric matrix. */
export function symmetricEigen(n: number, matrix: ArrayLike<number>): { values: Float64Array; vectors: Float64Array } {
  const V = Float64Array.from(matrix);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(n, V, d, e);
  tql2(n, V, d, e);
  return { values: d, vectors: V };
}
