// Types of analysis.js (the audio page's pure analysis), for TypeScript callers such as the tests.
export const BANDS: Record<'low' | 'mid' | 'high', [number, number]>;
export function level(db: number, floor?: number): number;
export const GATE_DB: number;
export function bandLevel(db: number, opts?: { gain?: number; gate?: number }): number;
export function bandDb(spectrum: ArrayLike<number>, sampleRate: number, band: [number, number]): number;
export function rmsDb(wave: ArrayLike<number>): number;
export class OnsetDetector {
  constructor(opts?: { k?: number; history?: number; gap?: number; floor?: number; sampleRate?: number });
  /** Which bands fired on the last push (names of ONSET_BANDS). */
  fired: string[];
  push(spectrum: ArrayLike<number>, t: number): boolean;
}
export class TempoEstimator {
  constructor(opts?: { keep?: number; lo?: number; step?: number });
  score(bpm: number): number;
  times: number[];
  push(t: number): void;
  readonly bpm: number | null;
}
