// `latentstage render <walk> -o out.mp4 [--size N] [--fps N] [--from s] [--to s] [--frames DIR]
// [--model DIR] [--force]` and `latentstage render --preset NAME --duration s -o out.mp4`.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { z } from 'zod';
import cliProgress from 'cli-progress';
import { renderWalk, renderPreset, type RenderResult } from './render.ts';
import { SEED_MAX } from '../schema-atoms.ts';

export const RENDER_USAGE = `usage: latentstage render WALK.walk.jsonl -o OUT.mp4 [options]
       latentstage render --preset NAME [--duration S] -o OUT.mp4 [options]

  -o, --out FILE    output MP4 (H.264)
  --size N          output width, lanczos-upscaled (default: the model's native size)
  --fps N           output frame rate (default: the walk's, or 60)
  --from S --to S   render only this part (seconds from the walk's start)
  --frames DIR      also write every frame as a PNG into DIR
  --model DIR       model folder (default: models/<the walk's model id>)
  --force           render even if the model's files differ from the recording's
  --preset NAME     render a preset's walk instead of a recording (with --duration, default 60)
  --presets DIR     preset folder (default presets/)
  --seed N          seed for --preset (default 1, or the preset's own)
`;

/** Bad arguments: the CLI prints this message and RENDER_USAGE. */
export class RenderUsageError extends Error {}

const num = (name: string, min: number, max: number) =>
  z.coerce.number({ error: `--${name} must be a number` }).refine(Number.isFinite, `--${name} must be a number`).min(min, `--${name} must be >= ${min}`).max(max, `--${name} must be <= ${max}`);

const schema = z.object({
  out: z.string({ error: '-o OUT.mp4 is required' }).min(1, '-o OUT.mp4 is required'),
  size: num('size', 16, 8192).int('--size must be an integer').optional(),
  fps: num('fps', 1, 240).optional(),
  from: num('from', 0, 1e7).optional(),
  to: num('to', 0, 1e7).optional(),
  frames: z.string().optional(),
  model: z.string().optional(),
  force: z.boolean().optional(),
  preset: z.string().optional(),
  presets: z.string().optional(),
  duration: num('duration', 0.001, 86400).optional(),
  seed: num('seed', 0, SEED_MAX).int('--seed must be an integer').optional(),
  batch: num('batch', 1, 1024).int('--batch must be an integer').optional(),
});

export function parseRenderArgs(args: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        out: { type: 'string', short: 'o' },
        size: { type: 'string' },
        fps: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        frames: { type: 'string' },
        model: { type: 'string' },
        force: { type: 'boolean' },
        preset: { type: 'string' },
        presets: { type: 'string' },
        duration: { type: 'string' },
        seed: { type: 'string' },
        batch: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new RenderUsageError((err as Error).message);
  }
  if (parsed.values.help) throw new RenderUsageError('');
  const r = schema.safeParse(parsed.values);
  if (!r.success) throw new RenderUsageError(r.error.issues.map((i) => i.message).join('\n'));
  const o = r.data;
  const walk = parsed.positionals[0];
  if (parsed.positionals.length > 1) throw new RenderUsageError(`one walk file at a time (got ${parsed.positionals.length})`);
  if (!walk === !o.preset) throw new RenderUsageError('give a walk file or --preset NAME (one of the two)');
  if (o.preset && (o.from !== undefined || o.to !== undefined || o.force)) throw new RenderUsageError('--from, --to and --force apply to walk files, not --preset');
  if (walk && (o.duration !== undefined || o.seed !== undefined)) throw new RenderUsageError('--duration and --seed apply to --preset, not walk files');
  if (o.from !== undefined && o.to !== undefined && o.to <= o.from) throw new RenderUsageError('--to must be after --from');
  return { ...o, walk };
}

export async function renderCli(args: string[], root: string, defaultModel: string): Promise<RenderResult> {
  const o = parseRenderArgs(args);
  const bar = new cliProgress.SingleBar(
    { format: 'rendering {bar} {percentage}% | {value}/{total} frames | {speed} fps | ETA {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  let started = false;
  const onProgress = (done: number, total: number) => {
    if (!started) {
      bar.start(total, 0, { speed: '-' });
      started = true;
    }
    bar.update(done, { speed: (done / ((performance.now() - t0) / 1000)).toFixed(0) });
  };
  const warn = (m: string) => console.error(`latentstage: warning: ${m}`);
  const common = { out: o.out, size: o.size, framesDir: o.frames, batch: o.batch, onProgress, warn };
  let result: RenderResult;
  try {
    result = o.preset
      ? await renderPreset({ ...common, preset: o.preset, presetsDir: o.presets ?? path.join(root, 'presets'), model: o.model ?? defaultModel, duration: o.duration ?? 60, fps: o.fps ?? 60, seed: o.seed })
      : await renderWalk({ ...common, walk: o.walk!, model: o.model, modelsDir: path.join(root, 'models'), fps: o.fps, from: o.from, to: o.to, force: o.force });
  } finally {
    if (started) bar.stop();
  }
  const secs = result.frames / result.fps;
  console.error(
    `wrote ${result.out}: ${result.frames} frames (${secs.toFixed(2)} s at ${result.fps} fps), ${result.width}x${result.height}, ` +
      `${result.generated} generated, in ${result.seconds.toFixed(2)} s (${(result.frames / result.seconds).toFixed(0)} fps)`,
  );
  return result;
}
