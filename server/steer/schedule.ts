// Prompt schedules: prompts at times in seconds or beats, following engine time (so a schedule
// plays the same on every run and in the offline renderer), optionally looping. The beat clock is
// the engine's (tempo and beat are engine commands, so modulation in beats follows it too); `beat`
// (a tap) snaps its phase to the nearest beat; schedules in beats start on the next whole beat.
//
// Commands: tempo {bpm}, beat {}, schedule.start {schedule?}, schedule.stop {}. A preset carries
// the running schedule and the tempo; loading a preset without a schedule stops the running one.
import type { Command, CommandOf } from '../commands.ts';
import { CommandError } from '../commands.ts';
import type { Feature, FeatureHost, FrameClock, CommandContext } from '../feature.ts';
import type { FeatureState } from '../state.ts';
import type { Preset } from '../preset-schema.ts';
import { parsePrompt } from './prompt.ts';
import type { Schedule } from './schedule-schema.ts';

export const DEFAULT_BPM = 120;

interface Running {
  schedule: Schedule;
  steps: Schedule['steps'];
  /** Loop length in the schedule's unit (Infinity when not looping). */
  length: number;
  /** Clock reading (seconds or beats) where the schedule's position 0 lies. */
  origin: number;
  next: number;
}

export class Scheduler implements Feature {
  readonly name = 'schedule';
  private time = 0;
  private last: Schedule | null = null;
  private running: Running | null = null;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly stage: FeatureHost,
    private readonly log?: { warn(msg: string): void },
  ) {
    this.time = stage.engine.time;
  }

  readonly commands = {
    // The beat clock lives in the engine, so tempo and taps apply there.
    tempo: (cmd: CommandOf<'tempo'>, ctx: CommandContext) => ctx.apply(cmd),
    beat: (cmd: CommandOf<'beat'>, ctx: CommandContext) => ctx.apply(cmd),
    'schedule.start': (cmd: CommandOf<'schedule.start'>) => this.start(cmd.schedule),
    'schedule.stop': () => {
      this.running = null;
    },
  };

  frame(clock: FrameClock): void {
    this.advance(clock.time);
  }

  status(): Pick<FeatureState, 'tempo' | 'schedule'> {
    const r = this.running;
    return {
      tempo: { bpm: this.bpm, beat: Math.round(this.beats * 1000) / 1000 },
      schedule: r
        ? { unit: r.schedule.unit, loop: Number.isFinite(r.length), position: Math.round((this.clock(r) - r.origin) * 1000) / 1000, next: r.next, steps: r.steps.length }
        : null,
    };
  }

  save(preset: Preset): void {
    if (this.running) preset.schedule = this.running.schedule;
    if (this.running || this.bpm !== DEFAULT_BPM) preset.tempo = this.bpm;
  }

  load(preset: Preset): Command[] {
    const out: Command[] = [];
    if (preset.tempo !== undefined) out.push({ type: 'tempo', bpm: preset.tempo });
    if (preset.schedule) out.push({ type: 'schedule.start', schedule: preset.schedule });
    else if (this.running) out.push({ type: 'schedule.stop' });
    return out;
  }

  get bpm(): number {
    return this.stage.engine.bpm;
  }

  /** Beats since engine time 0 at the current tempo (phase adjusted by taps). */
  get beats(): number {
    return this.stage.engine.beats;
  }

  /** Resolves when the prompts fired so far have been applied. */
  idle(): Promise<void> {
    return this.pending.then(() => {});
  }

  private start(schedule: Schedule | undefined): void {
    const s = schedule ?? this.last;
    if (!s) throw new CommandError('schedule.start: no schedule given and none loaded before');
    s.steps.forEach((step, i) => {
      try {
        parsePrompt(step.prompt);
      } catch (err) {
        throw new CommandError(`schedule.start: step ${i}: ${(err as Error).message}`);
      }
    });
    const steps = [...s.steps].sort((a, b) => a.at - b.at);
    const lastAt = steps[steps.length - 1]!.at;
    const gap = steps.length > 1 ? (lastAt - steps[0]!.at) / (steps.length - 1) : 1;
    const length = s.loop ? (s.length ?? lastAt + Math.max(gap, 1e-3)) : Infinity;
    const origin = s.unit === 'beats' ? Math.ceil(this.beats - 1e-9) : this.time;
    this.last = s;
    this.running = { schedule: s, steps, length, origin, next: 0 };
    this.fire();
  }

  private clock(r: Running): number {
    return r.schedule.unit === 'beats' ? this.beats : this.time;
  }

  /** Move the clocks to engine time t and fire every step that is due. */
  advance(t: number): void {
    this.time = t;
    this.fire();
  }

  private fire(): void {
    const r = this.running;
    if (!r) return;
    for (let guard = 0; guard < 10_000; guard++) {
      const pos = this.clock(r) - r.origin;
      const step = r.steps[r.next];
      if (step && step.at <= pos) {
        r.next++;
        const fade = step.fade === undefined ? undefined : r.schedule.unit === 'beats' ? (step.fade * 60) / this.bpm : step.fade;
        const done = this.stage.dispatch({ type: 'prompt', text: step.prompt, ...(fade === undefined ? {} : { fade }) }, 'schedule');
        this.pending = this.pending.then(() => done).catch((err: Error) => this.log?.warn(`schedule: ${err.message}`));
        continue;
      }
      if (!step && Number.isFinite(r.length) && pos >= r.length) {
        r.origin += r.length;
        r.next = 0;
        continue;
      }
      if (!step && !Number.isFinite(r.length)) this.running = null;
      return;
    }
  }
}
