// State feedback so controllers follow: subscribers get /ls/state/... values at most 10 times a
// second, only those that changed since they last heard (a full dump when they subscribe).
import type { PublicState } from '../../state.ts';
import { numericParamNames, enumParams } from '../../params.ts';
import type { TypedArg } from './wire.ts';

export const MAX_SUBSCRIBERS = 32;

export interface Subscriber {
  host: string;
  port: number;
  /** Configured targets stay until shutdown; subscribed ones can be evicted when full. */
  fixed: boolean;
  last: Map<string, string>;
}

export function stateValues(state: PublicState, prefix: string): [string, TypedArg[]][] {
  const s = `${prefix}/state`;
  const out: [string, TypedArg[]][] = [];
  for (const name of numericParamNames) out.push([`${s}/${name}`, [{ type: 'f', value: state.params[name] }]]);
  for (const name of Object.keys(enumParams) as (keyof typeof enumParams)[]) out.push([`${s}/${name}`, [{ type: 's', value: state.params[name] }]]);
  out.push([`${s}/seed`, [{ type: 'i', value: state.seed }]]);
  out.push([`${s}/prompt`, [{ type: 's', value: state.prompt.text }]]);
  out.push([`${s}/fps`, [{ type: 'f', value: state.fps }]]);
  out.push([`${s}/recording`, [{ type: 'i', value: state.recording?.active ? 1 : 0 }]]);
  // what is degraded ('' when nothing): "recording: the disk is full ..."
  out.push([`${s}/faults`, [{ type: 's', value: (state.faults ?? []).map((f) => `${f.kind}: ${f.message}`).join('; ') }]]);
  if (state.warnings) out.push([`${s}/warning`, [{ type: 's', value: state.warnings.join('; ') }]]);
  if (state.tempo) out.push([`${s}/tempo`, [{ type: 'f', value: state.tempo.bpm }]]);
  return out;
}

export class Subscribers {
  private subs = new Map<string, Subscriber>();

  get size(): number {
    return this.subs.size;
  }

  /** Add (or refresh: full dump again) a subscriber; evicts the oldest non-fixed one when full. */
  add(host: string, port: number, fixed = false): Subscriber {
    const key = `${host}|${port}`;
    this.subs.delete(key);
    if (this.subs.size >= MAX_SUBSCRIBERS) {
      const oldest = [...this.subs].find(([, s]) => !s.fixed);
      if (oldest) this.subs.delete(oldest[0]);
      else throw new Error(`at most ${MAX_SUBSCRIBERS} subscribers`);
    }
    const sub: Subscriber = { host, port, fixed, last: new Map() };
    this.subs.set(key, sub);
    return sub;
  }

  remove(host: string, port: number): boolean {
    const key = `${host}|${port}`;
    if (this.subs.get(key)?.fixed) return false;
    return this.subs.delete(key);
  }

  /** The messages each subscriber has not heard yet (and remember them as heard). */
  changes(values: [string, TypedArg[]][]): [Subscriber, [string, TypedArg[]][]][] {
    const out: [Subscriber, [string, TypedArg[]][]][] = [];
    for (const sub of this.subs.values()) {
      const changed: [string, TypedArg[]][] = [];
      for (const [address, args] of values) {
        const key = JSON.stringify(args.map((a) => (a.type === 'f' && typeof a.value === 'number' ? Math.fround(a.value) : a.value)));
        if (sub.last.get(address) === key) continue;
        sub.last.set(address, key);
        changed.push([address, args]);
      }
      if (changed.length) out.push([sub, changed]);
    }
    return out;
  }
}

/** Feedback as it runs: subscribers, and a tick every `intervalMs` sending what changed. */
export class Feedback {
  private readonly subs = new Subscribers();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly values: () => [string, TypedArg[]][],
    private readonly send: (host: string, port: number, address: string, args: TypedArg[]) => void,
    intervalMs = 100,
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
  }

  get size(): number {
    return this.subs.size;
  }

  /** Add (or refresh) a subscriber and send it the full state now. */
  subscribe(host: string, port: number, fixed = false): void {
    this.subs.add(host, port, fixed);
    this.tick();
  }

  unsubscribe(host: string, port: number): boolean {
    return this.subs.remove(host, port);
  }

  tick(): void {
    if (this.subs.size === 0) return;
    for (const [sub, changed] of this.subs.changes(this.values())) {
      for (const [address, args] of changed) this.send(sub.host, sub.port, address, args);
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
