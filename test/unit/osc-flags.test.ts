import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oscFromFlags, prepareOsc } from '../../server/surfaces/osc.ts';
import { parseServeArgs } from '../../server/cli.ts';

test('OSC flags: default port 9000 (optional), 0 disables, lists and feedback targets parse', () => {
  assert.deepEqual(oscFromFlags({}), {
    port: 9000,
    optional: true,
    host: undefined,
    prefix: undefined,
    map: undefined,
    allow: undefined,
    feedback: undefined,
    query: { port: 9001, optional: true, advertise: false },
  });
  assert.equal(oscFromFlags({ oscqueryPort: 0 })!.query, null);
  assert.deepEqual(oscFromFlags({ oscqueryPort: 9100, host: '0.0.0.0' })!.query, { port: 9100, optional: false, advertise: true });
  assert.equal(oscFromFlags({ oscPort: 0 }), null);
  const o = oscFromFlags({ oscPort: 8000, oscAllow: '192.168.1.0/24, 10.0.0.5', oscFeedback: '192.168.1.20:9001' })!;
  assert.equal(o.optional, false);
  assert.deepEqual(o.allow, ['192.168.1.0/24', '10.0.0.5']);
  assert.deepEqual(o.feedback, { host: '192.168.1.20', port: 9001 });
  assert.deepEqual(oscFromFlags({ oscFeedback: '[::1]:9001' })!.feedback, { host: '::1', port: 9001 });
  assert.deepEqual(oscFromFlags({ oscFeedback: '[::1]:9001' })!.feedback, { host: '::1', port: 9001 });
  assert.throws(() => oscFromFlags({ oscFeedback: 'host:99999' }), /--osc-feedback must be HOST:PORT/);
});

test('the CLI accepts the OSC flags and rejects bad ones', () => {
  const a = parseServeArgs(['--osc-port', '9100', '--osc-host', '0.0.0.0', '--osc-allow', '10.0.0.0/8', '--osc-prefix', '/stage', '--osc-feedback', 'localhost:9001']);
  assert.equal(a['osc-port'], 9100);
  assert.equal(a['osc-prefix'], '/stage');
  assert.throws(() => parseServeArgs(['--osc-port', '70000']), /--osc-port must be <= 65535/);
  assert.throws(() => parseServeArgs(['--osc-prefix', 'ls']), /--osc-prefix must look like \/ls/);
  assert.throws(() => parseServeArgs(['--osc-feedback', 'nowhere']), /--osc-feedback must be HOST:PORT/);
});

test('bad allow entries and prefixes fail before the server starts', async () => {
  await assert.rejects(prepareOsc({ port: 0, allow: ['10.0.0.0/40'] }, '/nonexistent'), /"10\.0\.0\.0\/40"/);
  await assert.rejects(prepareOsc({ port: 0, prefix: 'ls/' }, '/nonexistent'), /bad OSC prefix "ls\/"/);
  await assert.rejects(prepareOsc({ port: 0, map: '/nonexistent/map.json' }, '/nonexistent'), /\/nonexistent\/map\.json: ENOENT/);
});
