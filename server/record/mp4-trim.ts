// Cut a fragmented MP4 back to its last whole fragment. A recording cut off mid-write (the disk filled,
// ffmpeg was killed) can end inside a fragment's `moof` box, and then ffmpeg and most players refuse
// the whole file ("error reading header"), not just the last second. Trimming the torn fragment
// (at most one keyframe interval) leaves a file every player reads. Reads only box headers.
import { open } from 'node:fs/promises';

export interface TrimResult {
  /** Size before and after, in bytes (equal when the file was whole). */
  before: number;
  after: number;
}

/**
 * Truncate `file` after its last complete top-level box, never leaving a `moof` without its `mdat`.
 * A file that does not start with `ftyp` is left alone.
 */
export async function trimToWholeFragments(file: string): Promise<TrimResult> {
  const fh = await open(file, 'r+');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(16);
    let pos = 0;
    /** End of the last box that closes a whole unit (any box but a moof waiting for its mdat). */
    let whole = 0;
    while (pos + 8 <= size) {
      const { bytesRead } = await fh.read(head, 0, 16, pos);
      let len = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (len === 1) {
        if (bytesRead < 16) break;
        len = Number(head.readBigUInt64BE(8));
      } else if (len === 0) {
        len = size - pos; // runs to the end of the file
      }
      if (pos === 0 && type !== 'ftyp') return { before: size, after: size }; // not an MP4: leave it
      if (len < 8 || pos + len > size) break; // torn: stop before it
      pos += len;
      if (type !== 'moof') whole = pos;
    }
    if (whole < size) await fh.truncate(whole);
    return { before: size, after: whole };
  } finally {
    await fh.close();
  }
}
