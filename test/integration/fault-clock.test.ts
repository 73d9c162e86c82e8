// The system clock jumps (an NTP step) forward and back under a real server process: libfaketime
// moves the wall clock (CLOCK_REALTIME) by an hour forward, then two back, while the monotonic
// clock runs on. The frame grid and schedules follow the monotonic clock: no burst of frames, no
// freeze, a scheduled prompt change comes on time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { waitFor } from '../helpers/server.ts';
import { parseFrameHeader } from '../../server/frames/header.ts';
import { ROOT } from '../../server/server.ts';

const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find((p) => existsSync(p));
const FPS = 30;

test('the wall clock jumps an hour forward and two back: frames keep the monotonic grid, the schedule keeps time', { skip: LIBFAKETIME ? false : 'libfaketime is not installed (Debian: faketime)', timeout: 90_000 }, async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-clock-'));
  const offset = path.join(tmp, 'faketime');
  writeFileSync(offset, '+0\n');
  let child: ChildProcess | null = null;
  try {
    const model = writeFixtureModel(path.join(tmp, 'model'));
    child = spawn(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'serve', '--model', model, '--port', '0', '--fps', String(FPS), '--presets', path.join(tmp, 'presets')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      // only the wall clock is faked; its offset is re-read from the file at most once a second
      env: { ...process.env, LOG_LEVEL: 'warn', LD_PRELOAD: LIBFAKETIME!, FAKETIME_TIMESTAMP_FILE: offset, FAKETIME_CACHE_DURATION: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    await waitFor(() => /control page\s+http:\/\/\S+\//.test(out) || child!.exitCode !== null, 30_000, 'server URL');
    const url = /control page\s+(http:\/\/[^\s/]+)\//.exec(out)?.[1];
    assert.ok(url, `server did not start: ${out}`);
    const serverClock = async () => Date.parse((await fetch(`${url}/health`)).headers.get('date')!);

    const arrivals: { at: number; index: number }[] = [];
    let promptAt: { text: string; at: number }[] = [];
    const viewer = new WebSocket(`${url.replace('http', 'ws')}/frames?format=jpeg`);
    viewer.on('message', (d, binary) => {
      const at = performance.now();
      if (binary) arrivals.push({ at, index: parseFrameHeader(d as Buffer).index });
      else {
        const m = JSON.parse(String(d));
        const text = m.state?.prompt?.text;
        if (typeof text === 'string' && promptAt.at(-1)?.text !== text) promptAt.push({ text, at });
      }
    });
    await waitFor(() => arrivals.length > FPS * 2, 20_000, 'two seconds of frames');

    // a schedule: 'cat' now, 'robot' 4 s of engine time later
    promptAt = [];
    const started = performance.now();
    const r = await fetch(`${url}/api/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'schedule.start', schedule: { unit: 'seconds', steps: [{ at: 0, prompt: 'cat' }, { at: 4, prompt: 'robot' }] } }),
    });
    assert.equal(r.status, 200, await r.text());
    const before = await serverClock();
    const from = arrivals.length;
    // NTP steps: an hour forward, then two hours back
    writeFileSync(offset, '+3600\n');
    await new Promise((r) => setTimeout(r, 2500));
    const ahead = await serverClock();
    writeFileSync(offset, '-3600\n');
    await new Promise((r) => setTimeout(r, 3500));
    const behind = await serverClock();
    assert.ok(ahead - before > 3500_000, `the server's wall clock jumped forward (${(ahead - before) / 1000} s)`);
    assert.ok(behind - before < -3500_000, `and back (${(behind - before) / 1000} s)`);

    // the frames across both jumps: on the monotonic grid, no burst, no freeze
    const seen = arrivals.slice(from);
    const span = (seen.at(-1)!.at - seen[0].at) / 1000;
    const slots = seen.at(-1)!.index - seen[0].index;
    assert.ok(Math.abs(slots / span - FPS) < FPS * 0.15, `${slots} frame slots in ${span.toFixed(2)} s`);
    let longest = 0;
    let most = 0;
    for (let i = 1; i < seen.length; i++) longest = Math.max(longest, seen[i].at - seen[i - 1].at);
    for (let i = 0, j = 0; i < seen.length; i++) {
      while (seen[i].at - seen[j].at > 1000) j++;
      most = Math.max(most, i - j + 1);
    }
    assert.ok(longest < 500, `no freeze: the longest gap between frames is ${longest.toFixed(0)} ms`);
    assert.ok(most <= FPS + 3, `no burst: at most ${most} frames in any second`);
    // the schedule changed prompt 4 s after it started, by the monotonic clock
    const robot = promptAt.find((p) => p.text === 'robot');
    assert.ok(robot, `the schedule reached its second step (${JSON.stringify(promptAt.map((p) => p.text))})`);
    const after = (robot.at - started) / 1000;
    assert.ok(after > 3.5 && after < 5, `'robot' came ${after.toFixed(2)} s after the schedule started`);
    viewer.close();
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
});
