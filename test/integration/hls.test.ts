// The "beyond one machine" recipe, end to end: the server streams RTMP into nginx-rtmp running the
// shipped server/record/nginx-hls.conf (ports and folders moved to this test's), and HLS playlists
// and segments appear over HTTP and decode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import { NGINX, nginxSkip, freePort } from '../helpers/nginx.ts';
import { startTestServer, waitFor } from '../helpers/server.ts';
import { decodeVideo } from '../helpers/media.ts';
import { ffmpegPath } from '../../server/record/ffmpeg.ts';
import { ROOT } from '../../server/server.ts';

const run = promisify(execFile);
/** The shipped recipe with this test's ports and folders, run in the foreground. */
function recipe(tmp: string, rtmpPort: number, httpPort: number): string {
  const hls = path.join(tmp, 'hls');
  mkdirSync(hls, { recursive: true });
  const shipped = readFileSync(path.join(ROOT, 'server/record/nginx-hls.conf'), 'utf8');
  const conf = shipped
    .replace('listen 1935;', `listen 127.0.0.1:${rtmpPort};`)
    .replace('listen 8088;', `listen 127.0.0.1:${httpPort};`)
    .replaceAll('/var/lib/latentstage-hls', hls)
    .replace(
      'http {',
      `http {\n  access_log off;\n` + ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${tmp}/${t};\n`).join(''),
    );
  assert.notEqual(conf, shipped);
  const file = path.join(tmp, 'nginx.conf');
  writeFileSync(file, `daemon off;\nmaster_process off;\npid ${tmp}/nginx.pid;\nerror_log ${tmp}/nginx-error.log warn;\n${conf}`);
  return file;
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const sock = createServer().listen(port, '127.0.0.1');
    sock.once('error', () => resolve(true)); // taken: nginx is listening
    sock.once('listening', () => sock.close(() => resolve(false)));
  });

test(
  'RTMP into nginx-rtmp comes out as HLS: a playlist and segments that decode',
  { skip: nginxSkip, timeout: 120000 },
  async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-hls-'));
    const [rtmpPort, httpPort] = [await freePort(), await freePort()];
    const nginx = spawn(NGINX!, ['-c', recipe(tmp, rtmpPort, httpPort), '-p', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    nginx.stderr!.on('data', (d) => (err += d));
    const s = await startTestServer({ fps: 30 });
    try {
      await waitFor(async () => nginx.exitCode !== null || ((await listening(rtmpPort)) && (await listening(httpPort))), 10000, 'nginx listening');
      assert.equal(nginx.exitCode, null, `nginx exited: ${err}`);
      const r = await s.command({ type: 'stream.start', url: `rtmp://127.0.0.1:${rtmpPort}/live/stage`, size: 128 });
      assert.equal(r.status, 200, JSON.stringify(r.body));

      const base = `http://127.0.0.1:${httpPort}/hls`;
      let playlist = '';
      await waitFor(
        async () => {
          const res = await fetch(`${base}/stage.m3u8`).catch(() => null);
          playlist = res?.ok ? await res.text() : '';
          return (playlist.match(/\.ts$/gm) ?? []).length >= 2;
        },
        60000,
        'an HLS playlist with two segments',
      );
      assert.match(playlist, /^#EXTM3U/);
      assert.match(playlist, /#EXT-X-TARGETDURATION:\d+/);
      const res = await fetch(`${base}/stage.m3u8`);
      assert.equal(res.headers.get('content-type'), 'application/vnd.apple.mpegurl');
      assert.equal(res.headers.get('access-control-allow-origin'), '*');

      // a segment decodes on its own, at the streamed size
      const segment = playlist.split('\n').find((l) => l.endsWith('.ts'))!;
      const seg = await fetch(`${base}/${segment}`);
      assert.equal(seg.status, 200);
      const file = path.join(tmp, 'segment.ts');
      writeFileSync(file, Buffer.from(await seg.arrayBuffer()));
      const video = await decodeVideo(file);
      assert.ok(video.frames >= 10, `segment holds ${video.frames} frames`);
      assert.equal(video.width, 128);
      // and a player following the playlist over HTTP decodes frames
      const { stderr } = await run(ffmpegPath(), ['-hide_banner', '-nostdin', '-i', `${base}/stage.m3u8`, '-frames:v', '10', '-f', 'null', '-'], { timeout: 30000 });
      assert.match(stderr.slice(stderr.lastIndexOf('frame=')), /frame=\s*10\b/);
      await s.command({ type: 'stream.stop' });
    } finally {
      await s.stop();
      if (nginx.exitCode === null) {
        const exited = new Promise((r) => nginx.once('exit', r));
        nginx.kill('SIGTERM');
        await exited;
      }
      rmSync(tmp, { recursive: true, force: true });
    }
  },
);
