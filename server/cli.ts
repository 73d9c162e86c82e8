// The latentstage command line: `latentstage serve [--model DIR] [--host] [--port] [--fps]
// [--device cpu|cuda|mps|tensorrt|coreml|dml] [--runtime onnx|tfjs|torch] [--seed]`, `latentstage render ...`,
// `latentstage import stylegan|biggan|clip SRC -o OUT`, `latentstage index MODEL_FOLDER` (the latent bank).
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { devices } from './runtime/runtime.ts';
import { runtimeKinds } from './model/manifest.ts';
import { startServer, DEFAULT_MODEL } from './server.ts';
import { MANIFEST } from './model/manifest.ts';
import { oscFromFlags } from './surfaces/osc.ts';
import { ROOT } from './server.ts';
import { normalizeHost, normalizeOrigin } from './surfaces/access.ts';
import { renderCli, RenderUsageError, RENDER_USAGE } from './record/render-cli.ts';
import { streamUrl, oscPrefix, parseHostPort, SEED_MAX } from './schema-atoms.ts';
import { indexCli, IndexUsageError, INDEX_USAGE } from './steer/index-cli.ts';
import { steerChoices } from './steer/steering.ts';
import { importCli, ImportUsageError, IMPORT_USAGE } from './model/import-cli.ts';

const USAGE = `usage: latentstage serve [options]

  --model DIR       model folder with a ${MANIFEST} (default: models/emoji-64)
  --host HOST       address to bind (default 127.0.0.1; beyond loopback, control needs a token)
  --port N          HTTP/WebSocket port (default 8080, 0 = any free port)
  --fps N           target frames per second (default 60, 0 = uncapped)
  --device D        ${devices.join('|')} (default cpu; falls back to cpu if unavailable)
  --runtime R       ${runtimeKinds.join('|')}: run the model on this runtime instead of its manifest's
                    (torch: the folder's PyTorch weights in a python3 child, the GPU path)
  --fp16            torch runtime: half precision (cuda/mps)
  --compile         torch runtime: torch.compile the generator (PyTorch 2)
  --cuda-graphs     torch runtime: replay live frames from captured CUDA graphs (cuda)
  --threads N       inference threads per network (default: ONNX Runtime's, one per core;
                    with 2+ workers, the cores split between them)
  --workers N       runtime workers making frames side by side (default: 2 when uncapped
                    on a CPU with 2+ cores, else 1)
  --seed N          walk seed (default 1)
  --steer PATH      how prompts steer: ${steerChoices.join('|')} (default auto: the prior, a
                    text-conditioned generator, the latent bank, else the search; bank switches
                    a prior off and steers through the bank of latentstage index)
  --presets DIR     preset folder (default presets/)
  --quality N       JPEG quality 1-100 (default 80)
  --token T         control token, 8+ characters (default: $LATENTSTAGE_TOKEN, or random when not on loopback)
  --allow-origin O  web origins that may control without a token, e.g. https://editor.p5js.org
                    (comma-separated or repeated; same origin and loopback origins always may)
  --allow-host H    Host names to answer besides loopback, IP addresses and --host, e.g. stage.local
                    (.example.com allows its subdomains; comma-separated or repeated)
  --recordings DIR  folder for record.start walk files and videos (default recordings/)
  --stream URL      stream live video to rtmp://... (FLV) or srt://... (MPEG-TS) from the start
  --osc-port N      OSC (UDP) port (default 9000, 0 = OSC off)
  --osc-host HOST   address OSC binds (default: --host)
  --osc-allow LIST  OSC senders allowed besides loopback: IPs/CIDRs, comma-separated
  --osc-map FILE    OSC address mapping (default presets/osc-map.json when present)
  --osc-prefix P    prefix of the built-in OSC addresses (default /ls)
  --osc-feedback H:P  always send OSC state feedback to HOST:PORT
  --oscquery-port N OSCQuery (HTTP + websocket) port describing the OSC addresses (default 9001, 0 = off)
`;

export class UsageError extends Error {
  constructor(message = '', readonly usage = USAGE) {
    super(message);
  }
}

