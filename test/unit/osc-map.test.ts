import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseOscMap, loadOscMap, scaleValue, unscaleValue, OscMapError } from '../../server/surfaces/osc/map.ts';
import { oscRoutes, oscTableMarkdown } from '../../server/surfaces/osc/table.ts';
import { toInt, toNumber, toChoice, toLevel } from '../../server/surfaces/osc/args.ts';
import { numericParamNames } from '../../server/params.ts';
import { ROOT } from '../../server/server.ts';

const builtins = new Map(oscRoutes().map((r) => [`/ls${r.path}`, r]));
const parse = (json: unknown) => parseOscMap(json, builtins, '/ls', 'map.json');
const fakeState = (params: Record<string, unknown>) => ({ params }) as never;

describe('OSC argument coercion', () => {
  test('controllers send floats, ints and strings', () => {
    assert.equal(toInt(42.0, 'seed'), 42);
    assert.equal(toInt(Math.fround(41.99999), 'seed'), 42);
    assert.equal(toInt(4.5, 'seed'), 4.5, 'left for the schema to reject');
    assert.equal(toNumber('0.5', 'speed'), 0.5);
    assert.equal(toNumber(7n, 'seed'), 7);
    assert.throws(() => toNumber('fast', 'speed'), /speed must be a number, got "fast"/);
    assert.throws(() => toNumber(undefined, 'speed'), /got nothing/);
    assert.equal(toChoice('loop', ['drift', 'loop'], 'mode'), 'loop');
    assert.equal(toChoice(1.0, ['drift', 'loop'], 'mode'), 'loop');
    assert.equal(toChoice('1', ['drift', 'loop'], 'mode'), 'loop');
    assert.throws(() => toChoice(5, ['drift', 'loop'], 'mode'), /mode index must be 0-1/);
    assert.throws(() => toChoice('spin', ['drift', 'loop'], 'mode'), /mode must be one of drift, loop/);
    assert.deepEqual([1, 0.6, 0.4, 0, true, false, null, 'on', '0'].map((v) => toLevel(v as never)), [true, true, false, false, true, false, false, true, false]);
  });

  test('the address table covers every parameter and generates its docs', () => {
    for (const name of [...numericParamNames, 'mode', 'ease']) assert.ok(builtins.has(`/ls/${name}`), name);
    assert.deepEqual(builtins.get('/ls/seed')!.toCommand([42.0]), { type: 'seed', seed: 42 });
    assert.deepEqual(builtins.get('/ls/prompt')!.toCommand(['a cat', 2]), { type: 'prompt', text: 'a cat', fade: 2 });
    assert.deepEqual(builtins.get('/ls/record')!.toCommand([0]), { type: 'record.stop' });
    assert.deepEqual(builtins.get('/ls/keyframes')!.toCommand([1, 2.0, '3']), { type: 'keyframes', keys: [1, 2, 3] });
    const md = oscTableMarkdown();
    assert.match(md, /\| `\/ls\/speed` \| `f` \| `set speed` \|/);
    assert.match(md, /\| `\/ls\/mode` \| `s\\\|i` \|/);
  });
});

