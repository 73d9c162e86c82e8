// The latent bank end to end on the shipped emoji-64 model: `latentstage index` writes a valid bank
// next to a copy of the model, and a real server (real onnxruntime, runtime worker) started with
// --steer bank (its prior switched off) steers prompts through it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, mkdirSync, rmSync, readdirSync, symlinkSync, copyFileSync, readFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { readBank } from '../../server/steer/bank-file.ts';
import { DEFAULT_MODEL, ROOT } from '../../server/server.ts';
import { writeFixtureModel } from '../fixtures/onnx.ts';

const run = promisify(execFile);
const N = 96;

/** emoji-64's files linked into a fresh folder, with its own manifest (index rewrites it). */
function modelCopy(root: string): string {
  const dir = path.join(root, 'emoji-64');
  mkdirSync(dir);
  for (const f of readdirSync(DEFAULT_MODEL)) {
    if (f === 'latentstage.json') copyFileSync(path.join(DEFAULT_MODEL, f), path.join(dir, f));
    else symlinkSync(path.join(DEFAULT_MODEL, f), path.join(dir, f));
  }
  return dir;
}

const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server', 'cli.ts'), ...args], { cwd: ROOT });

type State = { similarity: number | null; understood: string[]; steering: { path: string; reading: { neighbours: { id: number; weight: number }[] } | null } };

describe('latent bank on emoji-64', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-bank-'));
  let dir: string;
  let server: TestServer;

  before(async () => {
    dir = modelCopy(tmp);
    const { stdout } = await cli('index', dir, '-n', String(N), '--batch', '32');
    assert.match(stdout, new RegExp(`latent bank of ${N} latents written to .*bank\\.json`));
    server = await startTestServer({ model: dir, steer: 'bank', fps: 20 });
  });
  after(async () => {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('index writes a valid bank next to the model and names it in the manifest', async () => {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'latentstage.json'), 'utf8'));
    assert.equal(manifest.bank, 'bank.json');
    assert.equal(manifest.prior.file, 'prior.onnx'); // everything else kept
    const bank = await readBank(path.join(dir, 'bank.json'));
    assert.equal(bank.header.count, N);
    assert.equal(bank.header.space, 'z');
    assert.equal(bank.latents.length, N * 128);
    for (let i = 0; i < N; i++) {
      const e = bank.embeddings.subarray(i * 256, (i + 1) * 256);
      assert.ok(Math.abs(Math.hypot(...e) - 1) < 1e-4, 'unit image embeddings');
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary files left');
  });

  const state = () => server.stage.state() as unknown as State;
  let fireLate = NaN;
  /** Mean similarity over `ms`, after waiting `wait` ms (the fade). */
  const settled = async (ms: number, wait = 0) => {
    await new Promise((r) => setTimeout(r, wait));
    const xs: number[] = [];
    const end = Date.now() + ms;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      const s = state().similarity;
      if (s !== null) xs.push(s);
    }
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };

  test('a prompt moves the walk to the blend of its nearest bank latents; the ack names them', async () => {
    const res = await server.command({ type: 'prompt', text: 'fire', fade: 1.5 });
    assert.equal(res.status, 200);
    assert.equal(res.body.steering.path, 'bank');
    const neighbours = res.body.steering.reading.neighbours as { id: number; weight: number; score: number }[];
    assert.equal(neighbours.length, 8);
    assert.ok(Math.abs(neighbours.reduce((a, n) => a + n.weight, 0) - 1) < 1e-6);
    assert.ok(neighbours.every((n, i) => i === 0 || n.score <= neighbours[i - 1]!.score));
    assert.ok(res.body.understood.some((u: string) => new RegExp(`^bank: #${neighbours[0]!.id} \\d+%.* of ${N} latents`).test(u)), res.body.understood.join(' / '));
    // the engine's target is exactly the bank's blend for this prompt
    const target = server.steering.bank!.target(server.steering.active!.prompt);
    assert.deepEqual(Array.from(server.stage.engine.region.to.mean), Array.from(target.mean));
    await waitFor(() => state().similarity !== null, 5000, 'a measured frame');
    const early = state().similarity!;
    const late = await settled(1500, 1500);
    fireLate = late;
    assert.ok(late > early + 0.05, `similarity to "fire" rises through the fade: ${early.toFixed(3)} -> ${late.toFixed(3)}`);
    assert.ok(late > 0.6, `settled similarity ${late.toFixed(3)}`);
  });

  test('a negative part pushes away from its concept', async () => {
    const res = await server.command({ type: 'prompt', text: 'fire:-1', fade: 1 });
    assert.equal(res.status, 200);
    const reading = res.body.steering.reading.neighbours as { score: number }[];
    assert.ok(reading[0]!.score > 0, 'the chosen pictures are unlike fire');
    // the similarity of a negative-only prompt is -cos(frame, fire)
    const away = await settled(1500, 1300);
    assert.ok(away > 0, `frames end up unlike fire: cos = ${(-away).toFixed(3)}`);
    assert.ok(-away < fireLate - 0.5, `cos to fire falls from ${fireLate.toFixed(3)} to ${(-away).toFixed(3)}`);
    const clear = await server.command({ type: 'prompt', text: '' });
    assert.equal(clear.body.steering.reading, null);
  });
});

describe('a damaged latent bank', () => {
  test('gets a clear error and the server starts without it', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-bank-bad-'));
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    let server: TestServer | null = null;
    try {
      const dir = modelCopy(tmp);
      await cli('index', dir, '-n', '8');
      truncateSync(path.join(dir, 'bank.bin'), 100);
      server = await startTestServer({ model: dir, steer: 'bank', logger, fps: 10 });
      const log = lines.join('');
      assert.match(log, /latent bank data .*bank\.bin has 100 bytes, its header says \d+ .*run latentstage index again\); steering without the bank/);
      assert.match(log, /--steer bank: model emoji-64 has no usable latent bank \(run latentstage index\); steering by prior/);
      const res = await server.command({ type: 'prompt', text: 'fire' });
      assert.equal(res.status, 200);
      assert.equal(res.body.steering.path, 'prior');
    } finally {
      await server?.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('index: bad arguments and a model without an image encoder get clear errors', async () => {
    await assert.rejects(cli('index', '/nonexistent-model'), (e: { code: number; stderr: string }) => e.code === 2 && /no model at \/nonexistent-model/.test(e.stderr));
    await assert.rejects(cli('index', DEFAULT_MODEL, '-n', '0'), (e: { code: number; stderr: string }) => e.code === 2 && /-n must be >= 1/.test(e.stderr));
    const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-bank-noimg-'));
    try {
      const dir = writeFixtureModel(path.join(tmp, 'model'), { image: false });
      const before = readdirSync(dir).sort();
      await assert.rejects(cli('index', dir, '-n', '4'), (e: { code: number; stderr: string }) => e.code === 1 && /model fixture has no image encoder: a bank needs CLIP's image side/.test(e.stderr));
      assert.deepEqual(readdirSync(dir).sort(), before, 'nothing written');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
