// The streaming target goes away and comes back, and ffmpeg is killed mid-stream, for real: the
// nginx-rtmp process and the stream's ffmpeg are killed by their PIDs. The stream reconnects with
// backoff and says so (state.stream: reconnecting, attempts; the `stream` fault), while the live
// picture and a recording running meanwhile go on untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nginxSkip, freePort, startNginxRtmp } from '../helpers/nginx.ts';
import { startTestServer, waitFor } from '../helpers/server.ts';
import { decodeVideo } from '../helpers/media.ts';
import { ffmpegPath } from '../../server/record/ffmpeg.ts';
import { readWalk } from '../../server/record/walk-file.ts';

const run = promisify(execFile);
/** Read `frames` video frames back from an RTMP URL with ffmpeg; returns how many it decoded. */
async function readBack(url: string, frames = 10): Promise<number> {
  const { stderr } = await run(ffmpegPath(), ['-hide_banner', '-nostdin', '-rw_timeout', '15000000', '-probesize', '32768', '-analyzeduration', '500000', '-i', url, '-frames:v', String(frames), '-f', 'null', '-'], { timeout: 30000 });
  return Number([...stderr.matchAll(/frame=\s*(\d+)/g)].at(-1)?.[1] ?? 0);
}

test('nginx-rtmp killed and restarted, then ffmpeg killed: the stream reconnects with backoff; picture and recording go on', { skip: nginxSkip, timeout: 120_000 }, async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-faultstream-'));
  const port = await freePort();
  const url = `rtmp://127.0.0.1:${port}/live/stage`;
  let nginx = await startNginxRtmp(path.join(tmp, 'nginx'), port);
  const s = await startTestServer({ fps: 30, recordings: path.join(tmp, 'rec') });
  const stream = () => s.stage.state().stream!;
  const fault = () => s.stage.faults.get('stream');
  try {
    assert.equal((await s.command({ type: 'record.start', name: 'show' })).status, 200);
    assert.equal((await s.command({ type: 'stream.start', url })).status, 200);
    await waitFor(() => stream().status === 'live', 15_000, 'the stream to be live');
    assert.equal(await readBack(url), 10);

    // the media server goes away
    process.kill(nginx.pid!, 'SIGKILL');
    await waitFor(() => stream().status === 'reconnecting', 15_000, 'reconnecting');
    assert.equal(stream().active, true);
    assert.match(stream().error!, /stream failed/);
    assert.match(fault()!.message, /the stream to rtmp:\/\/127\.0\.0\.1:\d+\/live\/\*\*\* is down .*reconnecting, attempt \d+ in \d+ s/);
    // attempts come with backoff (1, 2, 5 s...), not a tight loop
    await new Promise((r) => setTimeout(r, 4000));
    const attempts = stream().attempts;
    assert.ok(attempts >= 2 && attempts <= 4, `${attempts} attempts in about 4 s`);
    const health = await (await fetch(`${s.url}/health`)).json();
    assert.equal(health.ok, false);
    assert.ok(health.faults.some((f: { kind: string }) => f.kind === 'stream'));
    // the picture and the recording are unaffected
    const frame = s.stage.engine.frame;
    const video = s.stage.state().recording!.videoFrames;
    await waitFor(() => s.stage.engine.frame > frame + 30 && s.stage.state().recording!.videoFrames > video + 30, 10_000, 'frames and recording while reconnecting');
    assert.equal(s.stage.state().recording!.error, undefined);

    // it comes back: the next attempt connects, the fault clears, the attempts start over
    nginx = await startNginxRtmp(path.join(tmp, 'nginx'), port);
    await waitFor(() => stream().status === 'live', 60_000, 'the stream live again');
    assert.equal(stream().attempts, 0);
    assert.equal(fault(), undefined);
    assert.equal(await readBack(url), 10);

    // ffmpeg itself dies mid-stream: detected, reported, reconnected by itself
    const pid = s.streamer.pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => stream().status === 'reconnecting', 10_000, 'reconnecting after ffmpeg died');
    assert.match(stream().error!, /ffmpeg was killed \(SIGKILL\)/);
    await waitFor(() => stream().status === 'live', 30_000, 'live after ffmpeg died');
    assert.notEqual(s.streamer.pid, pid);
    assert.equal(await readBack(url), 10);

    // one command restarts it at once while it is reconnecting
    process.kill(nginx.pid!, 'SIGKILL');
    await waitFor(() => stream().status === 'reconnecting', 15_000, 'reconnecting again');
    nginx = await startNginxRtmp(path.join(tmp, 'nginx'), port);
    assert.equal((await s.command({ type: 'stream.start', url })).status, 200);
    assert.equal(stream().status, 'connecting');
    await waitFor(() => stream().status === 'live', 15_000, 'live after stream.start');

    // the recording made all along plays to the end
    const stop = await s.command({ type: 'record.stop' });
    assert.equal(stop.status, 200);
    const walk = await readWalk(stop.body.recording.walk);
    assert.ok(walk.end);
    const v = await decodeVideo(stop.body.recording.video);
    assert.ok(v.duration > 15, `${v.duration} s of video`);
    assert.equal((await s.command({ type: 'stream.stop' })).status, 200);
  } finally {
    await s.stop();
    if (nginx.exitCode === null && nginx.signalCode === null) process.kill(nginx.pid!, 'SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
});