const int = (name: string, min: number, max: number) =>
  z.coerce.number({ error: `--${name} must be a number` }).int(`--${name} must be an integer`).min(min, `--${name} must be >= ${min}`).max(max, `--${name} must be <= ${max}`);

const serveSchema = z.object({
  model: z.string().optional(),
  host: z.string().min(1).optional(),
  port: int('port', 0, 65535).optional(),
  fps: int('fps', 0, 1000).optional(),
  device: z.enum(devices, { error: `--device must be one of ${devices.join(', ')}` }).optional(),
  threads: int('threads', 1, 64).optional(),
  workers: int('workers', 1, 16).optional(),
  runtime: z.enum(runtimeKinds, { error: `--runtime must be one of ${runtimeKinds.join(', ')}` }).optional(),
  fp16: z.boolean().optional(),
  compile: z.boolean().optional(),
  'cuda-graphs': z.boolean().optional(),
  seed: int('seed', 0, SEED_MAX).optional(),
  steer: z.enum(steerChoices, { error: `--steer must be one of ${steerChoices.join(', ')}` }).optional(),
  presets: z.string().optional(),
  quality: int('quality', 1, 100).optional(),
  token: z.string().refine((t) => t.trim().length >= 8, '--token must be at least 8 characters').optional(),
  'allow-origin': z.array(z.string()).optional(),
  'allow-host': z.array(z.string()).optional(),
  recordings: z.string().min(1).optional(),
  stream: streamUrl('--stream').optional(),
  'osc-port': int('osc-port', 0, 65535).optional(),
  'osc-host': z.string().min(1).optional(),
  'osc-allow': z.string().optional(),
  'osc-map': z.string().min(1).optional(),
  'osc-prefix': oscPrefix('--osc-prefix').optional(),
  'osc-feedback': z.string().refine((t) => parseHostPort(t) !== null, '--osc-feedback must be HOST:PORT').optional(),
  'oscquery-port': int('oscquery-port', 0, 65535).optional(),
});

