// GET /stream.mjpg: multipart MJPEG for OBS, VLC and VJ software. Pull-based: the next frame is
// encoded only when the client has taken the previous one (the socket drained), so a slow client
// skips frames instead of buffering them.
import type { ServerResponse } from 'node:http';
import type { Stage } from '../stage.ts';
import type { Frame, EncodeRequest } from '../frames/frame.ts';

const BOUNDARY = 'latentstage-frame';
const CRLF = Buffer.from('\r\n');

function nextFrame(stage: Stage, after: number, stop: AbortSignal): Promise<Frame | null> {
  const latest = stage.latest;
  if (latest && latest.info.index > after) return Promise.resolve(latest);
  if (stop.aborted) return Promise.resolve(null);
  return new Promise((resolve) => {
    const onFrame = (f: Frame) => {
      cleanup();
      resolve(f);
    };
    const onStop = () => {
      cleanup();
      resolve(null);
    };
    const cleanup = () => {
      stage.off('frame', onFrame);
      stop.removeEventListener('abort', onStop);
    };
    stage.on('frame', onFrame);
    stop.addEventListener('abort', onStop);
  });
}

/** Resolves when the socket takes more data, or when the stream stops. */
function drained(res: ServerResponse, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      stop.removeEventListener('abort', done);
      resolve();
    };
    res.on('drain', done);
    stop.addEventListener('abort', done);
  });
}

const open = new WeakMap<Stage, number>();
const track = (stage: Stage, delta: number) => {
  const n = (open.get(stage) ?? 0) + delta;
  open.set(stage, n);
  stage.setViewers('mjpeg', n);
};

/** Stream frames to `res` until the client goes or `closing` aborts (server shutdown). */
export function serveMjpeg(stage: Stage, req: EncodeRequest, res: ServerResponse, closing: AbortSignal): void {
  const stop = new AbortController();
  const end = () => stop.abort();
  track(stage, 1);
  stop.signal.addEventListener('abort', () => {
    track(stage, -1);
    closing.removeEventListener('abort', end);
    if (!res.writableEnded) res.end();
  });
  closing.addEventListener('abort', end);
  res.once('close', end);
  if (closing.aborted) end();
  res.writeHead(200, {
    'Content-Type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
    'Cache-Control': 'no-store',
    Connection: 'close',
  });
  void (async () => {
    let last = -1;
    try {
      for (let frame = await nextFrame(stage, last, stop.signal); frame; frame = await nextFrame(stage, last, stop.signal)) {
        last = frame.info.index;
        const enc = await frame.encode({ ...req, format: 'jpeg' });
        if (stop.signal.aborted) break;
        const head = Buffer.from(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${enc.data.length}\r\nX-Frame-Index: ${frame.info.index}\r\n\r\n`);
        stage.metrics.sent.inc();
        if (!res.write(Buffer.concat([head, enc.data, CRLF]))) await drained(res, stop.signal);
      }
    } catch {
      // encoding failed or the socket broke: this viewer's stream ends
    }
    end();
  })();
}