describe('OSC mapping files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'latentstage-oscmap-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('scaling: ranges, curves, offsets, and their inverse for feedback', () => {
    const lin = { param: 'speed' as const, in: [0, 127] as [number, number], range: [0, 2] as [number, number], curve: 'linear' as const, offset: 0 };
    assert.equal(scaleValue(lin, 63.5), 1);
    assert.equal(scaleValue(lin, 500), 2, 'clamped to the input range');
    for (const curve of ['linear', 'exp', 'log', 2] as const) {
      const s = { ...lin, in: [0, 1] as [number, number], curve, offset: 0.5 };
      for (const x of [0, 0.1, 0.5, 0.9, 1]) assert.ok(Math.abs(unscaleValue(s, scaleValue(s, x)) - x) < 1e-9, `${curve} ${x}`);
    }
    const exp = { ...lin, in: [0, 1] as [number, number], curve: 'exp' as const };
    assert.ok(scaleValue(exp, 0.5) < 0.5, 'exp is fine at the low end');
    assert.equal(scaleValue(exp, 0), 0);
    assert.ok(Math.abs(scaleValue(exp, 1) - 2) < 1e-12);
  });

  test('entries compile into routes', () => {
    const map = parse({
      description: 'test',
      '/1/fader1': { param: 'speed', range: [0, 2], curve: 'exp', offset: 0 },
      '/1/toggle2': { param: 'mode', value: 'loop' },
      '/1/toggle3': { param: 'mode', value: 2 },
      '/3/xy': { params: ['speed', { param: 'truncation', range: [0, 1] }] },
      '/2/push1': { command: { type: 'seed', seed: 7 } },
      '/2/push2': { alias: '/seed', args: [9] },
      '/1/toggle1': { alias: '/record' },
    });
    const r = (a: string) => map.routes.get(a)!;
    assert.equal(r('/1/fader1').kind, 'fader');
    assert.deepEqual(r('/1/toggle2').toCommand([1]), { type: 'set', mode: 'loop' });
    assert.deepEqual(r('/1/toggle3').toCommand([1]), { type: 'set', mode: 'keyframes' });
    assert.equal(r('/1/toggle2').edge, 'rise');
    assert.deepEqual(r('/3/xy').toCommand([0.25, 0.5]), { type: 'set', speed: 1, truncation: 0.5 });
    assert.deepEqual(r('/2/push1').toCommand([1]), { type: 'seed', seed: 7 });
    assert.deepEqual(r('/2/push2').toCommand([1]), { type: 'seed', seed: 9 });
    assert.equal(r('/2/push2').edge, 'rise');
    assert.equal(r('/1/toggle1').edge, 'change');
    const fb = new Map(map.feedback(fakeState({ speed: 2, truncation: 0.25, mode: 'loop' })));
    assert.ok(Math.abs((fb.get('/1/fader1')![0].value as number) - 1) < 1e-9);
    assert.equal(fb.get('/1/toggle2')![0].value, 1);
    assert.equal(fb.get('/1/toggle3')![0].value, 0);
    assert.deepEqual(fb.get('/3/xy')!.map((a) => a.value), [0.5, 0.25]);
  });

  test('the shipped TouchOSC map is valid', async () => {
    const map = await loadOscMap(path.join(ROOT, 'presets', 'osc-map.json'), builtins, '/ls');
    assert.ok(map.routes.has('/1/fader1') && map.routes.has('/3/xy') && map.routes.has('/2/push16'));
  });

  const bad: [string, unknown, RegExp][] = [
    ['unknown param', { '/f': { param: 'sped' } }, /"\/f": param: param must be one of speed/],
    ['range outside the parameter', { '/f': { param: 'speed', range: [0, 9] } }, /"\/f": speed range \[0,9\] leaves 0\.\.4/],
    ['offset pushes outside', { '/f': { param: 'strength', offset: 0.5 } }, /"\/f": strength range .* offset 0\.5/],
    ['bad curve', { '/f': { param: 'speed', curve: 'wobbly' } }, /"\/f": curve: curve must be linear, exp, log/],
    ['range not a pair', { '/f': { param: 'speed', range: [1] } }, /"\/f": range: /],
    ['equal range ends', { '/f': { param: 'speed', in: [1, 1] } }, /"\/f": in: low and high must differ/],
    ['unknown key', { '/f': { param: 'speed', rnage: [0, 1] } }, /"\/f": .*rnage/],
    ['bad enum value', { '/b': { param: 'mode', value: 'spin' } }, /"\/b": mode must be one of drift, loop, keyframes/],
    ['numeric value out of range', { '/b': { param: 'speed', value: 99 } }, /"\/b": set: speed: speed must be between 0 and 4/],
    ['unknown command', { '/c': { command: { type: 'explode' } } }, /"\/c": unknown command "explode"/],
    ['invalid command', { '/c': { command: { type: 'seed', seed: -1 } } }, /"\/c": seed: seed: seed must be >= 0/],
    ['unknown alias', { '/a': { alias: '/nope' } }, /"\/a": alias "\/nope" is not a built-in address/],
    ['alias with bad fixed args', { '/a': { alias: '/seed', args: ['x'] } }, /"\/a": seed must be a number/],
    ['no kind', { '/x': { foo: 1 } }, /"\/x": an entry needs one of "param", "params", "command" or "alias"/],
    ['not an object', { '/x': 5 }, /"\/x": an entry must be an object/],
    ['bad address', { 'fader1': { param: 'speed' } }, /"fader1": addresses must start with "\/"/],
    ['built-in address', { '/ls/speed': { param: 'speed' } }, /"\/ls\/speed": is a built-in address/],
    ['not an object map', [1, 2], /must be a JSON object/],
  ];
  for (const [what, json, re] of bad) {
    test(`rejects ${what}, naming the entry`, () => {
      assert.throws(() => parse(json), (err: Error) => err instanceof OscMapError && err.message.startsWith('map.json') && re.test(err.message));
    });
  }

  test('a file that is not JSON names the file', async () => {
    const f = path.join(dir, 'broken.json');
    writeFileSync(f, '{"/1/fader1": {');
    await assert.rejects(loadOscMap(f, builtins, '/ls'), (err: Error) => err.message.startsWith(f));
  });
});
