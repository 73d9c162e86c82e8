// kill -9 a real server process (and its ffmpeg) mid-recording: what is on disk must still be a
// readable walk and a playable video, and the walk must re-render deterministically.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { waitFor } from '../helpers/server.ts';
import { decodeVideo } from '../helpers/media.ts';
import { readWalk } from '../../server/record/walk-file.ts';
import { renderWalk } from '../../server/record/render.ts';
import { ROOT } from '../../server/server.ts';

function walkLines(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Fragments (moof boxes) written to a fragmented MP4 so far. */
function fragments(file: string): number {
  try {
    const b = readFileSync(file);
    let n = 0;
    for (let i = b.indexOf('moof'); i >= 0; i = b.indexOf('moof', i + 4)) n++;
    return n;
  } catch {
    return 0;
  }
}

describe('crash safety', () => {
  let tmp: string;
  let child: ChildProcess | null = null;
  const killGroup = () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-crash-'));
  });
  after(() => {
    killGroup();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('kill -9 mid-recording leaves a readable walk and a playable MP4', { timeout: 60000 }, async () => {
    const model = writeFixtureModel(path.join(tmp, 'model'));
    const rec = path.join(tmp, 'recordings');
    // Its own process group, so one kill -9 takes down the server and its ffmpeg together.
    child = spawn(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'serve', '--model', model, '--port', '0', '--fps', '30', '--recordings', rec, '--presets', path.join(tmp, 'presets')], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    await waitFor(() => /control page\s+http:\/\/\S+\//.test(out) || child!.exitCode !== null, 30000, 'server URL');
    const url = /control page\s+(http:\/\/[^\s/]+)\//.exec(out)?.[1];
    assert.ok(url, `server did not start: ${out}`);

    const res = await fetch(`${url}/api/command`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'record.start', name: 'crash' }) });
    assert.equal(res.status, 200, await res.text());
    const walkFile = path.join(rec, 'crash.walk.jsonl');
    const video = path.join(rec, 'crash.mp4');
    // Two flushes of the walk and at least two 1 s video fragments.
    const header = walkLines(walkFile);
    await waitFor(() => walkLines(walkFile) > header, 10000, 'walk flush');
    // a second fragment started: the first (1 s, 30 frames) is complete on disk
    await waitFor(() => fragments(video) >= 3, 20000, 'three video fragments');
    await waitFor(async () => (await readWalk(walkFile)).frames.length >= 45, 20000, '45 frames in the walk file');
    killGroup();
    await new Promise((r) => (child!.exitCode !== null || child!.signalCode !== null ? r(null) : child!.once('exit', r)));
    assert.equal(child.signalCode, 'SIGKILL');

    const walk = await readWalk(walkFile);
    assert.equal(walk.end, null, 'no end marker after a crash');
    assert.ok(walk.frames.length >= 30, `${walk.frames.length} frames survived`);

    const v = await decodeVideo(video);
    assert.equal(v.width, 64);
    assert.ok(v.frames >= 30, `${v.frames} frames decodable`);

    // The crash walk re-renders, deterministically.
    const a = await renderWalk({ walk: walkFile, out: path.join(tmp, 'a.mp4'), model, modelsDir: tmp });
    const b = await renderWalk({ walk: walkFile, out: path.join(tmp, 'b.mp4'), model, modelsDir: tmp });
    assert.equal(a.frames, b.frames);
    const [va, vb] = [await decodeVideo(a.out), await decodeVideo(b.out)];
    assert.equal(va.frames, a.frames);
    assert.deepEqual(va.hashes, vb.hashes);
  });
});
