// A start that fails part-way leaves nothing running: with the HTTP port taken (after the model,
// the runtime worker, the features, the OSC socket and OSCQuery are up), startServer rejects and
// has closed every one of them: no worker thread, no socket, no server is left in this process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { startTestServer, waitFor } from '../helpers/server.ts';

/** OS threads of this process (the runtime worker and its inference threads count here). */
const threads = () => Number(/^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
const resources = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length;

test('port taken: startServer rejects and no worker thread, socket or server is left alive', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as AddressInfo).port;
  try {
    // The baseline counts what a process keeps once a server has run (the libuv thread pool and
    // other threads started on first use): one full start and close first.
    await readFile(import.meta.filename);
    await (await startTestServer({ osc: { port: 0, query: { port: 0, advertise: false } } })).stop();
    const before = { threads: threads(), udp: resources('UDPWrap'), tcp: resources('TCPServerWrap') };
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, threads())), 5);
    await assert.rejects(startTestServer({ port, osc: { port: 0, query: { port: 0, advertise: false } } }), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    clearInterval(sample);
    assert.ok(peak > before.threads, `the runtime worker ran in a thread of its own (peak ${peak}, before ${before.threads})`);
    await waitFor(() => threads() <= before.threads, 10_000, `threads back to ${before.threads} (now ${threads()})`);
    assert.equal(resources('UDPWrap'), before.udp, 'the OSC socket is closed');
    assert.equal(resources('TCPServerWrap'), before.tcp, 'OSCQuery and the HTTP server are closed');
  } finally {
    blocker.close();
  }
});
