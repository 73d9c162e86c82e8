// OSCQuery: the tree, HOST_INFO and LISTEN, read by a real OSCQuery client (the oscquery
// package's DiscoveredService) and a plain websocket; values changed over real OSC (UDP).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Bonjour from 'bonjour-service';
import { DiscoveredService } from 'oscquery';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { rawClient, type RawClient } from '../helpers/osc.ts';
import { oscRoutes } from '../../server/surfaces/osc/table.ts';
import { numericParams, numericParamNames, enumParams } from '../../server/params.ts';
import { decodePacket } from '../../server/surfaces/osc/wire.ts';

async function get(port: number, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

describe('OSCQuery', () => {
  let server: TestServer;
  let qport: number;
  let oscPort: number;
  let client: RawClient;

  before(async () => {
    server = await startTestServer({ fps: 30, osc: { port: 0, query: { port: 0, advertise: false } } });
    qport = server.oscQuery!.port;
    oscPort = (server.stage.state().osc as { port: number }).port;
    client = await rawClient(oscPort);
  });
  after(async () => {
    await client?.close();
    await server?.stop();
  });

  test('the tree lists every accepted OSC address with type, range, value and description', async () => {
    const { status, body: root } = await get(qport, '/');
    assert.equal(status, 200);
    const state = server.stage.state();
    for (const r of oscRoutes()) {
      const parts = `/ls${r.path}`.split('/').filter(Boolean);
      let node = root;
      for (const p of parts) node = node?.CONTENTS?.[p];
      assert.ok(node, `/ls${r.path} is in the tree`);
      assert.equal(node.FULL_PATH, `/ls${r.path}`);
      assert.equal(typeof node.TYPE, 'string', `${r.path} has a TYPE`);
      assert.match(node.TYPE, /^[ifs]+$/);
      assert.equal(node.DESCRIPTION, r.doc);
    }
    for (const name of numericParamNames) {
      const node = root.CONTENTS.ls.CONTENTS[name];
      assert.equal(node.TYPE, 'f');
      assert.deepEqual(node.RANGE, [{ MIN: numericParams[name].min, MAX: numericParams[name].max }]);
      assert.deepEqual(node.VALUE, [state.params[name]]);
      assert.equal(node.ACCESS, 3);
    }
    assert.deepEqual(root.CONTENTS.ls.CONTENTS.mode.RANGE, [{ VALS: [...enumParams.mode.values] }]);
    assert.deepEqual(root.CONTENTS.ls.CONTENTS.seed.VALUE, [state.seed]);
    assert.equal(root.CONTENTS.ls.CONTENTS.preset.CONTENTS.load.TYPE, 's');
    assert.equal(root.CONTENTS.ls.CONTENTS.mod.CONTENTS.input.TYPE, 'sf');

    // attribute queries, sub-trees, errors
    assert.deepEqual((await get(qport, '/ls/truncation?VALUE')).body, { VALUE: [state.params.truncation] });
    assert.deepEqual((await get(qport, '/ls/speed?RANGE')).body, { RANGE: [{ MIN: 0, MAX: 4 }] });
    assert.equal((await get(qport, '/ls/preset')).body.CONTENTS.save.FULL_PATH, '/ls/preset/save');
    assert.equal((await get(qport, '/ls/beat?VALUE')).status, 204, 'write-only addresses have no value');
    assert.equal((await get(qport, '/ls/nothing')).status, 404);
    assert.equal((await get(qport, '/ls/speed?BOGUS')).status, 400);
    assert.equal((await fetch(`http://127.0.0.1:${qport}/`, { method: 'POST' })).status, 405);

    const info = (await get(qport, '/?HOST_INFO')).body;
    assert.equal(info.OSC_PORT, oscPort);
    assert.equal(info.OSC_TRANSPORT, 'UDP');
    assert.equal(info.OSC_IP, '127.0.0.1');
    assert.equal(info.EXTENSIONS.LISTEN, true);
    assert.equal(info.EXTENSIONS.VALUE, true);
  });

  test('an independent OSCQuery client reads the tree', async () => {
    const svc = new DiscoveredService('127.0.0.1', qport);
    await svc.update();
    assert.equal(svc.hostInfo.oscPort, oscPort);
    const methods = new Map(svc.flat().map((m) => [m.full_path, m]));
    for (const r of oscRoutes()) assert.ok(methods.has(`/ls${r.path}`), `client sees /ls${r.path}`);
    const speed = methods.get('/ls/speed')!;
    assert.deepEqual(speed.arguments?.[0].range, { min: 0, max: 4, vals: undefined });
    assert.equal(speed.arguments?.[0].type, 'f');
  });

  test('a value changed over OSC is pushed to a LISTENing websocket client', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${qport}/`);
    const got: { address: string; args: unknown[] }[] = [];
    ws.on('message', (data, isBinary) => {
      if (isBinary) for (const m of decodePacket(new Uint8Array(data as Buffer))) got.push({ address: m.address, args: m.args });
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    try {
      ws.send(JSON.stringify({ COMMAND: 'LISTEN', DATA: '/ls/speed' }));
      ws.send(JSON.stringify({ COMMAND: 'LISTEN', DATA: '/ls/mode' }));
      // the current values come first
      await waitFor(() => got.some((m) => m.address === '/ls/speed'), 5000, 'the current speed');
      await client.message('/ls/speed', { type: 'f', value: 1.5 });
      await waitFor(() => got.some((m) => m.address === '/ls/speed' && Math.abs(Number(m.args[0]) - 1.5) < 1e-6), 5000, 'speed 1.5 pushed');
      await client.message('/ls/mode', { type: 's', value: 'loop' });
      await waitFor(() => got.some((m) => m.address === '/ls/mode' && m.args[0] === 'loop'), 5000, 'mode loop pushed');
      // after IGNORE, no more speed updates
      ws.send(JSON.stringify({ COMMAND: 'IGNORE', DATA: '/ls/speed' }));
      await new Promise((r) => setTimeout(r, 100));
      const before = got.filter((m) => m.address === '/ls/speed').length;
      await client.message('/ls/speed', { type: 'f', value: 0.5 });
      await waitFor(() => server.stage.state().params.speed === 0.5, 5000, 'speed 0.5 applied');
      await client.message('/ls/mode', { type: 's', value: 'drift' });
      await waitFor(() => got.some((m) => m.address === '/ls/mode' && m.args[0] === 'drift'), 5000, 'mode drift pushed');
      assert.equal(got.filter((m) => m.address === '/ls/speed').length, before);
    } finally {
      ws.close();
    }
  });

  test('modulation routes and inputs arrive over OSC like any command', async () => {
    await client.message('/ls/mod/set', { type: 's', value: JSON.stringify({ target: 'truncation', source: 'osc:fader3', depth: 0.5 }) });
    await client.message('/ls/mod/input', { type: 's', value: 'fader3' }, { type: 'f', value: 1 });
    await waitFor(() => (server.stage.engine.mod.inputs['osc:fader3'] ?? 0) === 1, 5000, 'the OSC input');
    assert.equal(server.stage.engine.mod.routes[0].source, 'osc:fader3');
    assert.equal(server.stage.engine.mod.hold['osc:fader3'], undefined, 'the default hold (3 s)');
    // a controller that sends only on change holds its value longer
    await client.message('/ls/mod/input', { type: 's', value: 'fader3' }, { type: 'f', value: 0.5 }, { type: 'f', value: 600 });
    await waitFor(() => server.stage.engine.mod.hold['osc:fader3'] === 600, 5000, 'the hold sent with the value');
    assert.equal(server.stage.engine.mod.inputs['osc:fader3'], 0.5);
    await client.message('/ls/mod/clear');
    await waitFor(() => server.stage.engine.mod.routes.length === 0, 5000, 'routes cleared');
  });
});

/** True when this machine can see its own multicast DNS announcements. */
async function multicastWorks(): Promise<boolean> {
  const a = new Bonjour.Bonjour({}, () => {});
  const b = new Bonjour.Bonjour({}, () => {});
  const name = `latentstage-probe-${process.pid}`;
  try {
    a.publish({ name, type: 'latentstage-probe', port: 9, protocol: 'tcp' }).on('error', () => {});
    return await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 4000);
      b.find({ type: 'latentstage-probe' }, (s) => {
        if (s.name === name) {
          clearTimeout(t);
          resolve(true);
        }
      });
    });
  } finally {
    await new Promise<void>((r) => a.unpublishAll(() => r()));
    a.destroy();
    b.destroy();
  }
}

describe('OSCQuery over mDNS', async () => {
  const multicast = await multicastWorks();
  test('the service is advertised as _oscjson._tcp and its tree is readable', { skip: !multicast && 'multicast DNS is not available on this machine' }, async () => {
    const server = await startTestServer({ fps: 10, osc: { port: 0, query: { port: 0, advertise: true } } });
    const browser = new Bonjour.Bonjour({}, () => {});
    try {
      const qport = server.oscQuery!.port;
      const found = await new Promise<{ name: string; port: number } | null>((resolve) => {
        const t = setTimeout(() => resolve(null), 15_000);
        browser.find({ type: 'oscjson' }, (s) => {
          if (s.port === qport) {
            clearTimeout(t);
            resolve(s);
          }
        });
      });
      assert.ok(found, 'an _oscjson._tcp service with the OSCQuery port was announced');
      assert.match(found.name, /^latentstage/);
      // The server is bound to loopback here, so the client reads it there.
      const svc = new DiscoveredService('127.0.0.1', found.port);
      await svc.update();
      assert.ok(svc.flat().some((m) => m.full_path === '/ls/speed'));
    } finally {
      browser.destroy();
      await server.stop();
    }
  });
});

describe('OSCQuery with a controller mapping', () => {
  let server: TestServer;
  let qport: number;
  let client: RawClient;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'latentstage-oscq-map-'));
    const map = path.join(dir, 'osc-map.json');
    writeFileSync(
      map,
      JSON.stringify({
        '/1/fader1': { param: 'speed', range: [0, 2], curve: 'exp' },
        '/1/toggle2': { param: 'mode', value: 'loop' },
        '/2/push1': { command: { type: 'seed', seed: 7 } },
        '/3/xy': { params: ['speed', { param: 'truncation', range: [0, 1.5] }] },
        '/2/push2': { alias: '/beat', args: [1] },
      }),
    );
    server = await startTestServer({ fps: 30, osc: { port: 0, map, query: { port: 0, advertise: false } } });
    qport = server.oscQuery!.port;
    client = await rawClient((server.stage.state().osc as { port: number }).port);
  });
  after(async () => {
    await client?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('controller addresses that work over OSC are listed, with what they move, and their values follow', async () => {
    const { body: root } = await get(qport, '/');
    const fader = root.CONTENTS['1']?.CONTENTS?.fader1;
    assert.ok(fader, '/1/fader1 is in the tree');
    assert.equal(fader.FULL_PATH, '/1/fader1');
    assert.equal(fader.TYPE, 'f');
    assert.equal(fader.ACCESS, 3);
    assert.deepEqual(fader.RANGE, [{ MIN: 0, MAX: 1 }]);
    assert.match(fader.DESCRIPTION, /speed/);
    assert.equal(root.CONTENTS['3'].CONTENTS.xy.TYPE, 'ff');
    assert.match(root.CONTENTS['1'].CONTENTS.toggle2.DESCRIPTION, /mode.*loop/);
    assert.match(root.CONTENTS['2'].CONTENTS.push1.DESCRIPTION, /seed/);
    assert.match(root.CONTENTS['2'].CONTENTS.push2.DESCRIPTION, /\/ls\/beat/);
    assert.deepEqual((await get(qport, '/1/toggle2?VALUE')).body, { VALUE: [0] });

    await client.message('/1/fader1', { type: 'f', value: 1 });
    await waitFor(() => server.stage.state().params.speed === 2, 5000, 'speed from the mapped fader');
    const v = (await get(qport, '/1/fader1?VALUE')).body.VALUE[0];
    assert.ok(Math.abs(v - 1) < 1e-9, `the fader's value follows: ${v}`);
  });
});
