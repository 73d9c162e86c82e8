// Assemble a running latentstage server: model -> stage -> surfaces on one HTTP port.
import { createServer, type Server, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { loadModel } from './model/load.ts';
import { Stage } from './stage.ts';
import type { Feature } from './feature.ts';
import { PresetStore } from './presets.ts';
import { attachPerformance } from './performance.ts';
import { Recorder } from './record/recorder.ts';
import { Streamer } from './record/stream.ts';
import type { Steering, SteerChoice } from './steer/steering.ts';
import type { Scheduler } from './steer/schedule.ts';
import { MidiMap } from './mod/midi-map.ts';
import type { Model } from './model/load.ts';
import { createHttpApp } from './surfaces/http.ts';
import { createFramesSurface } from './surfaces/frames-ws.ts';
import { createControlSurface } from './surfaces/control-ws.ts';
import { prepareOsc, type OscOptions, type OscSurface } from './surfaces/osc.ts';
import { startOscQuery, type OscQuery } from './surfaces/osc/query.ts';
import { DEFAULT_PREFIX } from './surfaces/osc/table.ts';
import { resolveToken } from './surfaces/auth.ts';
import { Access, HOST_REFUSED } from './surfaces/access.ts';
import { frontDoor } from './surfaces/front-door.ts';
import { guardProcess } from './guard.ts';
import { WorkerRuntime } from './runtime/worker.ts';
import { TorchRuntime } from './runtime/torch.ts';
import { RuntimeCrashError, type Device, type TorchOptions } from './runtime/runtime.ts';
import type { RuntimeKind } from './model/manifest.ts';
import { RuntimePool, planWorkers } from './runtime/pool.ts';
import type { Params } from './params.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_MODEL = path.join(ROOT, 'models', 'emoji-64');

export interface ServerOptions {
  model?: string;
  host?: string;
  port?: number;
  fps?: number;
  device?: Device;
  /** Inference threads per network (ONNX Runtime intra-op; default one per core). */
  threads?: number;
  seed?: number;
  /** How prompts steer (steering.ts SteerChoice; default auto). */
  steer?: SteerChoice;
  presets?: string;
  jpegQuality?: number;
  /** Control token (8+ characters); defaults to LATENTSTAGE_TOKEN, or a random one when bound beyond loopback. */
  token?: string | null;
  /** Browser origins that may control without a token (besides same-origin and loopback). */
  allowOrigins?: string[];
  /** Host names served besides loopback names, IP addresses and the bound host (DNS-rebinding guard). */
  allowHosts?: string[];
  params?: Partial<Params>;
  logger?: Logger;
  /** Folder for recordings (walk files and videos); default <ROOT>/recordings. */
  recordings?: string;
  /** Start streaming to this rtmp:// / srt:// URL right away. */
  stream?: string;
  /** Run inference in a worker thread, off the event loop (default true). */
  worker?: boolean;
  /** Runtime workers side by side (default: 2 when uncapped on a multi-core CPU, else 1; see planWorkers). */
  workers?: number;
  /** Run the model on this runtime instead of its manifest's (torch: PyTorch in a child process). */
  runtime?: RuntimeKind;
  /** The torch runtime's fp16 / torch.compile / CUDA graphs. */
  torch?: TorchOptions;
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
  scheduler: Scheduler;
  /** The OSC surface, when OSC is on and its port was free. */
  osc: OscSurface | null;
  /** The OSCQuery server, when OSC and OSCQuery are on. */
  oscQuery: OscQuery | null;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const log = opts.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const host = opts.host ?? '127.0.0.1';
  const token = resolveToken(opts.token, host);
  const access = new Access({ host, token, allowOrigins: opts.allowOrigins, allowHosts: opts.allowHosts });
  const jpegQuality = opts.jpegQuality ?? 80;
  const startOsc = opts.osc ? await prepareOsc(opts.osc, opts.presets ?? path.join(ROOT, 'presets')) : null;
  const worker = opts.worker ?? true;
  const plan = worker && opts.runtime !== 'torch' ? planWorkers({ fps: opts.fps ?? 60, device: opts.device, workers: opts.workers, threads: opts.threads, cores: availableParallelism() }) : { workers: 1, threads: opts.threads };
  const model = await loadModel(opts.model ?? DEFAULT_MODEL, { device: opts.device, ...plan, runtime: opts.runtime, torch: opts.torch, warn: (m) => log.warn(m), info: (m) => log.info(m), worker });
  // What startup has opened so far, closed in reverse order when a later step fails (the port is
  // taken, OSCQuery is refused, a feature fails to load): the runtime and its worker threads, the
  // features (the OSC socket, OSCQuery's server), the surfaces. Nothing is left running.
  const opened: Opened[] = [{ name: 'runtime', close: () => model.runtime.close() }];
  try {
    return await assemble(opts, { log, host, token, access, jpegQuality, startOsc, model }, opened);
  } catch (err) {
    for (const o of opened.reverse()) {
      try {
        await o.close();
      } catch (closeErr) {
        log.error({ err: closeErr }, `closing ${o.name} after a failed start failed`);
      }
    }
    throw err;
  }
}

interface Opened {
  name: string;
  close(): unknown;
}

interface Assembly {
  log: Logger;
  host: string;
  token: string | null;
  access: Access;
  jpegQuality: number;
  startOsc: Awaited<ReturnType<typeof prepareOsc>> | null;
  model: Model;
}

/** Everything after the model: the stage, its features, the surfaces, the port; what it opens goes on `opened`. */
async function assemble(opts: ServerOptions, { log, host, token, access, jpegQuality, startOsc, model }: Assembly, opened: Opened[]): Promise<RunningServer> {
  const stage = new Stage({
    model,
    fps: opts.fps,
    seed: opts.seed,
    presets: new PresetStore(opts.presets ?? path.join(ROOT, 'presets')),
    params: opts.params,
  });
  opened.push({ name: 'features', close: () => stage.closeFeatures((name, err) => log.error({ err }, `closing ${name} failed`)) });
  stage.on('failure', (err) => {
    if (!(err instanceof RuntimeCrashError)) log.error({ err }, 'frame generation failed');
  });
  if (model.runtime instanceof WorkerRuntime || model.runtime instanceof RuntimePool || model.runtime instanceof TorchRuntime) stage.use(watchWorker(stage, model.runtime, log));
  // The features that decide how a walk plays (performance.ts), then the live-only ones; they
  // close in reverse order.
  const { steering, scheduler } = await attachPerformance(stage, { log: { warn: (m) => log.warn(m), error: (m) => log.error(m) }, steering: { steer: opts.steer } });
  stage.use(await MidiMap.open(stage.presets.dir, log));
  const recorder = stage.use(new Recorder(stage, { dir: opts.recordings ?? path.join(ROOT, 'recordings'), log }));
  const streamer = stage.use(new Streamer(stage, log));

  const closing = new AbortController();
  const app = createHttpApp(stage, { access, jpegQuality, closing: closing.signal, root: ROOT });
  const frames = createFramesSurface(stage, { jpegQuality });
  const control = createControlSurface(stage);
  opened.push({
    name: 'surfaces',
    close: () => {
      closing.abort();
      frames.close();
      control.close();
    },
  });
  const refused = () => stage.metrics.errors.inc({ surface: 'http' });
  const http: Server = createServer(frontDoor(access, refused, app));
  const reject = (socket: Duplex, status: string, text: string) => {
    refused();
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${text}\n`);
  };
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return reject(socket, '400 Bad Request', 'bad request target');
    }
    if (!access.hostAllowed(req.headers.host)) return reject(socket, '403 Forbidden', HOST_REFUSED);
    if (url.pathname === '/frames') return frames.handleUpgrade(req, socket, head, url);
    if (url.pathname === '/control') {
      const verdict = access.control(req.headers, url);
      if (!verdict.ok) return reject(socket, verdict.status === 401 ? '401 Unauthorized' : '403 Forbidden', verdict.error);
      return control.handleUpgrade(req, socket, head);
    }
    reject(socket, '404 Not Found', `not found: ${url.pathname}`);
  });

  const osc = startOsc ? await startOsc(stage, host, log) : null;
  if (osc) stage.use(osc);
  let oscQuery: OscQuery | null = null;
  const q = opts.osc?.query;
  if (osc && q) {
    const oscHost = opts.osc?.host ?? host;
    try {
      oscQuery = await startOscQuery(stage, { port: q.port, host: oscHost, oscHost, oscPort: osc.port, prefix: opts.osc?.prefix ?? DEFAULT_PREFIX, advertise: q.advertise, map: osc.map, log });
    } catch (err) {
      if (!q.optional || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      log.warn(`OSCQuery port ${q.port} is in use: OSCQuery is off (choose another with --oscquery-port N)`);
    }
  }
  if (oscQuery) stage.use(oscQuery);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 8080, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const unguard = guardProcess({ log, metrics: stage.metrics });
  stage.start();
  if (opts.stream) await streamer.start(opts.stream).catch((err: Error) => log.error({ err }, `--stream: ${err.message}`));

  let closed: Promise<void> | null = null;
  const close = () =>
    (closed ??= (async () => {
      closing.abort();
      await stage.closeFeatures((name, err) => log.error({ err }, `closing ${name} failed`));
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
      unguard();
    })());

  return { url, port, host, token, stage, http, log, recorder, streamer, steering, scheduler, osc, oscQuery, close };
}

/** A restarted runtime worker's fault clears once it has run this long without crashing (ms). */
const RUNTIME_STABLE_MS = 10_000;

/**
 * Report runtime worker crashes (log, /metrics, state.runtime, the `runtime` fault) while it
 * restarts or holds; the stage retries by itself. A feature with a status and a timer.
 */
function watchWorker(stage: Stage, runtime: WorkerRuntime | RuntimePool | TorchRuntime, log: Logger): Feature {
  const what = runtime instanceof TorchRuntime ? 'torch runtime child process' : 'runtime worker';
  let stable: NodeJS.Timeout | null = null;
  const unstable = () => {
    if (stable) clearTimeout(stable);
    stable = null;
  };
  runtime.on('crash', (err) => {
    unstable();
    stage.metrics.runtimeCrashes.inc();
    log.error({ err }, `${what} crashed; restarting it`);
    stage.faults.raise('runtime', `the ${what} crashed (${err.message}); restarting it, the last frame stays up meanwhile`);
    stage.publish();
  });
  runtime.on('held', (err: Error, ms: number) => {
    unstable();
    const why = `the ${what} keeps crashing (last: ${err.message}): holding the last frame, next try in ${Math.round(ms / 1000)} s`;
    log.error({ err }, why);
    stage.faults.raise('runtime', why, 0);
  });
  runtime.on('restart', () => {
    log.info(`${what} restarted`);
    unstable();
    stable = setTimeout(() => {
      stable = null;
      if (runtime.state === 'running') stage.faults.clear('runtime');
    }, RUNTIME_STABLE_MS);
    stable.unref();
    stage.publish();
  });
  runtime.on('restartFailed', (err) => {
    log.error({ err }, `${what} could not restart; trying again`);
    stage.faults.raise('runtime', `the ${what} cannot restart (${err.message}); trying again with backoff`);
  });
  return { name: 'runtime', status: () => ({ runtime: { worker: runtime.state, crashes: runtime.crashes } }), close: unstable };
}
