// The OSC surface against a real OSC peer (liblo's oscsend/oscdump) and raw UDP packets.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { pino } from 'pino';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { oscsend, oscdump, freeUdpPort, rawClient, bundle, metric, type RawClient } from '../helpers/osc.ts';
import { encodeMessage } from '../../server/surfaces/osc/wire.ts';
import { startServer } from '../../server/server.ts';
import { scaleValue } from '../../server/surfaces/osc/map.ts';
import { commandSchemas } from '../../server/commands.ts';

const MAP = {
  '/1/fader1': { param: 'speed', range: [0, 2], curve: 'exp' },
  '/3/xy': { params: ['speed', 'truncation'] },
  '/1/toggle3': { param: 'mode', value: 'loop' },
  '/t/push': { command: { type: 'keyframes', keys: [3, 4] } },
};

describe('OSC surface', () => {
  let server: TestServer;
  let port: number;
  let client: RawClient;
  let mapDir: string;
  const state = () => server.stage.state();
  const metrics = async () => (await fetch(`${server.url}/metrics`)).text();
  const errorsFor = (c: RawClient, what: string) => c.inbox.filter((m) => m.address === '/ls/error' && String(m.args[0]).includes(what));

  before(async () => {
    mapDir = mkdtempSync(path.join(tmpdir(), 'latentstage-oscmap-'));
    writeFileSync(path.join(mapDir, 'map.json'), JSON.stringify(MAP));
    server = await startTestServer({ fps: 60, osc: { port: 0, map: path.join(mapDir, 'map.json') } });
    port = server.stage.state().osc!.port;
    client = await rawClient(port);
  });
  after(async () => {
    await client?.close();
    await server?.stop();
    rmSync(mapDir, { recursive: true, force: true });
  });

  test('oscsend changes state: float speed, float seed, mode by name and index, prompt with fade', async () => {
    await oscsend(port, '/ls/speed', 'f', 0.5);
    await waitFor(() => state().params.speed === 0.5, 5000, 'speed 0.5');
    await oscsend(port, '/ls/seed', 'f', 42.0);
    await waitFor(() => state().seed === 42, 5000, 'seed 42');
    await oscsend(port, '/ls/mode', 's', 'loop');
    await waitFor(() => state().params.mode === 'loop', 5000, 'mode loop');
    await oscsend(port, '/ls/mode', 'i', 0);
    await waitFor(() => state().params.mode === 'drift', 5000, 'mode drift by index');
    await oscsend(port, '/ls/truncation', 's', '0.25'); // Max-style string number
    await waitFor(() => state().params.truncation === 0.25, 5000, 'truncation from a string');
    await oscsend(port, '/ls/prompt', 'sf', 'a red circle', 1.5);
    await waitFor(() => state().prompt.text === 'a red circle', 5000, 'prompt');
    assert.equal(state().prompt.fade, 1.5);
  });

  test('a float32 fader value reads as typed in state, presets and feedback (0.41, not 0.4099999964237213)', async () => {
    await oscsend(port, '/ls/speed', 'f', 0.41);
    await waitFor(() => state().params.speed === 0.41, 5000, 'speed 0.41');
    const api = await (await fetch(`${server.url}/api/state`)).json();
    assert.equal(JSON.stringify(api.params.speed), '0.41');
    await server.stage.dispatch({ type: 'preset.save', name: 'typed' }, 'test');
    assert.match(readFileSync(path.join(server.stage.presets.dir, 'typed.json'), 'utf8'), /"speed": 0.41,/);
    const dumpPort = await freeUdpPort();
    const dump = oscdump(dumpPort);
    try {
      await new Promise((r) => setTimeout(r, 300)); // let oscdump bind
      await oscsend(port, '/ls/subscribe', 'i', dumpPort);
      await waitFor(() => dump.lines.some((l) => l.startsWith('/ls/state/speed f 0.41')), 5000, 'feedback 0.41');
      await oscsend(port, '/ls/unsubscribe', 'i', dumpPort);
      await waitFor(() => server.stage.state().osc!.subscribers === 0, 5000, 'unsubscribed');
    } finally {
      dump.stop();
    }
  });

  test('address patterns reach every matching address (TouchOSC and Max send them)', async () => {
    await oscsend(port, '/ls/{speed,truncation}', 'f', 0.375);
    await waitFor(() => state().params.speed === 0.375 && state().params.truncation === 0.375, 5000, 'both faders from one pattern');
    await oscsend(port, '/ls/spe?d', 'f', 0.625);
    await waitFor(() => state().params.speed === 0.625, 5000, 'speed from ?');
    await oscsend(port, '/[0-9]/fader[1]', 'f', 1);
    await waitFor(() => Math.abs(state().params.speed - 2) < 1e-6, 5000, 'mapped fader from a range pattern');
    client.inbox.length = 0;
    await client.message('/ls/[speed', { type: 'f', value: 1 });
    await waitFor(() => errorsFor(client, 'bad address pattern').length > 0, 5000, 'a malformed pattern gets an error');
    await client.message('/ls/zz*', { type: 'f', value: 1 });
    await waitFor(() => errorsFor(client, '/ls/zz*: unknown address').length > 0, 5000, 'a pattern that matches nothing is unknown');
    client.inbox.length = 0;
  });

  test('oscdump receives feedback after /ls/subscribe, then only changes', async () => {
    const dumpPort = await freeUdpPort();
    const dump = oscdump(dumpPort);
    try {
      await new Promise((r) => setTimeout(r, 300)); // let oscdump bind
      await oscsend(port, '/ls/subscribe', 'i', dumpPort);
      await waitFor(() => dump.lines.some((l) => l.startsWith('/ls/state/speed f')), 5000, 'full dump');
      // the dump is many datagrams; oscdump may print them over several reads
      for (const a of ['/ls/state/mode s', '/ls/state/prompt s', '/ls/state/fps f', '/ls/state/recording i', '/ls/state/seed i']) {
        await waitFor(() => dump.lines.some((l) => l.startsWith(a)), 5000, `dump has ${a}`);
      }
      await oscsend(port, '/ls/speed', 'f', 1.25);
      await waitFor(() => dump.lines.some((l) => l.startsWith('/ls/state/speed f 1.25')), 5000, 'speed feedback');
      assert.equal(server.stage.state().osc!.subscribers, 1);
      await oscsend(port, '/ls/unsubscribe', 'i', dumpPort);
      await waitFor(() => server.stage.state().osc!.subscribers === 0, 5000, 'unsubscribed');
    } finally {
      dump.stop();
    }
  });

  test('bad input gets /ls/error back, is counted and changes nothing', async () => {
    const before = JSON.stringify(state().params) + state().seed + state().prompt.text;
    const errors0 = metric(await metrics(), 'latentstage_errors_total', { surface: 'osc' });
    await client.message('/ls/nope', { type: 'f', value: 1 });
    await client.message('/ls/speed', { type: 's', value: 'fast' });
    await client.message('/ls/speed', { type: 'f', value: 99 });
    await client.message('/ls/seed', { type: 'f', value: 4.5 });
    await client.message('/ls/mode', { type: 'i', value: 7 });
    await client.message('/ls/prompt', { type: 's', value: 'x'.repeat(1500) });
    await client.message('/ls/prompt', { type: 'f', value: 1 });
    await waitFor(() => client.inbox.filter((m) => m.address === '/ls/error').length >= 7, 5000, '7 error replies');
    assert.equal(errorsFor(client, 'unknown address').length, 1);
    assert.equal(errorsFor(client, 'speed must be a number').length, 1);
    assert.equal(errorsFor(client, 'speed must be between').length, 1);
    assert.equal(errorsFor(client, 'seed must be an integer').length, 1);
    assert.equal(errorsFor(client, 'mode index').length, 1);
    assert.equal(errorsFor(client, 'at most 1000 characters').length, 1);
    assert.equal(errorsFor(client, 'prompt text must be a string').length, 1);
    assert.equal(JSON.stringify(state().params) + state().seed + state().prompt.text, before);
    assert.ok(metric(await metrics(), 'latentstage_errors_total', { surface: 'osc' }) >= errors0 + 7);
    client.inbox.length = 0;
  });

  test('fuzz: thousands of random and truncated packets never crash or change state', async () => {
    const before = JSON.stringify(state().params) + state().seed + state().prompt.text;
    const valid = [
      encodeMessage('/ls/speed', [{ type: 'f', value: 0.75 }]),
      encodeMessage('/ls/prompt', [{ type: 's', value: 'a blue square' }, { type: 'f', value: 2 }]),
      encodeMessage('/ls/keyframes', [{ type: 'i', value: 5 }, { type: 'f', value: 6 }]),
    ];
    const nasty = [
      Buffer.from('#bundle\0\0\0\0\0\0\0\0\x01\xff\xff\xff\xfc', 'latin1'), // negative element size
      Buffer.from('#bundle\0\0\0\0\0\0\0\0\x01\0\0\x10\0/ls/', 'latin1'), // size past the end
      Buffer.concat(Array.from({ length: 20 }, () => Buffer.from('#bundle\0\0\0\0\0\0\0\0\x01\0\0\0\x40', 'latin1'))), // deep nesting
      Buffer.from('/ls/speed\0\0\0,x\0\0\0\0\0\0', 'latin1'), // unknown type tag
      Buffer.from('/ls/speed\0\0\0,b\0\0\x7f\xff\xff\xff', 'latin1'), // blob longer than the packet
      Buffer.from('/ls/speed\0\0\0,b\0\0\xff\xff\xff\xf0', 'latin1'), // negative blob size
      Buffer.from('/ls/speed\0\0\0xf\0\0\0\0\0\0', 'latin1'), // type tags without ","
      Buffer.alloc(0),
      Buffer.alloc(60000, 0x2f),
    ];
    let sent = 0;
    for (let i = 0; i < 3000; i++) {
      let pkt: Uint8Array;
      const r = i % 4;
      if (r === 0) pkt = randomBytes(1 + ((i * 7919) % 200));
      else if (r === 1) {
        const v = valid[i % valid.length];
        pkt = v.subarray(0, (i * 31) % v.byteLength); // truncated
      } else if (r === 2) pkt = nasty[i % nasty.length];
      else pkt = Buffer.concat([Buffer.from('/', 'latin1'), randomBytes(4 * (1 + (i % 30)) - 1)]);
      await client.send(pkt);
      sent++;
      if (i % 100 === 0) await new Promise((res) => setTimeout(res, 5)); // let the kernel buffer drain
    }
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    await waitFor(async () => metric(await metrics(), 'latentstage_osc_packets_total', { result: 'malformed' }) > 500, 10000, 'malformed packets counted');
    assert.equal(JSON.stringify(state().params) + state().seed + state().prompt.text, before, 'fuzz changed nothing');
    await oscsend(port, '/ls/speed', 'f', 0.625);
    await waitFor(() => state().params.speed === 0.625, 5000, 'a valid message still applies');
    assert.ok(sent > 2000);
    client.inbox.length = 0;
  });

  test('a bundle with a future timetag applies at its time, not before; "immediately" applies now', async () => {
    const due = Date.now() + 300;
    let appliedAt = 0;
    const onState = (s: { seed: number }) => {
      if (s.seed === 1234 && !appliedAt) appliedAt = Date.now();
    };
    server.stage.on('state', onState);
    try {
      await client.send(bundle(due, ['/ls/seed', { type: 'i', value: 1234 }]));
      await waitFor(() => appliedAt > 0, 5000, 'bundle applied');
      assert.ok(appliedAt >= due - 2, `applied ${due - appliedAt} ms early`);
      await client.send(bundle(1, ['/ls/seed', { type: 'i', value: 77 }], ['/ls/truncation', { type: 'f', value: 0.5 }]));
      await waitFor(() => state().seed === 77 && state().params.truncation === 0.5, 5000, 'immediate bundle');
    } finally {
      server.stage.off('state', onState);
    }
  });

  test('a fader flood is coalesced and the newest value wins', async () => {
    const m0 = metric(await metrics(), 'latentstage_osc_messages_total', { result: 'coalesced' });
    const packets = Array.from({ length: 300 }, (_, i) => encodeMessage('/ls/truncation', [{ type: 'f', value: 0.001 * (i + 1) }]));
    await Promise.all(packets.map((p) => client.send(p)));
    await waitFor(() => Math.abs(state().params.truncation - 0.3) < 1e-6, 5000, 'newest truncation');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(Math.abs(state().params.truncation - 0.3) < 1e-6, 'an older value never lands after the newest');
    assert.ok(metric(await metrics(), 'latentstage_osc_messages_total', { result: 'coalesced' }) > m0);
  });

  test('triggers fire once per rising edge (1.0 then 0.0 is one press; a bare message fires)', async () => {
    let fired = 0;
    const onCommand = (cmd: { type: string }, surface: string) => {
      if (surface === 'osc' && cmd.type === 'keyframes') fired++;
    };
    server.stage.on('command', onCommand);
    try {
      for (const v of [1, 0, 1, 1, 0, 0]) await client.message('/t/push', { type: 'f', value: v });
      await client.message('/t/push');
      await waitFor(() => fired >= 3, 5000, 'three presses');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(fired, 3);
      // /ls/beat: dispatched on each rising edge whether or not the stage knows "beat" yet.
      const beats = { n: 0 };
      const onBeat = (cmd: { type: string }) => {
        if (cmd.type === 'beat') beats.n++;
      };
      server.stage.on('command', onBeat);
      client.inbox.length = 0;
      for (const v of [1, 0, 1, 0]) await client.message('/ls/beat', { type: 'f', value: v });
      const known = Object.hasOwn(commandSchemas, 'beat');
      await waitFor(() => (known ? beats.n : errorsFor(client, '/ls/beat').length) >= 2, 5000, 'two beats');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(known ? beats.n : errorsFor(client, '/ls/beat').length, 2);
      server.stage.off('command', onBeat);
    } finally {
      server.stage.off('command', onCommand);
    }
  });

  test('the mapping file maps ranges, curves, xy pads and buttons, and faders follow', async () => {
    await client.message('/1/fader1', { type: 'f', value: 0.5 });
    const expected = scaleValue({ param: 'speed', in: [0, 1], range: [0, 2], curve: 'exp', offset: 0 }, 0.5);
    await waitFor(() => Math.abs(state().params.speed - expected) < 1e-6, 5000, 'mapped exp fader');
    assert.ok(expected < 0.5, 'exp curve gives fine control at the low end');
    await client.message('/3/xy', { type: 'f', value: 0.25 }, { type: 'f', value: 0.5 });
    await waitFor(() => state().params.speed === 1 && state().params.truncation === 1, 5000, 'xy pad');
    await client.message('/1/toggle3', { type: 'f', value: 1 });
    await waitFor(() => state().params.mode === 'loop', 5000, 'mode button');
    client.inbox.length = 0;
    await client.message('/ls/subscribe');
    await waitFor(() => client.inbox.some((m) => m.address === '/1/fader1'), 5000, 'mapped feedback');
    const fader = client.inbox.find((m) => m.address === '/1/fader1')!;
    assert.ok(Math.abs((fader.args[0] as number) - 0.5) > 0.01, 'speed 1 is not fader position 0.5');
    assert.equal(client.inbox.find((m) => m.address === '/1/toggle3')!.args[0], 1);
    await client.message('/ls/unsubscribe');
  });

  test('a per-source rate limit drops the excess and counts it', async () => {
    const limited = await startTestServer({ fps: 10, osc: { port: 0, rate: 5, burst: 5 } });
    const c = await rawClient(limited.stage.state().osc!.port);
    try {
      for (let i = 0; i < 50; i++) await c.message('/ls/hold', { type: 'f', value: 3 });
      await waitFor(
        async () => metric(await (await fetch(`${limited.url}/metrics`)).text(), 'latentstage_osc_packets_total', { result: 'rate_limited' }) >= 30,
        5000,
        'rate limited',
      );
    } finally {
      await c.close();
      await limited.stop();
    }
  });

  test('when the (default) OSC port is taken, an optional OSC warns and the server runs without it', async () => {
    const blocker = dgram.createSocket('udp4');
    await new Promise<void>((r) => blocker.bind(0, '127.0.0.1', r));
    const taken = blocker.address().port;
    let other: TestServer | null = null;
    try {
      other = await startTestServer({ fps: 10, osc: { port: taken, optional: true } });
      assert.equal(other.stage.state().osc, undefined);
      assert.equal((await fetch(`${other.url}/health`)).status, 200);
    } finally {
      await other?.stop();
      blocker.close();
    }
  });

  test('a bad mapping file stops the server from starting, naming the entry', async () => {
    const bad = path.join(mapDir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ '/ok': { param: 'speed' }, '/1/fader9': { param: 'sped', range: [0, 1] } }));
    // The map is checked before the model loads, so a missing model is never reached.
    await assert.rejects(
      startServer({ model: path.join(mapDir, 'no-model'), port: 0, logger: pino({ level: 'silent' }), osc: { port: 0, map: bad } }),
      (err: Error) => err.message.includes('"/1/fader9"') && err.message.includes('param must be one of'),
    );
  });
});
