// An OSC flood, valid packets and hostile ones, over real UDP: memory levels off. The JS heap after
// a full garbage collection stays flat (nothing the flood leaves behind is kept), and the process's
// RSS, which grows while the flood runs (V8 lets the old generation fill with collectable garbage
// before a major collection, and keeps its young generation at its largest size), stops growing
// after the first rounds instead of climbing with the packet count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startTestServer, waitFor } from '../helpers/server.ts';
import { rng, counter } from '../helpers/fuzz.ts';
import { hostilePacket, validPacket } from './hostile/osc.ts';

const ROUNDS = 8;
const PER_ROUND = 6000;

test(`an OSC flood (${ROUNDS} x ${PER_ROUND} packets, valid and hostile): the heap stays flat and RSS levels off`, { timeout: 180_000 }, async (t) => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const s = await startTestServer({ fps: 30, osc: { port: 0 } });
  const sock = dgram.createSocket('udp4');
  try {
    await waitFor(() => s.stage.latest !== null, 20_000, 'the first frame');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    sock.on('message', () => {}); // /ls/error replies
    const r = rng(22);
    const send = (b: Buffer) => new Promise<void>((res) => sock.send(b.length > 65_507 ? b.subarray(0, 65_507) : b, s.osc!.port, '127.0.0.1', () => res()));
    const sample = () => {
      gc();
      const m = process.memoryUsage();
      return { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 };
    };
    const samples = [sample()];
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < PER_ROUND; i++) {
        await send(r.next() < 0.5 ? validPacket(r) : hostilePacket(r));
        if (i % 100 === 99) await new Promise((res) => setTimeout(res, 5));
      }
      await new Promise((res) => setTimeout(res, 300));
      samples.push(sample());
    }
    const frame = s.stage.engine.frame;
    await waitFor(() => s.stage.engine.frame > frame + 10, 10_000, 'frames after the flood');
    const packets = await counter(s.url, 'latentstage_osc_packets_total');
    t.diagnostic(`${packets} packets counted; RSS ${samples.map((x) => x.rss.toFixed(0)).join(' ')} MiB; heap after GC ${samples.map((x) => x.heap.toFixed(1)).join(' ')} MiB`);
    // (UDP: a busy machine drops datagrams before the server reads them; most must arrive)
    assert.ok(packets >= (ROUNDS * PER_ROUND) / 3, `${packets} packets counted`);
    // the heap: what a round leaves behind is collected (less than 2 MiB over the last six rounds)
    assert.ok(samples.at(-1)!.heap - samples[2].heap < 2, `heap ${samples[2].heap.toFixed(1)} -> ${samples.at(-1)!.heap.toFixed(1)} MiB`);
    // RSS: the second half of the flood grows it no further than the first half did (plus noise)
    const half = Math.floor(samples.length / 2);
    const firstMax = Math.max(...samples.slice(0, half + 1).map((x) => x.rss));
    const lastMax = Math.max(...samples.slice(half + 1).map((x) => x.rss));
    assert.ok(lastMax < firstMax + 16, `RSS levels off: ${firstMax.toFixed(0)} MiB in the first half, ${lastMax.toFixed(0)} MiB in the second`);
    assert.ok(lastMax - samples[0].rss < 100, `RSS grew ${(lastMax - samples[0].rss).toFixed(0)} MiB`);
  } finally {
    sock.close();
    await s.stop();
  }
});
