// Frames over WebSocket: /frames?format=jpeg&size=256. Binary messages = 32-byte header + payload
// (see frames/header.ts); a JSON text message {type:"state"} on connect and on every change.
// Frames are encoded once per requested size by the encode pipeline (frames/pipeline.ts). Latest
// wins per viewer, for frames and state alike: a viewer that stops reading holds at most one
// pending frame and one pending state message, and never slows the others. Handshakes are paced
// (a few milliseconds of them per turn of the event loop), so hundreds of viewers reconnecting at
// once never stall the frame loop for long; the `viewers` fault is up while a crowd waits.
// /frames?format=latent sends each frame's latent instead (frames/latent.ts): nothing is encoded,
// one message per frame is shared by every latent viewer; they count as viewers{surface="latent"}.
import { WebSocketServer, WebSocket } from 'ws';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Stage } from '../stage.ts';
import type { EncodeRequest } from '../frames/frame.ts';
import { EncodePipeline } from '../frames/pipeline.ts';
import type { Frame } from '../frames/frame.ts';
import { latentMessage } from '../frames/latent.ts';
import { viewerRequest, latentRequest } from './viewer-request.ts';
import { TextSender, coalescedState, stateMessage } from './ws-text.ts';

/** Bytes a viewer's socket may hold unsent before we stop sending it new frames. */
const MAX_BUFFERED = 256 * 1024;
/**
 * Handshakes are paced: at most HANDSHAKE_BUDGET_MS of handshakes per turn, then HANDSHAKE_GAP_MS
 * for the frame loop, so a crowd reconnecting at once (the Wi-Fi came back) costs few frame slots.
 */
const HANDSHAKE_BUDGET_MS = 4;
const HANDSHAKE_GAP_MS = 8;
/** Waiting handshakes that raise the `viewers` fault, and the most that may wait (503 beyond). */
const STORM = 50;
const MAX_WAITING = 4096;

/** What a viewer is sent: the whole binary frame message. */
type Delivery = { message: Buffer };

class FrameViewer {
  private busy = false;
  private pending: Delivery | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  unsubscribe: () => void = () => {};

  readonly text: TextSender;

  constructor(
    private ws: WebSocket,
    private stage: Stage,
  ) {
    this.text = new TextSender(ws, stage.metrics);
  }

  /** A newly encoded frame of this viewer's size: sent now, or held as the one pending frame. */
  offer = (d: Delivery): void => {
    if (this.busy || this.ws.bufferedAmount > MAX_BUFFERED) {
      if (this.pending) this.stage.metrics.viewerDropped.inc();
      this.pending = d;
      if (!this.busy) this.retryLater();
      return;
    }
    this.send(d);
  };

  private retryLater(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      const d = this.pending;
      this.pending = null;
      if (d && this.ws.readyState === WebSocket.OPEN) this.offer(d);
    }, 20);
  }

  private send(d: Delivery): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.busy = true;
    this.ws.send(d.message, { binary: true }, (err) => {
      this.busy = false;
      if (!err) this.stage.metrics.sent.inc();
      const next = this.pending;
      this.pending = null;
      if (next && this.ws.readyState === WebSocket.OPEN) this.offer(next);
    });
  }

  close(): void {
    this.unsubscribe();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.text.close();
  }
}

export function createFramesSurface(stage: Stage, opts: { jpegQuality: number }) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });
  const viewers = new Set<FrameViewer>();
  const latentViewers = new Set<FrameViewer>();
  const count = () => {
    stage.setViewers('ws', viewers.size - latentViewers.size);
    stage.setViewers('latent', latentViewers.size);
  };
  count(); // reads 0 before the first viewer, rather than nothing
  const manifest = stage.model.manifest;
  const onLatent = (f: Frame) => {
    if (latentViewers.size === 0) return;
    const message = latentMessage(f, manifest);
    if (message) for (const v of latentViewers) v.offer({ message });
  };
  stage.on('frame', onLatent);
  const pipeline = new EncodePipeline(stage);
  stage.metrics.backlogSources.set('frames', () => Math.max(0, ...[...viewers].map((v) => v.text.backlog)));
  // State changes are coalesced: a fader flood sends at most one state message per 16 ms, and a
  // viewer that is behind gets only the newest.
  const stopState = coalescedState(stage, (text) => {
    for (const v of viewers) v.text.latest('state', text);
  });

  type Request = EncodeRequest | 'latent';
  const waiting: { req: IncomingMessage; socket: Duplex; head: Buffer; request: Request }[] = [];
  let pump: NodeJS.Timeout | null = null;
  let storm = 0; // 1 while the viewers fault is up
  let stateText: { text: string; at: number } | null = null;
  /** The state message for a new viewer (one JSON per 50 ms, however many connect meanwhile). */
  const initialState = () => {
    const now = performance.now();
    if (!stateText || now - stateText.at > 50) stateText = { text: stateMessage(stage), at: now };
    return stateText.text;
  };
  const drain = () => {
    pump = null;
    const start = performance.now();
    while (waiting.length && performance.now() - start < HANDSHAKE_BUDGET_MS) {
      const w = waiting.shift()!;
      if (!w.socket.destroyed) accept(w.req, w.socket, w.head, w.request);
    }
    if (waiting.length) pump = setTimeout(drain, HANDSHAKE_GAP_MS);
    else if (storm) {
      storm = 0;
      stage.faults.clear('viewers');
    }
  };
  const accept = (req: IncomingMessage, socket: Duplex, head: Buffer, request: Request) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      const viewer = new FrameViewer(ws, stage);
      viewers.add(viewer);
      if (request === 'latent') latentViewers.add(viewer);
      count();
      viewer.text.latest('state', initialState());
      if (request !== 'latent') viewer.unsubscribe = pipeline.subscribe(request, viewer.offer);
      else {
        const message = stage.latest && latentMessage(stage.latest, manifest);
        if (message) viewer.offer({ message });
      }
      ws.on('message', () => {}); // viewers only listen; small pings are ignored
      ws.on('error', () => {});
      ws.on('close', () => {
        viewer.close();
        viewers.delete(viewer);
        latentViewers.delete(viewer);
        count();
      });
    });
  };

  return {
    wss,
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
      let request: EncodeRequest | 'latent';
      try {
        request = url.searchParams.get('format') === 'latent' ? latentRequest(url) : viewerRequest(url, opts.jpegQuality);
      } catch (err) {
        socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\r\n${(err as Error).message}\n`);
        return;
      }
      if (waiting.length >= MAX_WAITING) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 1\r\nConnection: close\r\n\r\ntoo many viewers connecting at once; try again\n');
        return;
      }
      waiting.push({ req, socket, head, request });
      if (waiting.length >= STORM) {
        storm = 1;
        stage.faults.raise('viewers', 'a crowd of viewers is connecting at once: handshakes are paced so the picture keeps its rate', 0);
      }
      pump ??= setTimeout(drain, 0);
    },
    close(): void {
      if (pump) clearTimeout(pump);
      for (const w of waiting.splice(0)) w.socket.destroy();
      stopState();
      stage.off('frame', onLatent);
      pipeline.close();
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      wss.close();
    },
  };
}
