// SIGTERM and Ctrl-C (SIGINT) to a real server process while it records, streams and has viewers:
// it exits 0 within 5 s, the walk file ends with its end marker, the MP4 plays to the end, the
// stream's peer sees the stream end, viewers' sockets are closed, and no ffmpeg is left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { waitFor } from '../helpers/server.ts';
import { freePort } from '../helpers/nginx.ts';
import { decodeVideo } from '../helpers/media.ts';
import { readWalk } from '../../server/record/walk-file.ts';
import { ffmpegPath } from '../../server/record/ffmpeg.ts';
import { ROOT } from '../../server/server.ts';
import { alive, childrenOf } from '../helpers/procs.ts';

const run = promisify(execFile);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} while recording and streaming: recordings finalised, sockets closed, exit within 5 s`, { timeout: 90_000 }, async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-shutdown-'));
    const rec = path.join(tmp, 'recordings');
    const port = await freePort();
    const streamUrl = `rtmp://127.0.0.1:${port}/live/stage`;
    // a real RTMP peer that reads until the stream ends
    const peer = run(ffmpegPath(), ['-hide_banner', '-nostdin', '-listen', '1', '-i', streamUrl, '-f', 'null', '-'], { timeout: 60_000 }).then(
      (r) => ({ ok: true, stderr: r.stderr }),
      (e: { stderr?: string; message: string }) => ({ ok: false, stderr: e.stderr ?? e.message }),
    );
    await new Promise((r) => setTimeout(r, 700)); // let it bind
    let child: ChildProcess | null = null;
    try {
      const model = writeFixtureModel(path.join(tmp, 'model'));
      child = spawn(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'serve', '--model', model, '--port', '0', '--fps', '30', '--recordings', rec, '--presets', path.join(tmp, 'presets'), '--stream', streamUrl], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LOG_LEVEL: 'info' },
      });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      await waitFor(() => /control page\s+http:\/\/\S+\//.test(out) || child!.exitCode !== null, 30_000, 'server URL');
      const url = /control page\s+(http:\/\/[^\s/]+)\//.exec(out)?.[1];
      assert.ok(url, `server did not start: ${out}`);
      const res = await fetch(`${url}/api/command`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'record.start', name: 'set' }) });
      assert.equal(res.status, 200, await res.text());
      const viewer = new WebSocket(`${url.replace('http', 'ws')}/frames?format=jpeg`);
      let frames = 0;
      viewer.on('message', (_d, binary) => binary && frames++);
      const closed = new Promise<number>((r) => viewer.on('close', (code) => r(code)));
      await waitFor(async () => {
        const st = await (await fetch(`${url}/api/state`)).json();
        return st.stream.status === 'live' && st.recording.videoFrames > 90;
      }, 30_000, 'live stream and three seconds of recording');
      assert.ok(frames > 10);
      const encoders = childrenOf(child.pid!);
      assert.equal(encoders.length, 2, `the recording's and the stream's ffmpeg run (${encoders})`);

      const t0 = performance.now();
      child.kill(signal);
      const code = await new Promise<number | null>((r) => (child!.exitCode !== null ? r(child!.exitCode) : child!.once('exit', (c) => r(c))));
      const seconds = (performance.now() - t0) / 1000;
      assert.equal(code, 0, out);
      assert.ok(seconds < 5, `exited after ${seconds.toFixed(2)} s`);
      assert.ok(new RegExp(`${signal}: shutting down`).test(out));
      // sockets closed: the viewer was told the server is going away
      assert.equal(await closed, 1001);
      // no ffmpeg left behind
      for (const pid of encoders) assert.equal(alive(pid), false, `ffmpeg ${pid} exited`);
      // the recording was finalised: the walk's end marker, a video that plays to the end
      const walk = await readWalk(path.join(rec, 'set.walk.jsonl'));
      assert.ok(walk.end, 'the walk file has its end marker');
      assert.equal(walk.torn, null);
      const v = await decodeVideo(path.join(rec, 'set.mp4'));
      assert.equal(v.stderr.trim(), '', 'the video decodes without complaint');
      assert.ok(Math.abs(v.duration - walk.end.wallMs / 1000) < 1.5, `video ${v.duration} s, walk ${walk.end.wallMs / 1000} s`);
      // the stream's peer saw the stream end (not cut off) and got frames
      const p = await peer;
      assert.match(p.stderr, /frame=\s*[1-9]/);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
