// Streaming beyond one room: `stream.start {url}` sends the live frames through ffmpeg to a media
// server: rtmp(s):// as FLV, srt:// udp:// tcp:// as MPEG-TS. Failures show in state.stream.error.
import type { Logger } from 'pino';
import { CommandError, type CommandOf } from '../commands.ts';
import type { Feature, FeatureHost } from '../feature.ts';
import type { FeatureState, StreamState } from '../state.ts';
import { checkFfmpeg, type Container } from './ffmpeg.ts';
import { LiveVideo } from './live-video.ts';
import { streamUrl } from '../schema-atoms.ts';
import { describeIssues } from '../zod-issues.ts';


/** Mask the stream key (last path segment) and any query (SRT passphrases). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const parts = u.pathname.split('/');
    if (parts.length > 2 && parts[parts.length - 1]) parts[parts.length - 1] = '***';
    return `${u.protocol}//${u.host}${parts.join('/')}${u.search ? '?***' : ''}`;
  } catch {
    return '***';
  }
}

export function containerFor(url: string): { protocol: string; container: Container } {
  const protocol = url.slice(0, url.indexOf(':'));
  return { protocol, container: protocol.startsWith('rtmp') ? 'flv' : 'mpegts' };
}

export class Streamer implements Feature {
  readonly name = 'streamer';
  private video: LiveVideo | null = null;
  private timer: NodeJS.Timeout | null = null;
  readonly state: StreamState = { active: false, url: null, startedAt: null, frames: 0 };

  constructor(
    readonly stage: FeatureHost,
    readonly log: Logger,
  ) {}

  readonly commands = {
    'stream.start': (cmd: CommandOf<'stream.start'>) => this.start(cmd.url, cmd.size),
    'stream.stop': () => this.stop(true),
  };

  status(): Pick<FeatureState, 'stream'> {
    return { stream: this.state };
  }

  get active(): boolean {
    return this.video !== null;
  }

  async start(url: string, size?: number): Promise<void> {
    if (this.video) throw new CommandError(`already streaming to ${this.state.url} (send stream.stop first)`, 409);
    const valid = streamUrl().safeParse(url);
    if (!valid.success) throw new CommandError(describeIssues(valid.error.issues));
    const { protocol, container } = containerFor(url);
    try {
      await checkFfmpeg(protocol);
    } catch (err) {
      throw new CommandError(`cannot stream: ${(err as Error).message}`, 500);
    }
    Object.assign(this.state, { active: true, url: redactUrl(url), startedAt: new Date().toISOString(), frames: 0 });
    delete this.state.error;
    const video = new LiveVideo(this.stage, {
      output: url,
      container,
      size: size ?? null,
      live: true,
      onError: (err) => {
        if (this.video !== video) return;
        this.state.error = `stream failed: ${err.message}`;
        this.state.active = false;
        this.state.frames = video.frames;
        this.video = null;
        if (this.timer) clearInterval(this.timer);
        this.log.error({ err, url: this.state.url }, `stream to ${this.state.url} failed`);
        this.stage.metrics.errors.inc({ surface: 'stream' });
        this.stage.publish();
      },
    });
    this.video = video;
    this.timer = setInterval(() => (this.state.frames = video.frames), 500);
    this.timer.unref();
    // A refused connection shows up moments later in state.stream.error (not waited for here, so
    // the command queue never stalls mid-performance).
    this.log.info({ url: this.state.url }, 'streaming');
  }

  async stop(strict = false): Promise<void> {
    const video = this.video;
    if (!video) {
      if (strict) throw new CommandError('not streaming', 409);
      return;
    }
    this.video = null;
    if (this.timer) clearInterval(this.timer);
    await video.stop();
    Object.assign(this.state, { active: false, frames: video.frames });
  }

  close(): Promise<void> {
    return this.stop();
  }
}
