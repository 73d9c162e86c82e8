import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { ROOT } from '../../server/server.ts';

const cli = path.join(ROOT, 'server/bin.mjs');

function runCli(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30000 });
}

test('bad flags get a clear message, the usage and exit code 2', () => {
  const cases: [string[], RegExp][] = [
    [['serve', '--port', 'abc'], /--port must be a number/],
    [['serve', '--port', '70000'], /--port must be <= 65535/],
    [['serve', '--device', 'tpu'], /--device must be one of cpu, cuda, mps, tensorrt, coreml, dml/],
    [['serve', '--bogus'], /Unknown option '--bogus'/],
    [['dance'], /unknown command "dance"/],
  ];
  for (const [args, why] of cases) {
    const r = runCli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.match(r.stderr, /usage: latentstage serve/);
  }
});

test('a model folder without a manifest is reported plainly', () => {
  const r = runCli(['serve', '--model', path.join(tmpdir(), 'no-such-model')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no model at .*no-such-model \(latentstage\.json missing\)/);
});

test('serve prints its URLs and device; SIGTERM closes sockets and exits cleanly', async () => {
  const model = writeFixtureModel(path.join(mkdtempSync(path.join(tmpdir(), 'ls-cli-')), 'm'));
  const proc = spawn(process.execPath, [cli, 'serve', '--model', model, '--port', '0', '--fps', '30'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/control page\s+(http:\/\/\S+?)\/\s/);
      if (m) resolve(m[1]);
    });
    proc.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  assert.match(out, /on cpu/);
  assert.match(out, /projector\s+http:\/\/127\.0\.0\.1:\d+\/sketches\/projector\//);
  const ws = new WebSocket(`${url.replace('http', 'ws')}/frames`);
  await new Promise((r) => ws.once('message', r));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  proc.kill('SIGTERM');
  assert.equal(await closed, 1001, 'viewers are told the server is going away');
  assert.equal(await exited, 0);
});
