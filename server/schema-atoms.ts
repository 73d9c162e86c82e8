// The rules every surface shares, written once: names, URLs, ranges. Commands, presets, schedules,
// CLI flags and OSC build their schemas from these atoms, so a rule (and its message) cannot
// drift between surfaces. `label` is how the field is named in messages ("url", "--stream").
import { z } from 'zod';

/** Preset and recording names: safe as file names on every system. */
export const NAME = /^[a-z0-9_-]{1,64}$/;
export const NAME_RULE = '1-64 characters of a-z, 0-9, _ or -';
export const name = (label = 'name') =>
  z.string({ error: `${label} must be a string` }).regex(NAME, `${label} must be ${NAME_RULE}`);

/** Walk seeds: unsigned 32-bit integers. */
export const SEED_MAX = 0xffffffff;
export const seed = z
  .number({ error: 'seed must be a number' })
  .int('seed must be an integer')
  .min(0, 'seed must be >= 0')
  .max(SEED_MAX, 'seed must be < 2^32');

/** Longest fade in seconds: the `fade` parameter, a prompt's fade and a schedule step's fade. */
export const FADE_MAX = 600;
export const fade = z.number({ error: 'fade must be a number' }).min(0, 'fade must be >= 0').max(FADE_MAX, `fade must be <= ${FADE_MAX}`);

/** Prompt text, as typed. */
export const PROMPT_MAX = 1000;
export const promptText = (label = 'text') => z.string({ error: `${label} must be a string` }).max(PROMPT_MAX, `${label} must be at most ${PROMPT_MAX} characters`);

export const strength = z.number({ error: 'strength must be a number' }).min(0, 'strength must be >= 0').max(1, 'strength must be <= 1');

/** Tempo for schedules in beats. */
export const bpm = z.number({ error: 'bpm must be a number' }).min(20, 'bpm must be >= 20').max(400, 'bpm must be <= 400');

/**
 * Where live video may be streamed: rtmp(s) as FLV; srt, udp, tcp as MPEG-TS; webrtc://host:port as
 * RTP/H.264 to a WebRTC media server's RTP input (a Janus Streaming mountpoint's port).
 */
export const STREAM_URL = /^(rtmps?|srt|udp|tcp|webrtc):\/\/\S+$/;
export const streamUrl = (label = 'url') =>
  z
    .string({ error: `${label} must be a string` })
    .max(2000, `${label} must be at most 2000 characters`)
    .regex(STREAM_URL, `${label} must be rtmp://, rtmps://, srt://, udp://, tcp:// or webrtc://`)
    .refine(webrtcTarget, `${label}: webrtc:// takes a host and the mountpoint's RTP port only (webrtc://127.0.0.1:5004)`)
    .refine(sendsOnly, `${label} must name a host to send to (no listen or listener mode: the server never opens a port for a stream)`);

/** webrtc://host:port, nothing more: the RTP input of a WebRTC media server. */
function webrtcTarget(url: string): boolean {
  if (!url.startsWith('webrtc:')) return true;
  try {
    const u = new URL(url);
    return !!u.hostname && !!u.port && (u.pathname === '' || u.pathname === '/') && !u.search && !u.username && !u.password;
  } catch {
    return false;
  }
}

/** A stream URL sends to a named host; options that would make ffmpeg listen on a port are refused. */
function sendsOnly(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (!u.hostname) return false;
  for (const [key, value] of u.searchParams) {
    const k = key.toLowerCase();
    if (k === 'listen' || (k === 'mode' && value.toLowerCase() !== 'caller')) return false;
  }
  return true;
}

/** Width of a recorded or streamed video (even, for H.264 4:2:0). */
export const videoSize = z
  .number({ error: 'size must be a number' })
  .int('size must be an integer')
  .min(16, 'size must be >= 16')
  .max(4096, 'size must be <= 4096')
  .refine((n) => n % 2 === 0, 'size must be even');

/** Prefix of the built-in OSC addresses, e.g. /ls or /stage/visuals. */
export const oscPrefix = (label = 'the OSC prefix') => z.string().regex(/^(\/[A-Za-z0-9_.-]+)+$/, `${label} must look like /ls`);

/** A concrete OSC address (no pattern characters), as a mapping file names one. */
export const OSC_ADDRESS = /^\/[^\s#*,?[\]{}]{0,255}$/;

/** HOST:PORT or [IPv6]:PORT (an OSC feedback target), or null when it is not one. */
export function parseHostPort(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]\s]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2]!, port };
}
