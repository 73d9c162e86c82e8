// What is degraded right now, and since when: the `faults` list of /health and the state, and the
// counts per kind in /metrics. The part of the server that owns a fault raises it when it starts
// (disk full, stream reconnecting, runtime crash-looping, NaN frames...) and clears it when it is
// over; the control page shows the list as a banner. Nothing here decides anything: it only tells.
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Fault, FaultKind } from './state.ts';

/** The kinds of fault, one owner each: recording (recorder.ts), stream (stream.ts), runtime (server.ts watching the worker), frames (stage.ts), viewers (frames-ws.ts). */
export const FAULT_KINDS: readonly FaultKind[] = ['recording', 'stream', 'runtime', 'frames', 'viewers'];
export type { Fault, FaultKind };

interface Active {
  message: string;
  since: string;
  at: number;
  count: number;
}

export class Faults {
  private active = new Map<FaultKind, Active>();
  private readonly started: Counter;
  private readonly events: Counter;
  private readonly gauge: Gauge;
  /** Called on every change (the stage publishes its state). */
  onChange: () => void = () => {};

  constructor(registry: Registry) {
    this.started = new Counter({ name: 'latentstage_faults_total', help: 'Faults that began, by kind (recording, stream, runtime, frames, viewers)', labelNames: ['kind'], registers: [registry] });
    this.events = new Counter({ name: 'latentstage_fault_events_total', help: 'Fault events, by kind: each crash, failed write, reconnect attempt, replaced frame', labelNames: ['kind'], registers: [registry] });
    this.gauge = new Gauge({ name: 'latentstage_fault_active', help: '1 while a fault of this kind is active', labelNames: ['kind'], registers: [registry] });
    for (const kind of FAULT_KINDS) {
      this.started.inc({ kind }, 0);
      this.events.inc({ kind }, 0);
      this.gauge.set({ kind }, 0);
    }
  }

  /**
   * Report a fault (again): the first report starts it, later ones update its message and count.
   * `events` is how many fault events this report stands for (default 1).
   */
  raise(kind: FaultKind, message: string, events = 1): void {
    const a = this.active.get(kind);
    if (events > 0) this.events.inc({ kind }, events);
    if (a) {
      a.count += events;
      if (a.message === message) return;
      a.message = message;
    } else {
      this.active.set(kind, { message, since: new Date().toISOString(), at: performance.now(), count: Math.max(1, events) });
      this.started.inc({ kind });
      this.gauge.set({ kind }, 1);
    }
    this.onChange();
  }

  /** The fault is over (a no-op when it was not active). */
  clear(kind: FaultKind): void {
    if (!this.active.delete(kind)) return;
    this.gauge.set({ kind }, 0);
    this.onChange();
  }

  has(kind: FaultKind): boolean {
    return this.active.has(kind);
  }

  get(kind: FaultKind): Fault | undefined {
    const a = this.active.get(kind);
    return a && this.describe(kind, a);
  }

  list(): Fault[] {
    return [...this.active].map(([kind, a]) => this.describe(kind, a));
  }

  private describe(kind: FaultKind, a: Active): Fault {
    return { kind, message: a.message, since: a.since, seconds: Math.round((performance.now() - a.at) / 100) / 10, count: a.count };
  }
}
