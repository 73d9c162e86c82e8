// A recording cut off mid-write (full disk, killed ffmpeg) must open: the real encoder writes a
// fragmented MP4, the file is cut inside each of its boxes, trimmed, and decoded by ffmpeg.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Encoder } from '../../server/record/ffmpeg.ts';
import { trimToWholeFragments } from '../../server/record/mp4-trim.ts';
import { decodeVideo } from '../helpers/media.ts';

let tmp: string;
let whole: Buffer;
/** Top-level boxes of the whole file: [type, start, end]. */
let boxes: [string, number, number][] = [];
const FPS = 10;
const SECONDS = 4;

before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-mp4trim-'));
  const file = path.join(tmp, 'whole.mp4');
  const enc = new Encoder({ output: file, container: 'mp4', width: 64, height: 64, fps: FPS });
  for (let i = 0; i < FPS * SECONDS; i++) enc.write(Buffer.alloc(64 * 64 * 3, (i * 37) % 256));
  await enc.end();
  whole = readFileSync(file);
  for (let pos = 0; pos < whole.length; ) {
    const len = whole.readUInt32BE(pos);
    boxes.push([whole.toString('latin1', pos + 4, pos + 8), pos, pos + len]);
    pos += len;
  }
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('the encoder writes one moof + mdat per second after ftyp and an empty moov', () => {
  const types = boxes.map((b) => b[0]);
  assert.deepEqual(types.slice(0, 2), ['ftyp', 'moov']);
  assert.equal(types.filter((t) => t === 'moof').length, SECONDS);
  assert.equal(types.filter((t) => t === 'mdat').length, SECONDS);
});

test('a whole file is left as it is', async () => {
  const file = path.join(tmp, 'copy.mp4');
  writeFileSync(file, whole);
  assert.deepEqual(await trimToWholeFragments(file), { before: whole.length, after: whole.length });
  assert.equal((await decodeVideo(file)).frames, FPS * SECONDS);
});

test('cut inside any fragment box: the torn fragment goes, every whole fragment before it plays', async () => {
  const fragments = boxes.filter((b) => b[0] === 'moof');
  let refusedUntrimmed = 0;
  for (const [k, moof] of fragments.entries()) {
    const mdat = boxes.find((b) => b[1] === moof[2])!;
    for (const cut of [moof[1] + 4, moof[1] + 100, mdat[1] + 3, mdat[1] + 200, mdat[2] - 1]) {
      const file = path.join(tmp, `cut-${cut}.mp4`);
      writeFileSync(file, whole.subarray(0, cut));
      if (k > 0 && cut < mdat[1] && (await decodeVideo(file).then(() => false, () => true))) refusedUntrimmed++;
      const r = await trimToWholeFragments(file);
      assert.equal(r.before, cut);
      assert.equal(r.after, moof[1], `cut at ${cut} (fragment ${k}) trims back to the fragment's start`);
      assert.equal(statSync(file).size, moof[1]);
      if (k === 0) continue; // no fragment left: nothing to play
      const v = await decodeVideo(file);
      assert.equal(v.frames, k * FPS, `cut at ${cut}: ${k} whole seconds play`);
    }
  }
  // what the trimming is for: ffmpeg refuses a file torn inside a moof
  assert.ok(refusedUntrimmed > 0, 'ffmpeg refuses at least one file torn inside a later moof');
});

test('a torn trailer (mfra) is dropped, all fragments stay', async () => {
  const mfra = boxes.find((b) => b[0] === 'mfra');
  assert.ok(mfra, 'ffmpeg ends a fragmented MP4 with an mfra box');
  const file = path.join(tmp, 'mfra.mp4');
  writeFileSync(file, whole.subarray(0, mfra[1] + 10));
  assert.equal((await trimToWholeFragments(file)).after, mfra[1]);
  assert.equal((await decodeVideo(file)).frames, FPS * SECONDS);
});

test('a file that is not an MP4 is left alone', async () => {
  const file = path.join(tmp, 'notes.txt');
  writeFileSync(file, 'not a video at all, just words');
  assert.deepEqual(await trimToWholeFragments(file), { before: 30, after: 30 });
});
