// The latent bank on imported models (random-weight fixtures in the real file formats), served by a
// real server (no prior: the bank path by default). BigGAN-deep + CLIP: `latentstage index` draws a
// class per latent and stores the class names' text embeddings; a prompt is read as its classes
// and moves the class vector there, and the ack says so. StyleGAN2 + CLIP: the bank lives in W,
// where the blend is the plain weighted average of the neighbours.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pyOk } from '../helpers/python.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { readBank } from '../../server/steer/bank-file.ts';
import { ROOT } from '../../server/server.ts';
import { makeFixture, importModel } from '../helpers/models.ts';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server', 'cli.ts'), ...args], { cwd: ROOT });

describe('latent bank on a fixture BigGAN-deep with a fixture CLIP', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-bank-biggan-'));
  const dir = path.join(tmp, 'biggan');
  let server: TestServer;
  let names: string[];

  before(async () => {
    pyOk(['-m', 'latentstage.fixtures', 'biggan-deep', path.join(tmp, 'src-biggan')]);
    pyOk(['-m', 'latentstage.fixtures', 'hf-clip', path.join(tmp, 'src-clip')]);
    pyOk(['-m', 'latentstage.importer', 'biggan', path.join(tmp, 'src-biggan'), '-o', dir]);
    pyOk(['-m', 'latentstage.importer', 'clip', path.join(tmp, 'src-clip'), '-o', dir]);
    await cli('index', dir, '-n', '24', '--batch', '8');
    server = await startTestServer({ model: dir, fps: 10 });
  });
  after(async () => {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('index stores a class per latent and the text embedding of every class name', async () => {
    const bank = await readBank(path.join(dir, 'bank.json'));
    const c = bank.header.classes!;
    assert.ok(c, 'the bank has classes');
    names = c.names;
    assert.equal(c.conditionDim, server.stage.model.manifest.generator.condition!.dim);
    assert.equal(c.template, 'a photo of a {name}');
    assert.equal(bank.classIds!.length, 24);
    assert.equal(bank.classEmbeddings!.length, names.length * bank.header.imageDim);
    assert.ok(!names.some((n) => n.includes(',')), 'the first of each line\'s synonyms');
  });

  test('a prompt lands on its class at once; the ack names the classes and the bank neighbours', async () => {
    const k = names.indexOf('great grey owl') >= 0 ? names.indexOf('great grey owl') : 7;
    const res = await server.command({ type: 'prompt', text: `a photo of a ${names[k]}`, fade: 0.5 });
    assert.equal(res.status, 200);
    assert.equal(res.body.steering.path, 'bank');
    const classes = res.body.steering.reading.classes as { name: string; weight: number }[];
    assert.equal(classes[0]!.name, names[k]);
    assert.ok(res.body.understood.some((u: string) => u.startsWith(`classes: ${names[k]} `)), res.body.understood.join(' / '));
    assert.ok(res.body.understood.some((u: string) => /^bank: #\d+ \(.+\) \d+%/.test(u)), res.body.understood.join(' / '));
    const target = server.stage.engine.condition!.to;
    let best = 0;
    for (let i = 1; i < target.length; i++) if (target[i]! > target[best]!) best = i;
    assert.equal(best, k, 'the class vector peaks at the prompt\'s class');
    assert.ok(Math.abs(target.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  });
});

describe('latent bank on a fixture StyleGAN2 (NVlabs pickle) with a fixture CLIP', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-bank-sg2-'));
  const dir = path.join(tmp, 'sg2');
  let server: TestServer;

  before(async () => {
    await importModel('stylegan', await makeFixture('nvlabs-sg2', path.join(tmp, 'nvlabs-sg2.pkl')), dir);
    pyOk(['-m', 'latentstage.fixtures', 'hf-clip', path.join(tmp, 'src-clip')]);
    await importModel('clip', path.join(tmp, 'src-clip'), dir);
    await cli('index', dir, '-n', '16', '--batch', '8');
    server = await startTestServer({ model: dir, fps: 10 });
  });
  after(async () => {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the bank is in W and a prompt targets the plain weighted average of its neighbours', async () => {
    const bank = await readBank(path.join(dir, 'bank.json'));
    assert.equal(bank.header.space, 'w');
    assert.equal(bank.header.classes, undefined);
    const res = await server.command({ type: 'prompt', text: 'a red circle', fade: 0.5 });
    assert.equal(res.status, 200);
    assert.equal(res.body.steering.path, 'bank');
    const neighbours = res.body.steering.reading.neighbours as { id: number; weight: number }[];
    const d = bank.header.latentDim;
    const mean = server.stage.engine.region.to.mean;
    for (let i = 0; i < d; i++) {
      const want = neighbours.reduce((a, n) => a + n.weight * bank.latents[n.id * d + i]!, 0);
      assert.ok(Math.abs(mean[i]! - want) < 1e-5, `dimension ${i}: ${mean[i]} vs ${want}`);
    }
  });
});
