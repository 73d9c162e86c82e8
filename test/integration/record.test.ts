import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { decodeVideo, hashFiles } from '../helpers/media.ts';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { readWalk } from '../../server/record/walk-file.ts';
import { main } from '../../server/cli.ts';


/** Run the CLI in-process; returns the exit code and what it printed to stderr. */
async function cli(args: string[]): Promise<{ code: number; err: string }> {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    return { code: await main(args), err: lines.join('\n') };
  } finally {
    console.error = orig;
  }
}

describe('recording through the running server', () => {
  let s: TestServer;
  let tmp: string;
  let rec: string;
  const logs: string[] = [];

  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-rec-'));
    rec = path.join(tmp, 'recordings');
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    s = await startTestServer({ fps: 30, recordings: rec, logger: pino({ level: 'info' }, sink) });
  });
  after(async () => {
    await s?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('record.start / record.stop write a walk file and a video of the real duration', async () => {
    const t0 = performance.now();
    const start = await s.command({ type: 'record.start', name: 'set1' });
    assert.equal(start.status, 200, JSON.stringify(start.body));
    assert.equal(start.body.recording.active, true);
    assert.equal(start.body.recording.name, 'set1');
    assert.equal(start.body.recording.walk, path.join(rec, 'set1.walk.jsonl'));
    // record for 2.5 s of the walk (engine time follows the wall clock on a live stage)
    await waitFor(() => s.stage.engine.time >= start.body.time + 2.5, 20000, '2.5 s of recording');
    await waitFor(() => s.stage.state().recording!.frames > 5, 10000, 'recorded frames');
    const stop = await s.command({ type: 'record.stop' });
    const wall = (performance.now() - t0) / 1000;
    assert.equal(stop.status, 200, JSON.stringify(stop.body));
    const r = stop.body.recording;
    assert.equal(r.active, false);
    assert.equal(r.error, undefined);

    const walk = await readWalk(r.walk);
    assert.equal(walk.torn, null);
    assert.equal(walk.end?.frames, walk.frames.length);
    assert.equal(walk.frames.length, r.frames);
    assert.equal(walk.header.model.id, 'fixture');
    assert.match(walk.header.model.sha256, /^[0-9a-f]{64}$/);
    assert.equal(walk.header.fps, 30);
    assert.equal(walk.frames[0].z.length, 16);
    for (let k = 1; k < walk.frames.length; k++) {
      const [a, b] = [walk.frames[k - 1], walk.frames[k]];
      assert.equal(b.index, a.index + b.frames, 'frame index advances by the skip count');
      assert.ok(Math.abs(b.time - a.time - b.dt) < 1e-9);
    }

    const video = await decodeVideo(r.video);
    assert.equal(video.width, 64);
    assert.equal(video.height, 64);
    // Constant 30 fps against the wall clock: the video is as long as the recording was.
    const recorded = walk.end!.wallMs / 1000;
    assert.ok(Math.abs(video.duration - recorded) < 0.1, `video ${video.duration} s vs recorded ${recorded} s`);
    // the walk's wall time runs from the first recorded frame, a frame or two after record.start
    assert.ok(recorded >= 2.5 - 2 / 30 && recorded <= wall, `recorded ${recorded} s within the ${wall} s between the commands`);
    assert.ok(Math.abs(video.frames - video.duration * 30) <= 1, `${video.frames} frames in ${video.duration} s`);
  });

  test('record.start size upscales the video; a default name is a timestamp', async () => {
    const start = await s.command({ type: 'record.start', size: 96 });
    assert.equal(start.status, 200, JSON.stringify(start.body));
    assert.match(start.body.recording.name, /^walk-\d{8}-\d{6}$/);
    await waitFor(() => s.stage.state().recording!.videoFrames >= 10, 20000, 'ten video frames');
    const stop = await s.command({ type: 'record.stop' });
    const video = await decodeVideo(stop.body.recording.video);
    assert.equal(video.width, 96);
    assert.equal(video.height, 96);
  });

  test('bad record commands get clear errors and change nothing', async () => {
    const bad = async (cmd: unknown, re: RegExp) => {
      const r = await s.command(cmd);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.error, re);
    };
    await bad({ type: 'record.start', name: 'Bad Name' }, /name must be 1-64 characters/);
    await bad({ type: 'record.start', size: 97 }, /size must be even/);
    await bad({ type: 'record.start', extra: 1 }, /record.start:/);
    await bad({ type: 'record.stop' }, /not recording/);
    await bad({ type: 'record.start', name: 'set1' }, /recording "set1" already exists/);
    assert.equal((await s.command({ type: 'record.start', name: 'twice' })).status, 200);
    await bad({ type: 'record.start', name: 'other' }, /already recording "twice"/);
    assert.equal((await s.command({ type: 'record.stop' })).status, 200);
    assert.equal(existsSync(path.join(rec, 'other.walk.jsonl')), false);
  });

  test('ffmpeg dying mid-recording is reported everywhere while the walk keeps going', async () => {
    assert.equal((await s.command({ type: 'record.start', name: 'dies' })).status, 200);
    await waitFor(() => s.recorder.videoPid !== undefined && s.stage.state().recording!.videoFrames > 3, 10000, 'video frames');
    process.kill(s.recorder.videoPid!, 'SIGKILL');
    await waitFor(() => Boolean(s.stage.state().recording!.error), 10000, 'recording error');
    const state = await (await fetch(`${s.url}/api/state`)).json();
    assert.match(state.recording.error, /video failed .*ffmpeg was killed \(SIGKILL\)/);
    assert.equal(state.recording.active, true);
    const framesAtError = state.recording.frames;
    await waitFor(() => s.stage.state().recording!.frames > framesAtError + 10, 10000, 'walk frames after the error');
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /latentstage_errors_total\{surface="recorder"\} 1/);
    assert.ok(logs.some((l) => /"level":50/.test(l) && /recording dies: video failed/.test(l)), 'an error log line');
    const stop = await s.command({ type: 'record.stop' });
    assert.equal(stop.status, 200);
    const walk = await readWalk(stop.body.recording.walk);
    assert.ok(walk.end && walk.frames.length > framesAtError + 10);
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
  });

  test('render: the same walk twice gives identical frames; size, fps and range apply', async () => {
    const walk = path.join(rec, 'set1.walk.jsonl');
    const runs = [];
    for (const k of [1, 2]) {
      const out = path.join(tmp, `r${k}.mp4`);
      const frames = path.join(tmp, `png${k}`);
      const r = await cli(['render', walk, '-o', out, '--model', s.modelDir, '--frames', frames]);
      assert.equal(r.code, 0, r.err);
      runs.push({ video: await decodeVideo(out), pngs: hashFiles(frames) });
    }
    const w = await readWalk(walk);
    const length = w.frames.at(-1)!.time - w.frames[0].time + 1 / 30;
    assert.equal(runs[0].video.frames, Math.round(length * 30));
    assert.deepEqual(runs[0].video.hashes, runs[1].video.hashes);
    assert.deepEqual(runs[0].pngs, runs[1].pngs);
    assert.equal(Object.keys(runs[0].pngs).length, runs[0].video.frames);

    const big = path.join(tmp, 'big.mp4');
    const bigFrames = path.join(tmp, 'png-big');
    const r = await cli(['render', walk, '-o', big, '--model', s.modelDir, '--size', '128', '--fps', '60', '--from', '0.5', '--to', '1.5', '--frames', bigFrames]);
    assert.equal(r.code, 0, r.err);
    const v = await decodeVideo(big);
    assert.deepEqual([v.width, v.height, v.frames], [128, 128, 60]);
    const png = readFileSync(path.join(bigFrames, 'frame-000059.png'));
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [128, 128], 'PNG size (IHDR)');
  });

  test('render: bad walks, wrong models and bad arguments give clear errors', async () => {
    const walk = path.join(rec, 'set1.walk.jsonl');
    const out = path.join(tmp, 'x.mp4');
    const other = writeFixtureModel(path.join(tmp, 'other-model'), { seed: 2 });
    let r = await cli(['render', walk, '-o', out, '--model', other]);
    assert.equal(r.code, 1);
    assert.match(r.err, /recorded with model fixture \(generator sha256 [0-9a-f]{12}\), but .* holds fixture \([0-9a-f]{12}\); pass --force/);
    r = await cli(['render', walk, '-o', out, '--model', other, '--force', '--to', '0.2']);
    assert.equal(r.code, 0, r.err);
    const small = writeFixtureModel(path.join(tmp, 'small-model'), { zDim: 8 });
    r = await cli(['render', walk, '-o', out, '--model', small, '--force']);
    assert.match(r.err, /takes z of 8 .* recorded with 16/);
    r = await cli(['render', walk, '-o', out]);
    assert.match(r.err, /recorded with model fixture, which is not installed .*pass --model DIR/);

    const lines = readFileSync(walk, 'utf8').split('\n');
    // a walk recorded through a refiner renders only through that refiner
    const header = JSON.parse(lines[0]!);
    const refined = path.join(tmp, 'refined.walk.jsonl');
    writeFileSync(refined, [JSON.stringify({ ...header, model: { ...header.model, refinerSha256: 'ab'.repeat(32) } }), ...lines.slice(1)].join('\n'));
    r = await cli(['render', refined, '-o', out, '--model', s.modelDir]);
    assert.equal(r.code, 1);
    assert.match(r.err, /recorded through refiner sha256 abababababab, but .* holds no refiner; pass --force/);
    const torn = path.join(tmp, 'torn.walk.jsonl');
    writeFileSync(torn, lines[0].slice(0, 30));
    r = await cli(['render', torn, '-o', out, '--model', s.modelDir]);
    assert.equal(r.code, 1);
    assert.match(r.err, /torn\.walk\.jsonl: the header line is incomplete/);
    const garbage = path.join(tmp, 'garbage.walk.jsonl');
    writeFileSync(garbage, [lines[0], lines[1], 'garbage', lines[2], ''].join('\n'));
    r = await cli(['render', garbage, '-o', out, '--model', s.modelDir]);
    assert.match(r.err, /garbage\.walk\.jsonl:3: not valid JSON/);
    const tail = path.join(tmp, 'tail.walk.jsonl');
    writeFileSync(tail, [lines[0], lines[1], lines[2], lines[3].slice(0, 20)].join('\n'));
    r = await cli(['render', tail, '-o', out, '--model', s.modelDir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /warning: .*line 4 is incomplete/);

    r = await cli(['render', '-o', out]);
    assert.equal(r.code, 2);
    assert.match(r.err, /give a walk file or --preset NAME/);
    r = await cli(['render', walk, '-o', out, '--size', 'big']);
    assert.match(r.err, /--size must be a number/);
    r = await cli(['render', walk, '-o', out, '--from', '2', '--to', '1']);
    assert.match(r.err, /--to must be after --from/);
  });

  test('render --preset renders a preset walk without performing it', async () => {
    mkdirSync(s.presetsDir, { recursive: true });
    writeFileSync(path.join(s.presetsDir, 'slow-loop.json'), JSON.stringify({ seed: 3, params: { mode: 'loop', period: 4 } }));
    const out = path.join(tmp, 'preset.mp4');
    const args = ['render', '--preset', 'slow-loop', '--duration', '1', '--fps', '30', '-o', out, '--model', s.modelDir, '--presets', s.presetsDir];
    let r = await cli(args);
    assert.equal(r.code, 0, r.err);
    const v = await decodeVideo(out);
    assert.equal(v.frames, 30);
    assert.ok(new Set(v.hashes).size > 20, 'the walk moves');
    r = await cli([...args.slice(0, 2), 'nope', ...args.slice(3)]);
    assert.equal(r.code, 1);
    assert.match(r.err, /no preset named "nope"/);
  });
});

describe('recording into an unusable folder', () => {
  test('record.start fails clearly and the server stays up', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-rec-'));
    const file = path.join(tmp, 'not-a-dir');
    writeFileSync(file, 'x');
    const s = await startTestServer({ fps: 30, recordings: path.join(file, 'recordings') });
    try {
      const r = await s.command({ type: 'record.start', name: 'nope' });
      assert.equal(r.status, 500);
      assert.match(r.body.error, /cannot record to .*not-a-dir\/recordings: ENOTDIR/);
      const state = await (await fetch(`${s.url}/api/state`)).json();
      assert.equal(state.recording.active, false);
      assert.equal((await s.command({ type: 'set', speed: 0.5 })).status, 200);
      const f = s.stage.engine.frame;
      await waitFor(() => s.stage.engine.frame > f + 3, 5000, 'frames keep coming');
    } finally {
      await s.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
