// GET /stream.mjpg: multipart MJPEG for OBS, VLC and VJ software. Pull-based: the next frame is
// encoded only when the client has taken the previous one, so a slow client skips frames instead
// of buffering them.
import type { Stage } from '../stage.ts';
import type { Frame, EncodeRequest } from '../frames/frame.ts';

const BOUNDARY = 'latentstage-frame';

function nextFrame(stage: Stage, after: number, closing: AbortSignal): Promise<Frame | null> {
  const latest = stage.latest;
  if (latest && latest.info.index > after) return Promise.resolve(latest);
  if (closing.aborted) return Promise.resolve(null);
  return new Promise((resolve) => {
    const onFrame = (f: Frame) => {
      cleanup();
      resolve(f);
    };
    const onClose = () => {
      cleanup();
      resolve(null);
    };
    const cleanup = () => {
      stage.off('frame', onFrame);
      closing.removeEventListener('abort', onClose);
    };
    stage.on('frame', onFrame);
    closing.addEventListener('abort', onClose);
  });
}

const open = new WeakMap<Stage, number>();
const track = (stage: Stage, delta: number) => {
  const n = (open.get(stage) ?? 0) + delta;
  open.set(stage, n);
  stage.setViewers('mjpeg', n);
};

export function mjpegResponse(stage: Stage, req: EncodeRequest, closing: AbortSignal): Response {
  let last = -1;
  let counted = true;
  track(stage, 1);
  const done = () => {
    if (counted) track(stage, -1);
    counted = false;
  };
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const frame = await nextFrame(stage, last, closing);
        if (!frame) {
          done();
          controller.close();
          return;
        }
        last = frame.info.index;
        const enc = await frame.encode({ ...req, format: 'jpeg' });
        const head = Buffer.from(
          `--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${enc.data.length}\r\nX-Frame-Index: ${frame.info.index}\r\n\r\n`,
        );
        stage.metrics.sent.inc();
        controller.enqueue(Buffer.concat([head, enc.data, Buffer.from('\r\n')]));
      },
      cancel: done,
    },
    { highWaterMark: 0 },
  );
  return new Response(body, {
    headers: {
      'Content-Type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
      'Cache-Control': 'no-store',
      Connection: 'close',
    },
  });
}
