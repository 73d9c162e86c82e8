// Faults while recording, made for real: the disk fills up (a small tmpfs holds the recordings,
// filled to the last byte while recording)
// and ffmpeg is killed mid-recording. The picture goes on, the state, the log, /health and OSC say
// what happened, what was written plays, nothing restarts ffmpeg in a loop, and one record.start
// starts recording again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readdirSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { tmpfsSkip, mountTmpfs } from '../helpers/mounts.ts';
import { rawClient } from '../helpers/osc.ts';
import { decodeVideo } from '../helpers/media.ts';
import { readWalk } from '../../server/record/walk-file.ts';
import { capturedLogger } from '../helpers/log.ts';

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-faultrec-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));


const faultOf = async (s: TestServer, kind: string) => ((await (await fetch(`${s.url}/health`)).json()).faults as { kind: string; message: string }[]).find((f) => f.kind === kind);
/** ffmpeg processes this test process started (children of this pid). */
const ffmpegChildren = () => {
  try {
    return execFileSync('ps', ['-o', 'comm=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n').filter((c) => /ffmpeg/.test(c)).length;
  } catch {
    return 0; // ps exits 1 when there are none
  }
};

test('the disk fills while recording: the recording stops cleanly and says so, what was written plays, the picture goes on', { skip: tmpfsSkip, timeout: 90_000 }, async () => {
  const rec = path.join(tmp, 'full');
  const unmount = mountTmpfs(rec, '4m');
  const { logger, lines } = capturedLogger();
  const s = await startTestServer({ fps: 30, recordings: rec, logger, osc: { port: 0 } });
  const osc = await rawClient(s.osc!.port);
  try {
    await osc.message('/ls/subscribe', { type: 'i', value: osc.port });
    const r = await s.command({ type: 'record.start', name: 'full' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // once the video has a few fragments on disk, fill the rest of the disk (another process
    // could, or the recording itself: either way the next write fails)
    let before = 0;
    await waitFor(async () => (before = await decodeVideo(path.join(rec, 'full.mp4')).then((v) => v.frames, () => 0)) >= 60, 60_000, 'two seconds of video on disk');
    const filler = openSync(path.join(rec, 'filler'), 'w');
    try {
      for (;;) writeSync(filler, Buffer.alloc(64 * 1024, 1));
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      closeSync(filler);
    }
    await waitFor(() => !s.stage.state().recording!.active, 60_000, 'the recording to stop on a full disk');
    const state = s.stage.state();
    assert.match(state.recording!.error!, /No space left on device|ENOSPC/);
    const f = await faultOf(s, 'recording');
    assert.ok(f, 'the recording fault is listed');
    assert.match(f.message, /the disk is full: recording "full" stopped \(what was written plays\); free space, then record\.start/);
    assert.ok(lines.some((l) => l.level >= 50 && /recording full stopped: the disk is full/.test(l.msg)), 'an error in the log');
    await waitFor(() => osc.inbox.some((m) => m.address === '/ls/state/faults' && /disk is full/.test(String(m.args[0]))), 5000, 'the fault over OSC');
    assert.ok(osc.inbox.some((m) => m.address === '/ls/state/recording' && m.args[0] === 0));
    // the picture goes on
    const frame = s.stage.engine.frame;
    await waitFor(() => s.stage.engine.frame > frame + 15, 10_000, 'frames after the disk filled');
    // no ffmpeg left behind or restarted
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(s.recorder.videoPid, undefined);
    assert.equal(ffmpegChildren(), 0, 'no ffmpeg runs after the recording stopped');
    // what was written plays and reads back
    const v = await decodeVideo(path.join(rec, 'full.mp4'));
    assert.ok(v.frames >= before, `${v.frames} video frames decode (${before} before the disk filled)`);
    const walk = await readWalk(path.join(rec, 'full.walk.jsonl'));
    assert.ok(walk.frames.length > 10, `${walk.frames.length} walk frames read back`);
    // still full: a new recording is refused with the reason, and the fault stays
    const again = await s.command({ type: 'record.start', name: 'again' });
    assert.equal(again.status, 500);
    assert.match(again.body.error, /ENOSPC|no space/i);
    assert.ok(await faultOf(s, 'recording'));
    // space freed: one command records again and the fault clears
    for (const file of readdirSync(rec)) rmSync(path.join(rec, file));
    const ok = await s.command({ type: 'record.start', name: 'after' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(await faultOf(s, 'recording'), undefined);
    await s.command({ type: 'record.stop' });
  } finally {
    await osc.close();
    await s.stop();
    unmount();
  }
});

test('ffmpeg killed mid-recording: detected and reported, the MP4 so far plays, one record.start records again', { timeout: 60_000 }, async () => {
  const rec = path.join(tmp, 'killed');
  const s = await startTestServer({ fps: 30, recordings: rec });
  try {
    assert.equal((await s.command({ type: 'record.start', name: 'first' })).status, 200);
    await waitFor(() => s.stage.state().recording!.videoFrames > 90, 15_000, 'three seconds of video');
    const pid = s.recorder.videoPid!;
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !!(await faultOf(s, 'recording')), 10_000, 'the recording fault');
    const f = (await faultOf(s, 'recording'))!;
    assert.match(f.message, /the video of "first" stopped \(ffmpeg was killed \(SIGKILL\)\); the walk file keeps recording\. Send record\.start/);
    const st = s.stage.state().recording!;
    assert.equal(st.active, true);
    assert.equal(s.recorder.videoPid, undefined, 'ffmpeg is not restarted behind the performer');
    // one command: the first recording is finalised and a new one starts
    const r = await s.command({ type: 'record.start', name: 'second' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.recording.name, 'second');
    assert.equal(await faultOf(s, 'recording'), undefined);
    assert.notEqual(s.recorder.videoPid, undefined);
    assert.notEqual(s.recorder.videoPid, pid);
    const first = await readWalk(path.join(rec, 'first.walk.jsonl'));
    assert.ok(first.end, 'the first walk was finalised');
    const v = await decodeVideo(path.join(rec, 'first.mp4'));
    assert.ok(v.frames >= 30, `${v.frames} frames of the killed video play`);
    await waitFor(() => s.stage.state().recording!.videoFrames > 30, 10_000, 'the new video');
    const stop = await s.command({ type: 'record.stop' });
    assert.equal(stop.status, 200);
    assert.ok((await decodeVideo(path.join(rec, 'second.mp4'))).frames >= 30);
  } finally {
    await s.stop();
  }
});
