// OSC 1.0 address patterns: which routes an incoming address reaches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router, compilePattern, isPattern, OscPatternError } from '../../server/surfaces/osc/router.ts';
import { oscRoutes, type OscRoute } from '../../server/surfaces/osc/table.ts';

const builtins = new Map<string, OscRoute>(oscRoutes().map((r) => [`/ls${r.path}`, r]));
const mapped = new Map<string, OscRoute>([['/1/fader1', builtins.get('/ls/speed')!], ['/1/fader2', builtins.get('/ls/fade')!], ['/2/push10', builtins.get('/ls/beat')!]]);
const router = new Router(builtins, mapped);
const hits = (address: string) => router.match(address).map((m) => m.address).sort();

test('literal addresses are looked up; unknown ones reach nothing', () => {
  assert.deepEqual(hits('/ls/speed'), ['/ls/speed']);
  assert.deepEqual(hits('/1/fader1'), ['/1/fader1']);
  assert.deepEqual(hits('/ls/nope'), []);
  assert.equal(isPattern('/ls/speed'), false);
});

test('?, *, [a-z], [!a-z] and {a,b} match within one address part', () => {
  assert.deepEqual(hits('/ls/spe?d'), ['/ls/speed']);
  assert.deepEqual(hits('/ls/s*'), ['/ls/search', '/ls/seed', '/ls/speed', '/ls/strength', '/ls/subscribe'].filter((a) => builtins.has(a)).sort());
  assert.deepEqual(hits('/1/fader[1-2]'), ['/1/fader1', '/1/fader2']);
  assert.deepEqual(hits('/1/fader[!1]'), ['/1/fader2']);
  assert.deepEqual(hits('/ls/{speed,truncation}'), ['/ls/speed', '/ls/truncation']);
  assert.deepEqual(hits('/*/fader1'), ['/1/fader1']);
  assert.deepEqual(hits('/2/push1'), [], 'a literal is not a prefix match');
  assert.deepEqual(hits('/2/push1*'), ['/2/push10']);
  assert.deepEqual(hits('/*'), [], '* never crosses a slash');
  assert.deepEqual(hits('/ls/*/x'), []);
});

test('matching follows the OSC 1.0 rules on their own', () => {
  const m = (p: string, a: string) => compilePattern(p)(a);
  assert.ok(m('/a/*', '/a/'));
  assert.ok(m('/a/b*c', '/a/bc'));
  assert.ok(m('/a/b*c', '/a/bxxc'));
  assert.ok(!m('/a/b*c', '/a/bxxd'));
  assert.ok(m('/a/[abc]x', '/a/bx'));
  assert.ok(!m('/a/[!abc]x', '/a/bx'));
  assert.ok(m('/a/{x,yy,}z', '/a/z'));
  assert.ok(m('/a/{x,yy,}z', '/a/yyz'));
  assert.ok(m(`/${'*'.repeat(200)}b`, `/${'a'.repeat(200)}b`), 'many stars still match');
  assert.ok(!m(`/${'*a'.repeat(100)}`, `/${'a'.repeat(99)}b`), 'and still fail without blowing up');
});

test('a malformed pattern is an error naming it', () => {
  assert.throws(() => router.match('/ls/[abc'), OscPatternError);
  assert.throws(() => router.match('/ls/{a,b'), /bad address pattern "\/ls\/\{a,b": "\{" without "\}"/);
  assert.throws(() => router.match('/ls/a]'), /without its opening bracket/);
});
