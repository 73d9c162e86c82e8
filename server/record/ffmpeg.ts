// The ffmpeg process behind video recording, offline rendering and streaming: raw RGB frames in on
// stdin, H.264 out to a fragmented MP4 (playable after a crash), FLV (RTMP), MPEG-TS (SRT/UDP) or
// RTP (a WebRTC media server's input).
import { spawn, execFile, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import installer from '@ffmpeg-installer/ffmpeg';

const run = promisify(execFile);

/** The ffmpeg binary: $FFMPEG_PATH, else the one @ffmpeg-installer ships. */
export function ffmpegPath(): string {
  return process.env.FFMPEG_PATH || installer.path;
}

export type Container = 'mp4' | 'flv' | 'mpegts' | 'rtp';

export interface EncoderOptions {
  /** Output file or URL. */
  output: string;
  container: Container;
  /** Size of the raw frames written. */
  width: number;
  height: number;
  fps: number;
  /** Output size (lanczos-scaled when different; rounded to even numbers for yuv420p). */
  outWidth?: number;
  outHeight?: number;
  /** Live streaming: lower latency settings. */
  live?: boolean;
  /** x264 preset (default veryfast). */
  preset?: string;
  /** x264 constant rate factor (default: x264's 23). */
  crf?: number;
  /** Also write every (scaled) frame as DIR/frame-000000.png. */
  pngDir?: string;
}

const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));

/** Output size for a requested width (height follows the aspect ratio); both even. */
export function outputSize(width: number, height: number, size?: number | null): { width: number; height: number } {
  if (!size) return { width: even(width), height: even(height) };
  return { width: even(size), height: even((size * height) / width) };
}

export function encoderArgs(o: EncoderOptions): string[] {
  const ow = even(o.outWidth ?? o.width);
  const oh = even(o.outHeight ?? o.height);
  // one keyframe a second; RTP (WebRTC viewers) two: a viewer joins within half a second
  const gop = Math.max(1, Math.round(o.container === 'rtp' ? o.fps / 2 : o.fps));
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${o.width}x${o.height}`, '-r', String(o.fps), '-i', 'pipe:0');
  const scale = ow !== o.width || oh !== o.height ? `scale=${ow}:${oh}:flags=lanczos+accurate_rnd+full_chroma_int` : 'null';
  if (o.pngDir) args.push('-filter_complex', `[0:v]${scale},split=2[v][p]`, '-map', '[v]');
  else if (scale !== 'null') args.push('-vf', scale);
  args.push('-c:v', 'libx264', '-preset', o.preset ?? 'veryfast', '-pix_fmt', 'yuv420p', '-g', String(gop), '-keyint_min', String(gop));
  if (o.crf !== undefined) args.push('-crf', String(o.crf));
  if (o.live) args.push('-tune', 'zerolatency');
  // WebRTC: constrained baseline (every browser decodes it; no B-frames), in-band SPS/PPS on every
  // keyframe, RTP packets that fit a UDP datagram on any path (1200 bytes)
  if (o.container === 'rtp') args.push('-profile:v', 'baseline', '-bf', '0', '-payload_type', '96', '-f', 'rtp');
  // each fragment reaches the disk as it is made (no 32 KB write buffer): a full disk or a crash
  // leaves every fragment finished before it
  if (o.container === 'mp4') args.push('-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-flush_packets', '1', '-f', 'mp4');
  else if (o.container === 'flv') args.push('-f', 'flv');
  else if (o.container === 'mpegts') args.push('-f', 'mpegts');
  args.push(o.output);
  if (o.pngDir) args.push('-map', '[p]', '-c:v', 'png', '-f', 'image2', '-start_number', '0', path.join(o.pngDir, 'frame-%06d.png'));
  return args;
}

/** Throw unless the ffmpeg binary runs and has libx264 (and the protocol, for a URL). */
export async function checkFfmpeg(protocol?: string): Promise<void> {
  const bin = ffmpegPath();
  let encoders: string;
  try {
    encoders = (await run(bin, ['-hide_banner', '-encoders'])).stdout;
  } catch (err) {
    throw new Error(`ffmpeg is not usable at ${bin}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!/\blibx264\b/.test(encoders)) throw new Error(`ffmpeg at ${bin} has no libx264 encoder`);
  if (protocol) {
    const { stdout } = await run(bin, ['-hide_banner', '-protocols']);
    const out = stdout.split(/Output:/)[1] ?? '';
    if (!out.split(/\s+/).includes(protocol)) throw new Error(`ffmpeg at ${bin} cannot send to ${protocol}:// (no such output protocol)`);
  }
}

