// Streaming to a real media server on loopback: nginx with the RTMP module when installed (Debian:
// nginx + libnginx-mod-rtmp), and always to an ffmpeg RTMP listener.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import { NGINX, RTMP_MODULE, nginxSkip, freePort } from '../helpers/nginx.ts';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { ffmpegPath } from '../../server/record/ffmpeg.ts';

const run = promisify(execFile);
/** Read `frames` video frames back from an RTMP URL with ffmpeg; returns how many it decoded. */
async function readBack(url: string, frames = 10): Promise<number> {
  const { stderr } = await run(ffmpegPath(), ['-hide_banner', '-nostdin', '-rw_timeout', '15000000', '-probesize', '32768', '-analyzeduration', '500000', '-i', url, '-frames:v', String(frames), '-f', 'null', '-'], { timeout: 30000 });
  return Number([...stderr.matchAll(/frame=\s*(\d+)/g)].at(-1)?.[1] ?? 0);
}


describe('streaming', () => {
  let s: TestServer;
  let tmp: string;
  const children: ChildProcess[] = [];
  const stream = () => s.stage.state().stream!;

  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-stream-'));
    s = await startTestServer({ fps: 30, recordings: path.join(tmp, 'recordings') });
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await s?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('to nginx-rtmp on loopback, read back with ffmpeg', { skip: nginxSkip, timeout: 60000 }, async () => {
    const port = await freePort();
    const dir = path.join(tmp, 'nginx');
    rmSync(dir, { recursive: true, force: true });
    const conf = path.join(tmp, 'nginx.conf');
    writeFileSync(
      conf,
      `load_module ${RTMP_MODULE};\ndaemon off;\nmaster_process off;\npid ${tmp}/nginx.pid;\nerror_log ${tmp}/nginx-error.log warn;\n` +
        `events { worker_connections 64; }\nrtmp { server { listen 127.0.0.1:${port}; application live { live on; record off; } } }\n`,
    );
    const nginx = spawn(NGINX!, ['-c', conf, '-p', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(nginx);
    let err = '';
    nginx.stderr!.on('data', (d) => (err += d));
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          if (nginx.exitCode !== null) return resolve(true);
          const sock = createServer().listen(port, '127.0.0.1');
          sock.once('error', () => resolve(true)); // taken: nginx is listening
          sock.once('listening', () => sock.close(() => resolve(false)));
        }),
      10000,
      'nginx listening',
    );
    assert.equal(nginx.exitCode, null, `nginx exited: ${err}`);

    const url = `rtmp://127.0.0.1:${port}/live/test`;
    const r = await s.command({ type: 'stream.start', url });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.stream.active, true);
    assert.equal(r.body.stream.url, `rtmp://127.0.0.1:${port}/live/***`, 'the stream key is masked');
    assert.equal(await readBack(url), 10);
    assert.equal(stream().error, undefined);
    const stop = await s.command({ type: 'stream.stop' });
    assert.equal(stop.body.stream.active, false);
    assert.ok(stop.body.stream.frames > 10);
    nginx.kill('SIGTERM');
  });

  test('to an ffmpeg RTMP listener', { timeout: 60000 }, async () => {
    const port = await freePort();
    const url = `rtmp://127.0.0.1:${port}/live/test`;
    const listener = run(ffmpegPath(), ['-hide_banner', '-nostdin', '-listen', '1', '-probesize', '32768', '-analyzeduration', '500000', '-i', url, '-frames:v', '10', '-f', 'null', '-'], { timeout: 30000 });
    await new Promise((r) => setTimeout(r, 700)); // let it bind
    const r = await s.command({ type: 'stream.start', url });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const { stderr } = await listener;
    assert.match(stderr.slice(stderr.lastIndexOf('frame=')), /frame=\s*10\b/);
    // The listener hung up after 10 frames: the stream says so and tries again; the stage goes on.
    await waitFor(() => Boolean(stream().error), 15000, 'stream error after the peer left');
    assert.equal(stream().active, true);
    assert.equal(stream().status, 'reconnecting');
    assert.ok(stream().attempts >= 1);
    assert.equal((await s.command({ type: 'stream.stop' })).status, 200);
    assert.equal(stream().status, 'stopped');
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
  });

  test('bad targets give clear errors', async () => {
    let r = await s.command({ type: 'stream.start', url: 'http://example.com/x' });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /url must be rtmp:\/\//);
    r = await s.command({ type: 'stream.stop' });
    assert.match(r.body.error, /not streaming/);
    // Nothing listens here: ffmpeg fails to connect and the error reaches the state.
    const port = await freePort();
    r = await s.command({ type: 'stream.start', url: `rtmp://127.0.0.1:${port}/live/x` });
    assert.equal(r.status, 200);
    await waitFor(() => Boolean(stream().error), 15000, 'connection error');
    assert.match(stream().error!, /stream failed: ffmpeg exited/);
    assert.equal(stream().status, 'reconnecting');
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /latentstage_errors_total\{surface="stream"\} [1-9]/);
    assert.equal((await s.command({ type: 'stream.stop' })).status, 200);
  });
});
