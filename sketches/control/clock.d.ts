// Types of clock.js (MIDI clock -> tempo), for TypeScript callers such as the tests.
export const SEND_MS: number;
export class ClockTempo {
  bpm: number | null;
  reset(): void;
  tick(t: number): number | null;
  readonly waiting: boolean;
  flush(t: number): number | null;
}
