// Walk files: recordings/<name>.walk.jsonl. One JSON header line, then one line per frame with the
// exact latent (float32 bytes, base64, little-endian) so a walk re-renders the same frames even
// after the engine changes. Written append-only and flushed every second; the reader tolerates a
// torn last line (a crash mid-write) and reports everything else with its line number.
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { describeIssues } from '../zod-issues.ts';

export const WALK_FORMAT = 'latentstage-walk/1';

const finite = z.number().refine(Number.isFinite, 'must be finite');
const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

export const walkHeaderSchema = z.object({
  type: z.literal('walk'),
  format: z.literal(WALK_FORMAT, { error: `format must be "${WALK_FORMAT}"` }),
  model: z.object({
    id: z.string().min(1),
    /** sha256 of the generator file. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 hex digits'),
    /** sha256 of the refiner file, for models with one (the refined picture is part of the walk). */
    refinerSha256: z.string().regex(/^[0-9a-f]{64}$/, 'refinerSha256 must be 64 hex digits').optional(),
    zDim: z.number().int().positive(),
    conditionDim: z.number().int().min(0),
  }),
  resolution: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  fps: z.number().min(0),
  seed: z.number().int().min(0),
  params: z.record(z.string(), z.unknown()),
  prompt: z.string().optional(),
  keys: z.array(z.unknown()).optional(),
  /** Wall-clock start, ISO 8601 and epoch ms. */
  startedAt: z.string(),
  startedAtMs: z.number(),
});
export type WalkHeader = z.infer<typeof walkHeaderSchema>;

const frameLineSchema = z.object({
  /** Engine frame index. */
  i: z.number().int(),
  /** Engine time (s). */
  t: finite,
  dt: finite.refine((v) => v >= 0, 'dt must be >= 0'),
  /** Frame slots this step covered (1 = none skipped). */
  n: z.number().int().min(1),
  /** Wall-clock ms since the recording started. */
  w: finite,
  z: b64,
  c: b64.optional(),
  prompt: z.string().optional(),
  params: z.record(z.string(), z.unknown()).optional(),
});

const endLineSchema = z.object({ type: z.literal('end'), frames: z.number().int().min(0), wallMs: finite, endedAt: z.string() });

export interface WalkFrame {
  index: number;
  time: number;
  dt: number;
  frames: number;
  /** Wall-clock ms since the recording started. */
  wall: number;
  z: Float32Array;
  condition: Float32Array | null;
  prompt?: string;
  params?: Record<string, unknown>;
}

export interface Walk {
  header: WalkHeader;
  frames: WalkFrame[];
  /** The end marker, when the recording was stopped cleanly. */
  end: z.infer<typeof endLineSchema> | null;
  /** Set when the last line was incomplete (a crash mid-write) and was ignored. */
  torn: string | null;
}

export class WalkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WalkError';
  }
}

