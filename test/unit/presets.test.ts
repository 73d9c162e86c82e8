import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PresetStore } from '../../server/presets.ts';

const fresh = () => mkdtempSync(path.join(tmpdir(), 'ls-presets-'));

test('save then load round-trips and leaves no temporary files', async () => {
  const dir = fresh();
  const store = new PresetStore(dir);
  const preset = { description: 'test', seed: 5, params: { speed: 0.7, mode: 'loop' as const }, prompt: { text: 'fire', fade: 3 } };
  await store.save('my-set_1', preset);
  assert.deepEqual(await store.load('my-set_1'), preset);
  assert.deepEqual(readdirSync(dir), ['my-set_1.json']);
});

test('save is atomic: a failed save leaves the old file intact', async () => {
  const dir = fresh();
  const store = new PresetStore(dir);
  await store.save('keep', { seed: 1 });
  const before = readFileSync(path.join(dir, 'keep.json'), 'utf8');
  await assert.rejects(store.save('keep', { seed: -5 } as never));
  assert.equal(readFileSync(path.join(dir, 'keep.json'), 'utf8'), before);
  assert.deepEqual(readdirSync(dir), ['keep.json']);
});

test('path traversal and bad names are rejected', async () => {
  // the store one level inside a folder of its own, so that "../x" would land where nothing else writes
  const dir = path.join(fresh(), 'presets');
  mkdirSync(dir);
  const store = new PresetStore(dir);
  for (const name of ['../x', '..', 'a/b', 'A', '', 'x'.repeat(65), 'a.b']) {
    await assert.rejects(store.save(name, {}), /bad preset name/);
    await assert.rejects(store.load(name), /bad preset name/);
  }
  assert.equal(existsSync(path.join(dir, '..', 'x.json')), false);
});

test('a bad preset file is reported and skipped, never fatal', async () => {
  const dir = fresh();
  writeFileSync(path.join(dir, 'broken.json'), '{not json');
  writeFileSync(path.join(dir, 'wrong.json'), JSON.stringify({ params: { speed: 'fast' } }));
  writeFileSync(path.join(dir, 'good.json'), JSON.stringify({ description: 'ok', seed: 2 }));
  const store = new PresetStore(dir);
  const list = await store.list();
  assert.deepEqual(list.map((p) => p.name), ['broken', 'good', 'wrong']);
  assert.match(list[0].error ?? '', /malformed JSON/);
  assert.equal(list[1].error, undefined);
  assert.match(list[2].error ?? '', /params\.speed/);
  await assert.rejects(store.load('broken'), /preset broken: malformed JSON/);
  await assert.rejects(store.load('missing'), /no preset named "missing"/);
});

test('the shipped presets are valid', async () => {
  const store = new PresetStore(path.resolve(import.meta.dirname, '../../presets'));
  const list = await store.list();
  assert.ok(list.length >= 3, 'ships at least 3 presets');
  for (const p of list) assert.equal(p.error, undefined, `${p.name}: ${p.error}`);
});
