import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WalkWriter, readWalk, parseWalk, WalkError, WALK_FORMAT, type WalkHeader, type WalkFrame } from '../../server/record/walk-file.ts';
import { walkShots } from '../../server/record/render.ts';

const header: WalkHeader = {
  type: 'walk',
  format: WALK_FORMAT,
  model: { id: 'fixture', sha256: 'a'.repeat(64), zDim: 4, conditionDim: 2 },
  resolution: { width: 64, height: 64 },
  fps: 30,
  seed: 7,
  params: { speed: 0.3 },
  prompt: '',
  startedAt: new Date(0).toISOString(),
  startedAtMs: 0,
};

// Values that only survive an exact float32 round trip: subnormals, -0, extremes, non-decimal fractions.
const tricky = new Float32Array([-0, 1.401298464324817e-45, 3.4028234663852886e38, Math.fround(0.1)]);

function frame(i: number, z = tricky): WalkFrame {
  return { index: i, time: i / 30, dt: 1 / 30, frames: 1, wall: i * 33.3, z, condition: new Float32Array([i, -i]), prompt: 'red heart', params: { speed: 0.3 } };
}

describe('walk files', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-walk-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('round-trips header and latents bit-exactly, with an end marker', async () => {
    const file = path.join(tmp, 'a.walk.jsonl');
    const w = await WalkWriter.create(file, header);
    const rnd = new Float32Array(4).map(() => Math.random() * 2 - 1);
    w.append(frame(0));
    w.append(frame(1, rnd));
    await w.close(66.6);
    const walk = await readWalk(file);
    assert.equal(walk.header.seed, 7);
    assert.equal(walk.frames.length, 2);
    assert.deepEqual(Buffer.from(walk.frames[0].z.buffer), Buffer.from(tricky.buffer));
    assert.ok(Object.is(walk.frames[0].z[0], -0));
    assert.deepEqual(Buffer.from(walk.frames[1].z.buffer), Buffer.from(rnd.buffer));
    assert.deepEqual([...walk.frames[1].condition!], [1, -1]);
    assert.equal(walk.frames[1].prompt, 'red heart');
    assert.equal(walk.end?.frames, 2);
    assert.equal(walk.torn, null);
  });

  test('refuses to overwrite an existing walk', async () => {
    const file = path.join(tmp, 'b.walk.jsonl');
    await (await WalkWriter.create(file, header)).close(0);
    await assert.rejects(WalkWriter.create(file, header), { code: 'EEXIST' });
  });

  test('flushes on its interval without close (what a crash leaves behind)', async () => {
    const file = path.join(tmp, 'c.walk.jsonl');
    const w = await WalkWriter.create(file, header, 50);
    w.append(frame(0));
    w.append(frame(1));
    await w.flush();
    const walk = await readWalk(file);
    assert.equal(walk.frames.length, 2);
    assert.equal(walk.end, null);
    await w.close(0);
  });

  test('tolerates a torn last line and reports it', async () => {
    const file = path.join(tmp, 'd.walk.jsonl');
    const w = await WalkWriter.create(file, header);
    w.append(frame(0));
    w.append(frame(1));
    await w.flush();
    appendFileSync(file, '{"i":2,"t":0.0666,"dt":0.03,"n":1,"w":66,"z":"AAAA');
    const walk = await readWalk(file);
    assert.equal(walk.frames.length, 2);
    assert.match(walk.torn!, /line 4 is incomplete/);
    await w.close(0);
  });

  test('bad files give clear errors naming the line', async () => {
    const text = readFileSync(path.join(tmp, 'a.walk.jsonl'), 'utf8');
    const lines = text.split('\n');
    assert.throws(() => parseWalk('', 'x'), /x is empty/);
    assert.throws(() => parseWalk(lines[0].slice(0, 40), 'x'), /header line is incomplete/);
    assert.throws(() => parseWalk(lines[0].slice(0, 40) + '\n' + lines[1] + '\n', 'x'), /x:1: the header is not valid JSON/);
    assert.throws(() => parseWalk('{"hello":1}\n', 'x'), /x:1: not a latentstage-walk\/1 header/);
    assert.throws(() => parseWalk(lines[0].replace(WALK_FORMAT, 'latentstage-walk/9') + '\n', 'x'), /format must be "latentstage-walk\/1"/);
    assert.throws(() => parseWalk([lines[0], 'garbage', lines[1], ''].join('\n'), 'x'), (e: Error) => e instanceof WalkError && /x:2: not valid JSON/.test(e.message));
    assert.throws(() => parseWalk([lines[0], '{"i":0}', ''].join('\n'), 'x'), /x:2: bad frame line: t:/);
    const short = JSON.stringify({ ...JSON.parse(lines[1]), z: Buffer.alloc(8).toString('base64') });
    assert.throws(() => parseWalk([lines[0], short, ''].join('\n'), 'x'), /x:2: z has 2 values, expected 4/);
    assert.throws(() => parseWalk([lines[0], lines[2], lines[1], ''].join('\n'), 'x'), /x:3: engine time goes backwards/);
    await assert.rejects(readWalk(path.join(tmp, 'missing.walk.jsonl')), /cannot read walk .*ENOENT/);
  });

  test('render timeline holds skipped frames and merges repeats', () => {
    const walk = parseWalk(readFileSync(path.join(tmp, 'a.walk.jsonl'), 'utf8'));
    // two frames 1/30 s apart rendered at 60 fps: each shows for 2 output frames
    const { shots, total } = walkShots(walk, 60);
    assert.equal(total, 4);
    assert.deepEqual(shots.map((s) => s.repeat), [2, 2]);
    assert.throws(() => walkShots(walk, 60, 5), /nothing to render between 5 s/);
  });
});

describe('torn header on disk', () => {
  test('a file cut inside its header is an error, not an empty walk', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-walk-'));
    try {
      const file = path.join(tmp, 'e.walk.jsonl');
      writeFileSync(file, JSON.stringify(header).slice(0, 50));
      await assert.rejects(readWalk(file), /header line is incomplete/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
