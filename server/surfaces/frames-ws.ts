// Frames over WebSocket: /frames?format=jpeg&size=256. Binary messages = 32-byte header + payload
// (see frames/header.ts); a JSON text message {type:"state"} on connect and on every change.
// Frames are encoded once per requested size by the encode pipeline (frames/pipeline.ts). Latest
// wins per viewer, for frames and state alike: a viewer that stops reading holds at most one
// pending frame and one pending state message, and never slows the others.
// /frames?format=latent sends each frame's latent instead (frames/latent.ts): nothing is encoded,
// one message per frame is shared by every latent viewer; they count as viewers{surface="latent"}.
import { WebSocketServer, WebSocket } from 'ws';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Stage } from '../stage.ts';
import type { EncodeRequest } from '../frames/frame.ts';
import { EncodePipeline } from '../frames/pipeline.ts';
import type { Frame } from '../frames/frame.ts';
import { latentMessage } from '../frames/latent.ts';
import { viewerRequest, latentRequest } from './viewer-request.ts';
import { TextSender, coalescedState, stateMessage } from './ws-text.ts';

/** Bytes a viewer's socket may hold unsent before we stop sending it new frames. */
const MAX_BUFFERED = 256 * 1024;

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
      wss.handleUpgrade(req, socket, head, (ws) => {
        const viewer = new FrameViewer(ws, stage);
        viewers.add(viewer);
        if (request === 'latent') latentViewers.add(viewer);
        count();
        viewer.text.latest('state', stateMessage(stage));
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
    },
    close(): void {
      stopState();
      stage.off('frame', onLatent);
      pipeline.close();
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      wss.close();
    },
  };
}
