// Inspect videos with the real ffmpeg (no ffprobe needed): decode every frame to an MD5 per frame.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ffmpegPath } from '../../server/record/ffmpeg.ts';

const run = promisify(execFile);

export interface VideoInfo {
  width: number;
  height: number;
  frames: number;
  /** Seconds (sum of frame durations). */
  duration: number;
  /** MD5 of each decoded frame, in order. */
  hashes: string[];
  /** What ffmpeg complained about while decoding (a truncated file decodes with warnings). */
  stderr: string;
}

/** Decode a video fully; rejects when ffmpeg cannot read it at all. */
export async function decodeVideo(file: string): Promise<VideoInfo> {
  const { stdout, stderr } = await run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 'framemd5', '-'], { maxBuffer: 64 * 1024 * 1024 });
  const tb = /#tb 0: (\d+)\/(\d+)/.exec(stdout);
  const dims = /#dimensions 0: (\d+)x(\d+)/.exec(stdout);
  if (!tb || !dims) throw new Error(`ffmpeg found no video in ${file}: ${stderr}`);
  const lines = stdout.split('\n').filter((l) => /^0,/.test(l));
  let duration = 0;
  const hashes = lines.map((l) => {
    const parts = l.split(',').map((s) => s.trim());
    duration += Number(parts[3]);
    return parts[5];
  });
  return { width: Number(dims[1]), height: Number(dims[2]), frames: lines.length, duration: (duration * Number(tb[1])) / Number(tb[2]), hashes, stderr };
}

/** sha256 of every file in a folder, by name. */
export function hashFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = createHash('sha256').update(readFileSync(path.join(dir, f))).digest('hex');
  return out;
}