export function encodeFloats(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function decodeFloats(s: string, expected: number, what: string): Float32Array {
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length !== expected * 4) throw new WalkError(`${what} has ${bytes.length / 4} values, expected ${expected}`);
  const out = new Float32Array(expected);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function frameLine(f: WalkFrame): string {
  const line: Record<string, unknown> = { i: f.index, t: f.time, dt: f.dt, n: f.frames, w: Math.round(f.wall * 1000) / 1000, z: encodeFloats(f.z) };
  if (f.condition) line.c = encodeFloats(f.condition);
  if (f.prompt !== undefined) line.prompt = f.prompt;
  if (f.params !== undefined) line.params = f.params;
  return JSON.stringify(line);
}

function issues(e: z.ZodError): string {
  return describeIssues(e.issues, '(root)');
}

/** Parse a walk file's text. Throws a WalkError naming the file and line for anything but a torn tail. */
export function parseWalk(text: string, file = 'walk'): Walk {
  const lines = text.split('\n');
  // A file that does not end in a newline was cut off mid-line (or ends without one).
  const tail = lines.pop() ?? '';
  if (lines.length === 0) {
    throw new WalkError(text.length === 0 ? `${file} is empty` : `${file}: the header line is incomplete (torn file?)`);
  }
  let header: WalkHeader;
  {
    let json: unknown;
    try {
      json = JSON.parse(lines[0]);
    } catch {
      throw new WalkError(`${file}:1: the header is not valid JSON (not a walk file, or a torn header)`);
    }
    const r = walkHeaderSchema.safeParse(json);
    if (!r.success) throw new WalkError(`${file}:1: not a ${WALK_FORMAT} header: ${issues(r.error)}`);
    header = r.data;
  }
  const { zDim, conditionDim } = header.model;
  const frames: WalkFrame[] = [];
  let end: Walk['end'] = null;
  let torn: string | null = null;
  const body = lines.slice(1).map((l, k) => ({ text: l, no: k + 2, last: false }));
  if (tail.length) body.push({ text: tail, no: lines.length + 1, last: true });
  for (const { text: l, no, last } of body) {
    if (!l.trim()) continue;
    let json: unknown;
    try {
      json = JSON.parse(l);
    } catch {
      if (last) {
        torn = `line ${no} is incomplete (${l.length} bytes, recording interrupted?) and was ignored`;
        break;
      }
      throw new WalkError(`${file}:${no}: not valid JSON`);
    }
    if (end) throw new WalkError(`${file}:${no}: data after the end marker`);
    if (typeof json === 'object' && json !== null && (json as { type?: unknown }).type === 'end') {
      const r = endLineSchema.safeParse(json);
      if (!r.success) throw new WalkError(`${file}:${no}: bad end marker: ${issues(r.error)}`);
      end = r.data;
      continue;
    }
    const r = frameLineSchema.safeParse(json);
    if (!r.success) throw new WalkError(`${file}:${no}: bad frame line: ${issues(r.error)}`);
    const f = r.data;
    const prev = frames[frames.length - 1];
    if (prev && !(f.t >= prev.time)) throw new WalkError(`${file}:${no}: engine time goes backwards (${f.t} after ${prev.time})`);
    let zv: Float32Array;
    let cv: Float32Array | null = null;
    try {
      zv = decodeFloats(f.z, zDim, 'z');
      if (conditionDim > 0) {
        if (f.c === undefined) throw new WalkError('condition is missing');
        cv = decodeFloats(f.c, conditionDim, 'condition');
      }
    } catch (err) {
      throw new WalkError(`${file}:${no}: ${(err as Error).message}`);
    }
    frames.push({ index: f.i, time: f.t, dt: f.dt, frames: f.n, wall: f.w, z: zv, condition: cv, prompt: f.prompt, params: f.params });
  }
  return { header, frames, end, torn };
}

export async function readWalk(file: string): Promise<Walk> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new WalkError(`cannot read walk ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseWalk(text, file);
}

/**
 * Append-only walk writer. Lines are buffered and written + fdatasync'ed every `flushMs` (1 s), so
 * a crash loses at most that much and never corrupts what is already on disk.
 */
export class WalkWriter {
  private pending: string[] = [];
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout;
  private closed = false;
  /** The first write/sync error, if any (the writer stops writing after one). */
  error: Error | null = null;
  frames = 0;

  private constructor(
    readonly file: string,
    private fh: FileHandle,
    flushMs: number,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  /** Create a new walk file (fails if it exists) and write its header synchronously to disk. */
  static async create(file: string, header: WalkHeader, flushMs = 1000): Promise<WalkWriter> {
    const valid = walkHeaderSchema.parse(header);
    const fh = await open(file, 'wx');
    try {
      await fh.write(JSON.stringify(valid) + '\n');
      await fh.datasync();
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
    return new WalkWriter(file, fh, flushMs);
  }

  append(f: WalkFrame): void {
    if (this.closed || this.error) return; // after a failed write (a full disk) nothing more is kept

    this.pending.push(frameLine(f) + '\n');
    this.frames++;
  }

  /** Write what is buffered and fdatasync. Resolves when durable (or when the writer failed). */
  flush(): Promise<void> {
    if (!this.pending.length || this.error) return this.writing;
    const chunk = this.pending.join('');
    this.pending = [];
    this.writing = this.writing.then(async () => {
      if (this.error) return;
      try {
        await this.fh.write(chunk);
        await this.fh.datasync();
      } catch (err) {
        this.error = err as Error;
      }
    });
    return this.writing;
  }

  /** Write the end marker, flush and close. */
  async close(wallMs: number): Promise<void> {
    if (this.closed) return this.writing;
    this.closed = true;
    clearInterval(this.timer);
    this.pending.push(JSON.stringify({ type: 'end', frames: this.frames, wallMs: Math.round(wallMs * 1000) / 1000, endedAt: new Date().toISOString() }) + '\n');
    await this.flush();
    await this.fh.close().catch(() => {});
  }
}