/**
 * One ffmpeg process fed raw RGB frames. `done` resolves when ffmpeg exits cleanly after end(),
 * and rejects with ffmpeg's own error text when it fails (at any time).
 */
export class Encoder {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly done: Promise<void>;
  /** Set when ffmpeg failed or exited early. */
  error: Error | null = null;
  frames = 0;
  private ended = false;
  private stderr = '';
  private readonly frameBytes: number;

  constructor(readonly opts: EncoderOptions) {
    this.frameBytes = opts.width * opts.height * 3;
    this.proc = spawn(ffmpegPath(), encoderArgs(opts), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.resume();
    this.proc.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.proc.stdin.on('error', () => {}); // EPIPE when ffmpeg dies; reported through `done`
    this.done = new Promise<void>((resolve, reject) => {
      this.proc.once('error', (err) => {
        this.error = new Error(`cannot start ffmpeg (${ffmpegPath()}): ${err.message}`);
        reject(this.error);
      });
      this.proc.once('close', (code, signal) => {
        if (code === 0 && this.ended) return resolve();
        const why = this.stderr.trim().split('\n').slice(-3).join(' | ');
        this.error ??= new Error(`ffmpeg ${signal ? `was killed (${signal})` : `exited with code ${code}`}${why ? `: ${why}` : ''}`);
        reject(this.error);
      });
    });
    this.done.catch(() => {});
  }

  get alive(): boolean {
    return !this.error && !this.ended;
  }

  /** Bytes queued for ffmpeg that it has not read yet. */
  get backlog(): number {
    return this.proc.stdin.writableLength;
  }

  /** Queue one frame; false when ffmpeg is gone. Resolves `drained` when the pipe accepted it. */
  write(rgb: Buffer): boolean {
    if (!this.alive) return false;
    if (rgb.length !== this.frameBytes) throw new RangeError(`frame is ${rgb.length} bytes, expected ${this.frameBytes}`);
    this.frames++;
    this.proc.stdin.write(rgb);
    return true;
  }

  /**
   * Wait while more than `maxBacklog` bytes are queued (offline rendering: keeps ffmpeg busy
   * without buffering the whole video in memory).
   */
  async drain(maxBacklog = 32 * 1024 * 1024): Promise<void> {
    if (this.proc.stdin.writableLength > maxBacklog && this.alive) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.proc.stdin.off('drain', done);
          this.proc.off('close', done);
          resolve();
        };
        this.proc.stdin.once('drain', done);
        this.proc.once('close', done);
      });
    }
  }

  /**
   * Close stdin and wait for ffmpeg to finish the file. It is killed only when it makes no progress
   * (reads none of the frames still queued for it) for `stallMs`: a busy machine's ffmpeg that is
   * behind gets the time to encode every frame, a hung one does not hold the caller.
   */
  async end(stallMs = 15000): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      this.proc.stdin.end();
    }
    let queued = this.proc.stdin.writableLength;
    let still = 0;
    const t = setInterval(() => {
      const now = this.proc.stdin.writableLength;
      still = now < queued ? 0 : still + 250;
      queued = now;
      if (still >= stallMs) this.proc.kill('SIGKILL');
    }, 250);
    try {
      await this.done;
    } finally {
      clearInterval(t);
    }
  }

  kill(): void {
    this.ended = true;
    this.proc.kill('SIGKILL');
  }
}

/**
 * Keeps a live encoder on a constant output rate against the wall clock: output slot k belongs at
 * t0 + k / fps and shows the latest frame ready by then; frames arriving faster are dropped, gaps
 * are filled by repeating the last frame. A 60 s performance makes a 60 s video.
 */
export class Pacer {
  private last: Buffer | null = null;
  private slots = 0;

  constructor(
    readonly encoder: Encoder,
    readonly fps: number,
    readonly t0: number,
  ) {}

  /** A new frame became ready at wall time `now` (ms, same clock as t0). */
  push(rgb: Buffer, now: number): void {
    this.fill(now);
    this.last = rgb;
  }

  /** Write the held frame into every slot that began before `now`. */
  fill(now: number): void {
    const due = Math.floor(((now - this.t0) * this.fps) / 1000);
    if (!this.last) return; // slots before the first frame show the first frame
    while (this.slots < due && this.encoder.alive) {
      this.encoder.write(this.last);
      this.slots++;
    }
  }

  /** Fill up to `now` (at least one frame) before ending. */
  finish(now: number): void {
    this.fill(now);
    if (this.last && this.encoder.frames === 0 && this.encoder.alive) this.encoder.write(this.last);
  }
}