export function parseServeArgs(args: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        model: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        fps: { type: 'string' },
        device: { type: 'string' },
        threads: { type: 'string' },
        workers: { type: 'string' },
        runtime: { type: 'string' },
        fp16: { type: 'boolean' },
        compile: { type: 'boolean' },
        'cuda-graphs': { type: 'boolean' },
        seed: { type: 'string' },
        steer: { type: 'string' },
        presets: { type: 'string' },
        quality: { type: 'string' },
        token: { type: 'string' },
        'allow-origin': { type: 'string', multiple: true },
        'allow-host': { type: 'string', multiple: true },
        recordings: { type: 'string' },
        stream: { type: 'string' },
        'osc-port': { type: 'string' },
        'osc-host': { type: 'string' },
        'osc-allow': { type: 'string' },
        'osc-map': { type: 'string' },
        'osc-prefix': { type: 'string' },
        'osc-feedback': { type: 'string' },
        'oscquery-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) throw new UsageError('');
  const r = serveSchema.safeParse(values);
  if (!r.success) throw new UsageError(r.error.issues.map((i) => i.message).join('\n'));
  const list = (v: string[] | undefined, check: (s: string) => string, flag: string) => {
    const items = (v ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    try {
      return items.map(check);
    } catch (err) {
      throw new UsageError(`--${flag}: ${(err as Error).message}`);
    }
  };
  return { ...r.data, allowOrigins: list(r.data['allow-origin'], normalizeOrigin, 'allow-origin'), allowHosts: list(r.data['allow-host'], normalizeHost, 'allow-host') };
}

async function serve(args: string[]): Promise<void> {
  const o = parseServeArgs(args);
  const model = o.model ?? DEFAULT_MODEL;
  if (!existsSync(path.join(model, MANIFEST))) {
    const which = o.model ? `no model at ${model} (${MANIFEST} missing)` : `no model is installed at ${model}`;
    throw new UsageError(`${which}. Pass --model DIR with a model folder (see models/README.md).`);
  }
  const server = await startServer({
    model,
    host: o.host,
    port: o.port,
    fps: o.fps,
    device: o.device,
    threads: o.threads,
    workers: o.workers,
    runtime: o.runtime,
    torch: o.fp16 || o.compile || o['cuda-graphs'] ? { fp16: o.fp16, compile: o.compile, cudaGraphs: o['cuda-graphs'] } : undefined,
    seed: o.seed,
    steer: o.steer,
    presets: o.presets,
    jpegQuality: o.quality,
    token: o.token,
    allowOrigins: o.allowOrigins,
    allowHosts: o.allowHosts,
    recordings: o.recordings,
    stream: o.stream,
    osc: oscFromFlags({ oscPort: o['osc-port'], oscHost: o['osc-host'], oscAllow: o['osc-allow'], oscMap: o['osc-map'], oscPrefix: o['osc-prefix'], oscFeedback: o['osc-feedback'], oscqueryPort: o['oscquery-port'], host: o.host }),
  });
  const { url, stage, token } = server;
  const m = stage.model.manifest;
  const lines = [
    `latentstage serving ${m.name} (${m.id}, ${m.resolution.width}x${m.resolution.height}) on ${stage.model.runtime.device}${(stage.model.runtime.lanes ?? 1) > 1 ? ` (${stage.model.runtime.lanes} runtime workers)` : ''}`,
    `  control page   ${url}/`,
    `  projector      ${url}/sketches/projector/`,
    `  frames (ws)    ${url.replace('http', 'ws')}/frames?format=jpeg&size=512`,
    `  control (ws)   ${url.replace('http', 'ws')}/control`,
    `  commands       POST ${url}/api/command`,
    `  MJPEG          ${url}/stream.mjpg`,
    `  metrics        ${url}/metrics`,
  ];
  const osc = stage.state().osc;
  if (osc) lines.push(`  OSC (udp)      ${osc.host}:${osc.port} ${osc.prefix}/... (server/surfaces/osc/README.md)`);
  if (server.oscQuery) lines.push(`  OSCQuery       http://${osc?.host ?? o.host ?? '127.0.0.1'}:${server.oscQuery.port}/`);
  if (token) lines.push(`  control token  ${token}  (open ${url}/?token=${token} once; the page remembers it)`);
  console.log(lines.join('\n'));
  // SIGTERM / Ctrl-C: recordings finalised, streams ended, sockets closed, within SHUTDOWN_MS; a
  // second signal (or a shutdown that hangs) exits at once.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      server.log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    server.log.info(`${signal}: shutting down`);
    setTimeout(() => {
      server.log.error(`shutdown took more than ${SHUTDOWN_MS / 1000} s: exiting now`);
      process.exit(1);
    }, SHUTDOWN_MS).unref();
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** The longest a signalled shutdown may take before the process exits regardless (ms). */
const SHUTDOWN_MS = 4500;

async function render(args: string[]): Promise<void> {
  try {
    await renderCli(args, ROOT, DEFAULT_MODEL);
  } catch (err) {
    if (err instanceof RenderUsageError) throw new UsageError(err.message && `render: ${err.message}`, RENDER_USAGE);
    throw err;
  }
}

async function index(args: string[]): Promise<void> {
  try {
    await indexCli(args);
  } catch (err) {
    if (err instanceof IndexUsageError) throw new UsageError(err.message && `index: ${err.message}`, INDEX_USAGE);
    throw err;
  }
}

async function importModel(args: string[]): Promise<void> {
  try {
    await importCli(args);
  } catch (err) {
    if (err instanceof ImportUsageError) throw new UsageError(err.message && `import: ${err.message}`, IMPORT_USAGE);
    throw err;
  }
}

export const commands: Record<string, (args: string[]) => Promise<void>> = { serve, render, import: importModel, index };

export async function main(argv: string[]): Promise<number> {
  const [cmd = 'serve', ...rest] = argv;
  const run = commands[cmd];
  try {
    if (!run) throw new UsageError(`unknown command "${cmd}" (known: ${Object.keys(commands).join(', ')})`);
    await run(rest);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) console.error(`latentstage: ${err.message}\n`);
      console.error(err.usage);
      return 2;
    }
    console.error(`latentstage: ${(err as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('cli.ts')) {
  main(process.argv.slice(2)).then((code) => {
    if (code !== 0) process.exit(code);
  });
}
