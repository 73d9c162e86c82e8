// The latent bank's blend (bank.ts) and file format (bank-file.ts) on small hand-made banks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LatentBank, topSoftmax, MIN_SCALE, describeReading } from '../../server/steer/bank.ts';
import { readBank, writeBank, BankError, BANK_FORMAT, type BankData } from '../../server/steer/bank-file.ts';
import { normalise } from '../../server/steer/text.ts';

const unit = (...v: number[]) => normalise(Float32Array.from(v));

/** Four latents in 3-d, their "pictures" along four directions of a 2-d embedding space. */
function bank(space: 'z' | 'w', classes = false): BankData {
  const latents = Float32Array.from([2, 0, 0, 0, 2, 0, -2, 0, 0, 0, 0, 2]);
  const embeddings = Float32Array.from([...unit(1, 0), ...unit(0.9, 0.1), ...unit(-1, 0), ...unit(0, 1)]);
  return {
    header: {
      format: BANK_FORMAT,
      model: 'toy',
      data: 'bank.bin',
      count: 4,
      space,
      latentDim: 3,
      imageDim: 2,
      seed: 1,
      ...(classes ? { classes: { names: ['cat', 'dog', 'owl'], template: 'a photo of a {name}', conditionDim: 4 } } : {}),
    },
    latents,
    embeddings,
    classIds: classes ? Int32Array.from([0, 1, 2, 0]) : null,
    classEmbeddings: classes ? Float32Array.from([...unit(0, 1), ...unit(-1, 0), ...unit(1, 0.05)]) : null,
  };
}

const prompt = (...parts: [number[], number][]) => ({ embeddings: parts.map(([e]) => unit(...e)), weights: parts.map(([, w]) => w) });

test('topSoftmax: best first, weights sum to 1, lower temperature sharpens', () => {
  const s = [0.1, 0.5, 0.3, 0.45];
  const a = topSoftmax(s, 3, 0.1);
  assert.deepEqual(a.ids, [1, 3, 2]);
  assert.ok(Math.abs(a.weights.reduce((x, y) => x + y) - 1) < 1e-12);
  assert.ok(topSoftmax(s, 3, 0.01).weights[0]! > a.weights[0]!);
});

test('z space: the blend keeps the neighbours\' typical length instead of shrinking toward the centre', () => {
  const b = new LatentBank(bank('z'), 2, 1); // the two latents whose pictures point along +x, nearly even weights
  const t = b.target(prompt([[1, 0], 1]));
  assert.deepEqual(t.reading.neighbours.map((n) => n.id), [0, 1]);
  assert.ok(Math.abs(Math.hypot(...t.mean) - 2) < 1e-9, `|mean| = ${Math.hypot(...t.mean)}`); // a plain average would be ~1.41
  assert.ok(t.mean[0]! > 1 && t.mean[1]! > 1 && t.mean[0]! > t.mean[1]!);
  for (const s of t.scale) assert.ok(s >= MIN_SCALE && s <= 1);
  assert.equal(t.condition, null);
  assert.equal(t.reading.classes, null);
});

test('w space: the blend is the plain weighted average', () => {
  const t = new LatentBank(bank('w'), 2, 1).target(prompt([[1, 0], 1]));
  const w = t.reading.neighbours.map((n) => n.weight);
  assert.ok(Math.abs(t.mean[0]! - 2 * w[0]!) < 1e-6 && Math.abs(t.mean[1]! - 2 * w[1]!) < 1e-6);
});

test('negative parts push away: "x:-1" picks the picture least like x', () => {
  const t = new LatentBank(bank('z'), 1).target(prompt([[1, 0], -1]));
  assert.equal(t.reading.neighbours[0]!.id, 2);
  const mixed = new LatentBank(bank('z'), 1).target(prompt([[0, 1], 1], [[1, 0], -0.5]));
  assert.equal(mixed.reading.neighbours[0]!.id, 3);
});

test('class models: the prompt is read as classes and the condition carries their weights', () => {
  const t = new LatentBank(bank('z', true)).target(prompt([[1, 0], 1]));
  assert.equal(t.reading.classes![0]!.name, 'owl');
  assert.equal(t.condition!.length, 4);
  assert.ok(t.condition![2]! > 0.9);
  assert.ok(Math.abs(t.condition!.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.equal(t.reading.neighbours[0]!.class, 'cat');
  const lines = describeReading(t.reading, 4);
  assert.match(lines[0]!, /^classes: owl \d+%/);
  assert.match(lines[1]!, /^bank: #0 \(cat\) \d+%/);
});

test('bank files: written and read back exactly; damage gets a clear error', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'latentstage-bank-'));
  try {
    const b = bank('z', true);
    const header = await writeBank(dir, 'bank.json', b);
    const back = await readBank(header);
    assert.deepEqual(back.header, b.header);
    assert.deepEqual(back.latents, b.latents);
    assert.deepEqual(back.embeddings, b.embeddings);
    assert.deepEqual(back.classIds, b.classIds);
    assert.deepEqual(back.classEmbeddings, b.classEmbeddings);

    truncateSync(path.join(dir, 'bank.bin'), 20);
    await assert.rejects(readBank(header), (e: Error) => e instanceof BankError && /has 20 bytes, its header says \d+ \(truncated/.test(e.message));
    const h = JSON.parse(readFileSync(header, 'utf8'));
    writeFileSync(header, JSON.stringify({ ...h, format: 'other/1' }));
    await assert.rejects(readBank(header), /invalid: .*format must be "latentstage-bank\/1"/);
    writeFileSync(header, '{"format":');
    await assert.rejects(readBank(header), /cannot be read/);
    writeFileSync(header, JSON.stringify({ ...h, data: '../elsewhere.bin' }));
    await assert.rejects(readBank(header), /data must be a file name in the same folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
