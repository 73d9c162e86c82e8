// Text messages to one WebSocket client, bounded the way frames are. Broadcasts (state, stats) are
// latest-wins per kind: while the client's socket holds more than LIMIT unsent bytes, a new one
// replaces the one waiting, so a viewer that stops reading holds at most one message per kind,
// never a growing queue. Replies (acks, errors) are never replaced; a client that keeps sending
// commands without reading the answers is disconnected once its backlog passes HARD_LIMIT.
import { WebSocket } from 'ws';
import type { Stage } from '../stage.ts';
import type { Metrics } from '../metrics.ts';

/** Unsent bytes above which broadcasts wait (latest wins). */
export const LIMIT = 256 * 1024;
/** Unsent bytes above which a client that is not reading its replies is disconnected. */
export const HARD_LIMIT = 4 * 1024 * 1024;
const RETRY_MS = 50;

export class TextSender {
  private pending = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private ws: WebSocket,
    private metrics: Metrics,
  ) {}

  /** Unsent bytes plus the broadcasts waiting: what this client costs in memory right now. */
  get backlog(): number {
    let n = this.ws.bufferedAmount;
    for (const t of this.pending.values()) n += t.length;
    return n;
  }

  /** Send a broadcast of this kind, or keep it as the newest waiting one. */
  latest(kind: string, text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount <= LIMIT && this.pending.size === 0) {
      this.ws.send(text);
      return;
    }
    if (this.pending.has(kind)) this.metrics.textDropped.inc({ kind });
    this.pending.set(kind, text);
    this.retry();
  }

  /** Send a reply (never replaced); drop the client if it has stopped reading. */
  reply(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > HARD_LIMIT) {
      this.metrics.slowClients.inc();
      this.ws.terminate();
      return;
    }
    this.ws.send(text);
  }

  private retry(): void {
    this.timer ??= setTimeout(() => {
      this.timer = null;
      if (this.ws.readyState !== WebSocket.OPEN) return this.pending.clear();
      if (this.ws.bufferedAmount > LIMIT) return this.retry();
      const waiting = [...this.pending.values()];
      this.pending.clear();
      for (const t of waiting) this.ws.send(t);
    }, RETRY_MS);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}

/**
 * Call `send` with the serialised state message at most once per 16 ms while the state changes
 * (one JSON.stringify for all clients). Returns a stop function.
 */
export function coalescedState(stage: Stage, send: (text: string) => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    send(stateMessage(stage));
  };
  const onState = () => {
    timer ??= setTimeout(flush, 16);
  };
  stage.on('state', onState);
  return () => {
    stage.off('state', onState);
    if (timer) clearTimeout(timer);
    timer = null;
  };
}

export function stateMessage(stage: Stage): string {
  return JSON.stringify({ type: 'state', state: stage.state() });
}
