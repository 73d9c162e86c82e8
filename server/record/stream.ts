// Streaming beyond one room: `stream.start {url}` sends the live frames through ffmpeg to a media
// server: rtmp(s):// as FLV, srt:// udp:// tcp:// as MPEG-TS, webrtc://host:port as RTP/H.264 into a
// WebRTC media server (Janus, see janus/). When the connection fails (the media
// server goes away, ffmpeg dies) it reconnects with backoff (1, 2, 5, 10, 30 s) until stream.stop:
// state.stream shows `reconnecting`, the attempt count and the error, and the `stream` fault is up.
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

/** What ffmpeg sends where: the protocol it needs, the container and its output URL. */
export function containerFor(url: string): { protocol: string; container: Container; output: string } {
  const protocol = url.slice(0, url.indexOf(':'));
  if (protocol === 'webrtc') {
    const u = new URL(url);
    return { protocol: 'rtp', container: 'rtp', output: `rtp://${u.host}?pkt_size=1200` };
  }
  return { protocol, container: protocol.startsWith('rtmp') ? 'flv' : 'mpegts', output: url };
}

/** Waits before each reconnect attempt (s); the last repeats. */
export const RECONNECT_BACKOFF_S = [1, 2, 5, 10, 30];
/** A connection that lasted this long is up: the attempts start over (ms). */
export const STABLE_MS = 5000;

export class Streamer implements Feature {
  readonly name = 'streamer';
  private video: LiveVideo | null = null;
  /** Where to send while the stream is on (kept through reconnects); null when stopped. */
  private target: { url: string; size?: number; container: Container } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private stable: NodeJS.Timeout | null = null;
  /** Frames sent by connections before the current one. */
  private sentBefore = 0;
  readonly state: StreamState = { active: false, status: 'stopped', url: null, startedAt: null, frames: 0, attempts: 0 };

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
    return this.target !== null;
  }

  /** The ffmpeg child's pid while a connection is on (for diagnostics and tests). */
  get pid(): number | undefined {
    const encoder = this.video?.encoder;
    return encoder?.alive ? encoder.proc.pid : undefined;
  }

  async start(url: string, size?: number): Promise<void> {
    // while reconnecting, stream.start is the one command that tries again now (to this url)
    if (this.target && this.state.status === 'reconnecting') await this.stop();
    if (this.target) throw new CommandError(`already streaming to ${this.state.url} (send stream.stop first)`, 409);
    const valid = streamUrl().safeParse(url);
    if (!valid.success) throw new CommandError(describeIssues(valid.error.issues));
    const { protocol, container, output } = containerFor(url);
    try {
      await checkFfmpeg(protocol);
    } catch (err) {
      throw new CommandError(`cannot stream: ${(err as Error).message}`, 500);
    }
    Object.assign(this.state, { active: true, status: 'connecting', url: redactUrl(url), startedAt: new Date().toISOString(), frames: 0, attempts: 0 });
    delete this.state.error;
    this.target = { url: output, size, container };
    this.sentBefore = 0;
    this.timer = setInterval(() => (this.state.frames = this.sentBefore + (this.video?.frames ?? 0)), 500);
    this.timer.unref();
    // A refused connection shows up moments later in state.stream (not waited for here, so the
    // command queue never stalls mid-performance).
    this.connect();
    this.log.info({ url: this.state.url }, 'streaming');
  }

  /** Start ffmpeg towards the target; once it has stayed up STABLE_MS the stream is live. */
  private connect(): void {
    const t = this.target;
    if (!t) return;
    const video: LiveVideo = new LiveVideo(this.stage, { output: t.url, container: t.container, size: t.size ?? null, live: true, onError: (err) => this.dropped(video, err) });
    this.video = video;
    this.stable = setTimeout(() => {
      this.stable = null;
      if (this.video !== video) return;
      const was = this.state.status;
      Object.assign(this.state, { status: 'live', attempts: 0 });
      delete this.state.error;
      this.stage.faults.clear('stream');
      if (was === 'connecting' && this.sentBefore > 0) this.log.info({ url: this.state.url }, 'stream reconnected');
      this.stage.publish();
    }, STABLE_MS);
    this.stable.unref();
  }

  /** The connection failed (target gone, refused, ffmpeg killed): report it and try again with backoff. */
  private dropped(video: LiveVideo, err: Error): void {
    if (this.video !== video || !this.target) return;
    this.video = null;
    if (this.stable) clearTimeout(this.stable);
    this.sentBefore += video.frames;
    const attempts = this.state.attempts + 1;
    const wait = RECONNECT_BACKOFF_S[Math.min(attempts - 1, RECONNECT_BACKOFF_S.length - 1)];
    Object.assign(this.state, { status: 'reconnecting', attempts, frames: this.sentBefore, error: `stream failed: ${err.message}` });
    this.log.error({ err, url: this.state.url, attempts }, `stream to ${this.state.url} failed; reconnecting in ${wait} s (attempt ${attempts})`);
    this.stage.metrics.errors.inc({ surface: 'stream' });
    this.stage.faults.raise('stream', `the stream to ${this.state.url} is down (${err.message.split('\n')[0].slice(0, 200)}); reconnecting, attempt ${attempts} in ${wait} s`);
    this.stage.publish();
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.target) return;
      this.state.status = 'connecting';
      this.connect();
      this.stage.publish();
    }, wait * 1000);
    this.retry.unref();
  }

  async stop(strict = false, stallMs?: number): Promise<void> {
    if (!this.target) {
      if (strict) throw new CommandError('not streaming', 409);
      return;
    }
    this.target = null;
    for (const t of [this.timer, this.retry, this.stable]) if (t) clearTimeout(t);
    this.timer = this.retry = this.stable = null;
    const video = this.video;
    this.video = null;
    if (video) {
      await video.stop(stallMs);
      this.sentBefore += video.frames;
    }
    Object.assign(this.state, { active: false, status: 'stopped', frames: this.sentBefore });
    this.stage.faults.clear('stream');
  }

  close(): Promise<void> {
    return this.stop(false, 3000);
  }
}
