// Encoding as a pipeline: each published frame is encoded once per (format, size, quality) that a
// viewer asked for, as soon as it exists, in parallel on libuv's thread pool (sharp is async), so
// frame N is encoded and sent while N+1 is being generated. Every request has its own lane with at
// most `depth` encodes in flight: a slow size (1024 px) only ever holds its own lane, never another
// size's. Latest wins end to end: a frame waiting for a busy lane is replaced by a newer one.
// Encodes that have started are delivered, in order.
import type { Stage } from '../stage.ts';
import { encodeKey, type EncodeRequest, type Encoded, type Frame } from './frame.ts';
import { frameHeader } from './header.ts';

export interface Delivery {
  frame: Frame;
  encoded: Encoded;
  /** The whole binary message (header + payload), built once for every viewer of the lane. */
  message: Buffer;
}

export type Listener = (d: Delivery) => void;

/** How a lane turns a frame into bytes (the frame's own cached encode unless a caller wraps it). */
export type Encoder = (frame: Frame, req: EncodeRequest) => Promise<Encoded>;

class Lane {
  readonly listeners = new Set<Listener>();
  inflight = 0;
  waiting: Frame | null = null;
  /** Index of the newest frame started; older frames never start. */
  started = -1;
  last: Delivery | null = null;
  /** Settles when the encode started last has been delivered (or failed). */
  tail: Promise<void> = Promise.resolve();
  constructor(readonly req: EncodeRequest) {}
}

export interface PipelineOptions {
  /** Encodes in flight per lane (default 2: the next frame starts while one is finishing). */
  depth?: number;
  encoder?: Encoder;
}

export class EncodePipeline {
  private lanes = new Map<string, Lane>();
  private readonly depth: number;
  private readonly encoder: Encoder;
  private readonly onFrame = (f: Frame) => {
    for (const lane of this.lanes.values()) this.push(lane, f);
  };

  constructor(
    private readonly stage: Stage,
    opts: PipelineOptions = {},
  ) {
    this.depth = Math.max(1, opts.depth ?? 2);
    this.encoder = opts.encoder ?? ((frame, req) => frame.encode(req));
    stage.on('frame', this.onFrame);
  }

  /** Deliver every frame encoded for `req` to `listener` (the latest one right away); returns unsubscribe. */
  subscribe(req: EncodeRequest, listener: Listener): () => void {
    const key = encodeKey(req, this.stage.model.manifest.resolution.width);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = new Lane(req);
      this.lanes.set(key, lane);
      if (this.stage.latest) this.push(lane, this.stage.latest);
    } else if (lane.last) {
      const last = lane.last;
      queueMicrotask(() => lane!.listeners.has(listener) && listener(last));
    }
    lane.listeners.add(listener);
    const l = lane;
    return () => {
      l.listeners.delete(listener);
      if (l.listeners.size === 0 && this.lanes.get(key) === l) this.lanes.delete(key);
    };
  }

  /** Lanes (distinct requests) being encoded now. */
  get size(): number {
    return this.lanes.size;
  }

  close(): void {
    this.stage.off('frame', this.onFrame);
    this.lanes.clear();
  }

  private push(lane: Lane, frame: Frame): void {
    if (frame.info.index <= lane.started) return;
    if (lane.inflight >= this.depth) {
      if (lane.waiting) this.stage.metrics.staleEncodes.inc();
      lane.waiting = frame;
      return;
    }
    lane.started = frame.info.index;
    lane.inflight++;
    const before = frame.encodes;
    const encoding = this.encoder(frame, lane.req);
    // delivered in the order started: an encode that finishes before an older one of its lane
    // waits for it (they run side by side on libuv's pool) instead of making it stale
    lane.tail = lane.tail.then(() => encoding).then(
      (encoded) => {
        if (frame.encodes !== before) this.stage.metrics.encodes.inc();
        if (lane.last && lane.last.frame.info.index >= frame.info.index) {
          this.stage.metrics.staleEncodes.inc();
          return;
        }
        const d: Delivery = { frame, encoded, message: Buffer.concat([frameHeader(frame.info, encoded), encoded.data]) };
        lane.last = d;
        for (const l of lane.listeners) l(d);
      },
      () => {
        // a failed encode only costs this lane this frame
      },
    ).finally(() => {
      lane.inflight--;
      const next = lane.waiting;
      lane.waiting = null;
      if (next && this.lanes.get(encodeKey(lane.req, this.stage.model.manifest.resolution.width)) === lane) this.push(lane, next);
    });
  }
}
