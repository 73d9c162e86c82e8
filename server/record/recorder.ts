// The recorder adapter: `record.start` / `record.stop` write recordings/<name>.walk.jsonl (every
// frame's exact latent) and recordings/<name>.mp4 (live H.264, fragmented so a crash leaves a
// playable file). A failing video never stops the walk file, and neither ever stops the stage.
// Faults (see faults.ts): ffmpeg dying leaves the walk recording and the `recording` fault up
// until the next record.start, which finalises this recording and starts a fresh one; a full disk
// (or any failed walk write) stops the recording cleanly: both files finalised as far as they got,
// no ffmpeg restarted.
import { mkdir, access } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Frame } from '../frames/frame.ts';
import { generatorSha256, refinerSha256 } from '../model/hash.ts';
import { CommandError, type CommandOf } from '../commands.ts';
import type { Feature, FeatureHost } from '../feature.ts';
import type { FeatureState, RecordingState } from '../state.ts';
import { WalkWriter, WALK_FORMAT, type WalkHeader } from './walk-file.ts';
import { LiveVideo } from './live-video.ts';
import { trimToWholeFragments } from './mp4-trim.ts';

export interface RecorderOptions {
  dir: string;
  log: Logger;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** walk-YYYYMMDD-HHMMSS in local time. */
export function defaultName(d = new Date()): string {
  return `walk-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

interface Session {
  name: string;
  writer: WalkWriter;
  video: LiveVideo;
  t0: number;
  onFrame: (f: Frame) => void;
  flushCheck: NodeJS.Timeout;
  /** The video failed while the walk goes on: record.start finalises this one and starts afresh. */
  degraded: boolean;
}

/** A failure that means the disk (or the file system's quota) is full. */
export function isDiskFull(err: Error): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOSPC' || (err as NodeJS.ErrnoException).code === 'EDQUOT' || /No space left on device|Disk quota exceeded/i.test(err.message);
}

export class Recorder implements Feature {
  readonly name = 'recorder';
  private session: Session | null = null;
  readonly state: RecordingState = { active: false, name: null, walk: null, video: null, startedAt: null, frames: 0, videoFrames: 0 };

  constructor(
    readonly stage: FeatureHost,
    readonly opts: RecorderOptions,
  ) {}

  readonly commands = {
    'record.start': (cmd: CommandOf<'record.start'>) => this.start(cmd),
    'record.stop': () => this.stop(),
  };

  status(): Pick<FeatureState, 'recording'> {
    return { recording: this.state };
  }

  get active(): boolean {
    return this.session !== null;
  }

  /** The ffmpeg child's pid while recording (for diagnostics and tests). */
  get videoPid(): number | undefined {
    const encoder = this.session?.video.encoder;
    return encoder?.alive ? encoder.proc.pid : undefined;
  }

  private publish(): void {
    this.stage.publish();
  }

  private report(what: string, err: Error): void {
    const msg = `${what}: ${err.message}`;
    if (!this.state.error) this.state.error = msg;
    else if (!this.state.error.includes(msg)) this.state.error += `; ${msg}`;
    this.opts.log.error({ err, recording: this.state.name }, `recording ${this.state.name}: ${msg}`);
    this.stage.metrics.errors.inc({ surface: 'recorder' });
    this.publish();
  }

  async start(cmd: { name?: string; size?: number }): Promise<void> {
    if (this.session?.degraded) await this.stop();
    if (this.session) throw new CommandError(`already recording "${this.session.name}" (send record.stop first)`, 409);
    const dir = this.opts.dir;
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new CommandError(`cannot record to ${dir}: ${(err as Error).message}`, 500);
    }
    let name = cmd.name ?? defaultName();
    if (!cmd.name) for (let k = 2; (await exists(path.join(dir, `${name}.walk.jsonl`))) && k < 100; k++) name = `${defaultName()}-${k}`;
    const walkFile = path.join(dir, `${name}.walk.jsonl`);
    const videoFile = path.join(dir, `${name}.mp4`);
    if ((await exists(walkFile)) || (await exists(videoFile))) throw new CommandError(`recording "${name}" already exists in ${dir}`, 409);

    const stage = this.stage;
    const m = stage.model.manifest;
    const e = stage.engine;
    const started = new Date();
    const header: WalkHeader = {
      type: 'walk',
      format: WALK_FORMAT,
      model: { id: m.id, sha256: await generatorSha256(stage.model), refinerSha256: await refinerSha256(stage.model), zDim: m.generator.z.dim, conditionDim: m.generator.condition?.dim ?? 0 },
      resolution: { ...m.resolution },
      fps: stage.targetFps,
      seed: e.seed,
      params: { ...e.params },
      prompt: e.prompt.text,
      keys: e.keys,
      startedAt: started.toISOString(),
      startedAtMs: started.getTime(),
    };
    let writer: WalkWriter;
    try {
      writer = await WalkWriter.create(walkFile, header);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new CommandError(`recording "${name}" already exists in ${dir}`, 409);
      throw new CommandError(`cannot record to ${walkFile}: ${(err as Error).message}`, 500);
    }

    Object.assign(this.state, { active: true, name, walk: walkFile, video: videoFile, startedAt: header.startedAt, frames: 0, videoFrames: 0 });
    delete this.state.error;
    stage.faults.clear('recording');
    const video = new LiveVideo(stage, { output: videoFile, container: 'mp4', size: cmd.size ?? null, onError: (err) => this.videoFailed(name, err) });
    const t0 = video.t0;
    const onFrame = (f: Frame) => {
      const l = f.latent;
      if (!l) return;
      writer.append({
        index: f.info.index,
        time: f.info.time,
        dt: l.dt,
        frames: l.frames,
        wall: f.info.readyAt - t0,
        z: l.z,
        condition: l.condition,
        prompt: l.state?.prompt.text,
        params: l.state ? { ...l.state.params } : undefined,
      });
      this.state.frames = writer.frames;
      this.state.videoFrames = video.frames;
    };
    stage.on('frame', onFrame);
    let walkFailed = false;
    const flushCheck = setInterval(() => {
      this.state.videoFrames = video.frames;
      if (writer.error && !walkFailed) {
        walkFailed = true;
        this.report('walk file write failed', writer.error);
        void this.halt(name, writer.error);
      }
    }, 500);
    flushCheck.unref();
    this.session = { name, writer, video, t0, onFrame, flushCheck, degraded: false };
    this.opts.log.info({ walk: walkFile, video: videoFile }, `recording ${name}`);
  }

  /** ffmpeg died: a full disk stops the recording; anything else leaves the walk recording. */
  private videoFailed(name: string, err: Error): void {
    const s = this.session;
    if (!s || s.name !== name) return;
    if (isDiskFull(err)) {
      this.report('video failed', err);
      void this.halt(name, err);
      return;
    }
    s.degraded = true;
    this.report('video failed (the walk file keeps recording)', err);
    this.stage.faults.raise('recording', `the video of "${name}" stopped (${err.message}); the walk file keeps recording. Send record.start to finalise it and start a new recording`);
  }

  /** Stop the recording after a failure it cannot go on from (a full disk): finalise what can be. */
  private async halt(name: string, err: Error): Promise<void> {
    if (this.session?.name !== name) return;
    const full = isDiskFull(err);
    this.stage.faults.raise('recording', full ? `the disk is full: recording "${name}" stopped (what was written plays); free space, then record.start` : `recording "${name}" stopped: ${err.message}`);
    try {
      await this.stop();
    } catch {
      // reported already
    }
    this.opts.log.error({ err, recording: name }, `recording ${name} stopped: ${full ? 'the disk is full' : err.message}`);
    this.publish();
  }

  /** Finalise both files; `stallMs`: how long ffmpeg may make no progress before it is killed. */
  async stop(stallMs?: number): Promise<void> {
    const s = this.session;
    if (!s) throw new CommandError('not recording', 409);
    this.session = null;
    this.stage.off('frame', s.onFrame);
    clearInterval(s.flushCheck);
    const wall = performance.now() - s.t0;
    await Promise.all([s.video.stop(stallMs), s.writer.close(wall)]);
    await this.trimVideo(s.name, s.video.opts.output);
    if (s.writer.error) this.report('walk file write failed', s.writer.error);
    Object.assign(this.state, { active: false, frames: s.writer.frames, videoFrames: s.video.frames });
    if (s.degraded) this.stage.faults.clear('recording');
    this.opts.log.info({ frames: s.writer.frames, seconds: Math.round(wall) / 1000 }, `recording ${s.name} stopped`);
  }

  /** When ffmpeg was cut off (full disk, killed), drop the torn last fragment so the file opens everywhere. */
  private async trimVideo(name: string, file: string): Promise<void> {
    try {
      const { before, after } = await trimToWholeFragments(file);
      if (after < before) this.opts.log.warn({ video: file, bytes: before - after }, `recording ${name}: cut the torn last fragment (${before - after} bytes) so the video opens`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.report('could not trim the cut-off video', err as Error);
    }
  }

  /** Stop cleanly (finalize both files) if recording: at shutdown, ffmpeg may stall 3 s at most. */
  async close(): Promise<void> {
    if (this.session) {
      await this.stop(3000);
      this.publish();
    }
  }
}
