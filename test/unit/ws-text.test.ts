// The bounded text sender over a real WebSocket connection whose client stops reading: broadcasts
// are latest-wins within the limit, replies are never replaced, and a client that never reads its
// replies is disconnected past the hard limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { TextSender, LIMIT, HARD_LIMIT } from '../../server/surfaces/ws-text.ts';
import { createMetrics } from '../../server/metrics.ts';

async function pair() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', r));
  const serverSide = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await new Promise<void>((r, j) => {
    client.once('open', r);
    client.once('error', j);
  });
  return { wss, client, server: await serverSide };
}

const tick = () => new Promise((r) => setImmediate(r));

test('a client that stops reading holds at most the newest broadcast per kind', async () => {
  const { wss, client, server } = await pair();
  const metrics = createMetrics();
  const out = new TextSender(server, metrics);
  try {
    const received: string[] = [];
    client.on('message', (d) => received.push(d.toString().slice(0, 40)));
    client.pause();
    const pad = 'x'.repeat(16 * 1024);
    let max = 0;
    for (let i = 0; i < 2000; i++) {
      out.latest('state', JSON.stringify({ type: 'state', i, pad }));
      if (i % 10 === 0) out.latest('stats', JSON.stringify({ type: 'stats', i }));
      max = Math.max(max, out.backlog);
      if (i % 50 === 0) await tick();
    }
    assert.ok(max <= LIMIT + 3 * pad.length, `backlog reached ${max} bytes`);
    assert.ok((await metrics.registry.getSingleMetricAsString('latentstage_ws_text_coalesced_total')).includes('kind="state"'));
    client.resume();
    await new Promise<void>((resolve) => {
      const check = () => (received.some((m) => m.startsWith('{"type":"state","i":1999,')) ? resolve() : setTimeout(check, 20));
      check();
    });
    const states = received.filter((m) => m.startsWith('{"type":"state"'));
    assert.ok(states.length < 2000, `${states.length} state messages delivered: older ones were replaced`);
  } finally {
    out.close();
    client.terminate();
    wss.close();
  }
});

test('a client that never reads its replies is disconnected past the hard limit', async () => {
  const { wss, client, server } = await pair();
  const metrics = createMetrics();
  const out = new TextSender(server, metrics);
  try {
    client.pause();
    const reply = 'r'.repeat(64 * 1024);
    let sent = 0;
    while (server.readyState === WebSocket.OPEN) {
      assert.ok(sent < 4096, 'never disconnected');
      out.reply(reply);
      sent++;
      if (sent % 16 === 0) await tick();
    }
    assert.ok(sent * reply.length > HARD_LIMIT, 'replies up to the hard limit were all kept');
    assert.match(await metrics.registry.getSingleMetricAsString('latentstage_ws_slow_clients_closed_total'), / 1$/m);
  } finally {
    out.close();
    client.terminate();
    wss.close();
  }
});
