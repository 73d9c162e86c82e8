// Assemble a running latentstage server: model -> stage -> surfaces on one HTTP port.
import { createAdaptorServer } from '@hono/node-server';
import type { Server, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { loadModel } from './model/load.ts';
import { Stage } from './stage.ts';
import { PresetStore } from './presets.ts';
import { Recorder } from './record/recorder.ts';
import { Streamer } from './record/stream.ts';
import { Steering } from './steer/steering.ts';
import { Scheduler } from './steer/schedule.ts';
import { createHttpApp } from './surfaces/http.ts';
import { createFramesSurface } from './surfaces/frames-ws.ts';
import { createControlSurface } from './surfaces/control-ws.ts';
import { prepareOsc, type OscOptions } from './surfaces/osc.ts';
import { hasToken, isLoopback } from './surfaces/auth.ts';
import type { Device } from './runtime/runtime.ts';
import type { Params } from './params.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_MODEL = path.join(ROOT, 'models', 'emoji-64');

export interface ServerOptions {
  model?: string;
  host?: string;
  port?: number;
  fps?: number;
  device?: Device;
  seed?: number;
  presets?: string;
  jpegQuality?: number;
  /** Control token; defaults to LATENTSTAGE_TOKEN, or a random one when bound beyond loopback. */
  token?: string | null;
  params?: Partial<Params>;
  logger?: Logger;
  /** Folder for recordings (walk files and videos); default <ROOT>/recordings. */
  recordings?: string;
  /** Start streaming to this rtmp:// / srt:// URL right away. */
  stream?: string;
  /** OSC over UDP (off when absent); see server/surfaces/osc.ts. */
  osc?: OscOptions | null;
}

export interface RunningServer {
  url: string;
  port: number;
  host: string;
  token: string | null;
  stage: Stage;
  http: Server;
  log: Logger;
  recorder: Recorder;
  streamer: Streamer;
  steering: Steering;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const log = opts.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token !== undefined ? opts.token : (process.env.LATENTSTAGE_TOKEN ?? (isLoopback(host) ? null : randomBytes(12).toString('base64url')));
  const jpegQuality = opts.jpegQuality ?? 80;
  const startOsc = opts.osc ? await prepareOsc(opts.osc, opts.presets ?? path.join(ROOT, 'presets')) : null;
  const model = await loadModel(opts.model ?? DEFAULT_MODEL, { device: opts.device, warn: (m) => log.warn(m) });
  const stage = new Stage({
    model,
    fps: opts.fps,
    seed: opts.seed,
    presets: new PresetStore(opts.presets ?? path.join(ROOT, 'presets')),
    params: opts.params,
  });
  stage.on('failure', (err) => log.error({ err }, 'frame generation failed'));
  const steering = await Steering.attach(stage, { log: { warn: (m) => log.warn(m), error: (m) => log.error(m) } });
  new Scheduler(stage, log);
  const recorder = new Recorder(stage, { dir: opts.recordings ?? path.join(ROOT, 'recordings'), log });
  const streamer = new Streamer(stage, log);

  const closing = new AbortController();
  const app = createHttpApp(stage, { token, jpegQuality, closing: closing.signal, root: ROOT });
  const frames = createFramesSurface(stage, { jpegQuality });
  const control = createControlSurface(stage);
  const http = createAdaptorServer({ fetch: app.fetch }) as Server;
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    socket.on('error', () => {});
    if (url.pathname === '/frames') return frames.handleUpgrade(req, socket, head, url);
    if (url.pathname === '/control') {
      if (!hasToken(token, req.headers, url)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\n\r\ncontrol requires a token\n');
        return;
      }
      return control.handleUpgrade(req, socket, head);
    }
    socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
  });

  const osc = startOsc ? await startOsc(stage, host, log) : null;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 8080, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  stage.start();
  if (opts.stream) await streamer.start(opts.stream).catch((err: Error) => log.error({ err }, `--stream: ${err.message}`));

  let closed: Promise<void> | null = null;
  const close = () =>
    (closed ??= (async () => {
      closing.abort();
      await osc?.close();
      await Promise.all([recorder.close(), streamer.close()]).catch((err: Error) => log.error({ err }, 'closing recorder/stream failed'));
      steering.close();
      await stage.stop();
      frames.close();
      control.close();
      http.closeIdleConnections?.();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        setTimeout(() => {
          http.closeAllConnections?.();
        }, 1000).unref();
      });
      await model.runtime.close();
    })());

  return { url, port, host, token, stage, http, log, recorder, streamer, steering, close };
}
