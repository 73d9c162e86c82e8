// The last-resort guard: after an uncaught exception and an unhandled rejection the process is
// still serving, the frame loop still runs, and both are counted in /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { once } from 'node:events';
import { ROOT } from '../../server/server.ts';
import { waitFor } from '../helpers/server.ts';

const metric = (text: string, name: string, kind: string) => {
  const m = text.match(new RegExp(`^${name}\\{kind="${kind}"\\} (\\d+)`, 'm'));
  return m ? Number(m[1]) : 0;
};

test('after an uncaught exception and an unhandled rejection the frame loop keeps running', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/fixtures/guard-child.ts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/URL (\S+)/);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`child exited ${code}: ${stderr}`)));
    });
    let metrics = '';
    await waitFor(
      async () => {
        metrics = await (await fetch(`${url}/metrics`)).text();
        return metric(metrics, 'latentstage_uncaught_total', 'uncaughtException') === 1 && metric(metrics, 'latentstage_uncaught_total', 'unhandledRejection') === 1;
      },
      20_000,
      'both faults counted',
    );
    const frame = async () => (await (await fetch(`${url}/health`)).json()).frame as number;
    const after = await frame();
    await waitFor(async () => (await frame()) >= after + 10, 20_000, 'ten more frames after the faults');
    assert.equal(child.exitCode, null, 'the process is still running');
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
});
