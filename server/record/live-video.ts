// A live video output: the stage's frames, paced to a constant rate against the wall clock, into an
// ffmpeg Encoder (a fragmented MP4 beside a walk file, or a stream to a media server).
import { performance } from 'node:perf_hooks';
import type { FeatureHost } from '../feature.ts';
import type { Frame } from '../frames/frame.ts';
import { Encoder, Pacer, outputSize, type Container } from './ffmpeg.ts';

/** Queued-but-unread bytes beyond which ffmpeg is declared too slow (the output fails, the stage goes on). */
const MAX_BACKLOG = 256 * 1024 * 1024;

export interface LiveVideoOptions {
  output: string;
  container: Container;
  /** Output width (height follows); null = native. */
  size?: number | null;
  live?: boolean;
  /** Called once when the encoder fails (ffmpeg died, could not start, could not keep up). */
  onError(err: Error): void;
}

export class LiveVideo {
  readonly encoder: Encoder;
  readonly fps: number;
  readonly t0 = performance.now();
  private pacer: Pacer;
  private timer: NodeJS.Timeout;
  private failed = false;
  private readonly onFrame = (f: Frame) => {
    if (f.width !== this.encoder.opts.width || f.height !== this.encoder.opts.height) return;
    this.pacer.push(f.rgb, f.info.readyAt);
    this.check();
  };

  constructor(
    readonly stage: FeatureHost,
    readonly opts: LiveVideoOptions,
  ) {
    const { width, height } = stage.model.manifest.resolution;
    this.fps = stage.targetFps > 0 ? stage.targetFps : 60;
    const out = outputSize(width, height, opts.size);
    this.encoder = new Encoder({ output: opts.output, container: opts.container, width, height, fps: this.fps, outWidth: out.width, outHeight: out.height, live: opts.live });
    this.encoder.done.catch((err: Error) => this.fail(err));
    this.pacer = new Pacer(this.encoder, this.fps, this.t0);
    // Keep the output running even when the stage stalls (slow model, generation failures).
    this.timer = setInterval(() => {
      this.pacer.fill(performance.now());
      this.check();
    }, 250);
    this.timer.unref();
    stage.on('frame', this.onFrame);
  }

  get frames(): number {
    return this.encoder.frames;
  }

  get error(): Error | null {
    return this.encoder.error;
  }

  private check(): void {
    if (!this.failed && this.encoder.backlog > MAX_BACKLOG) {
      this.encoder.error ??= new Error('ffmpeg cannot keep up with the frames (encoder too slow); video stopped');
      this.encoder.kill();
    }
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.detach();
    this.opts.onError(err);
  }

  private detach(): void {
    clearInterval(this.timer);
    this.stage.off('frame', this.onFrame);
  }

  /**
   * Pad to the current wall time, end the stream and wait for ffmpeg to finish the file: as long as
   * it makes progress, unless `stallMs` passes without (shutdown passes 3 s, so it stays within its
   * 5 s; a fragmented MP4 plays up to its last fragment).
   */
  async stop(stallMs = 15000): Promise<void> {
    this.detach();
    if (this.encoder.alive) this.pacer.finish(performance.now());
    try {
      await this.encoder.end(stallMs);
    } catch {
      // reported through onError
    }
  }
}
