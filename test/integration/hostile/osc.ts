// Hostile OSC over real UDP: random bytes, truncated and lying packets, wrong type tags, NaN and
// infinite floats, huge strings, deep and lying bundles. Every datagram is counted in /metrics
// (accepted, malformed, oversize, denied, rate_limited), invalid ones change nothing, parameters
// stay finite and in range, and the frame loop keeps running.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { waitFor, type TestServer } from '../../helpers/server.ts';
import { FUZZ_SEED, rng, snapshot, paramsInRange, counter, type Rng } from '../../helpers/fuzz.ts';

// A deliberately independent OSC encoder, so it can also write what no library would.
const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]);
const str = (s: string) => pad(Buffer.from(s, 'utf8'));
type Arg = ['i', number] | ['f', number] | ['d', number] | ['h', bigint] | ['s', string] | ['b', Buffer] | ['T' | 'F' | 'N' | 'I', null];

function encodeArg([t, v]: Arg): Buffer {
  const b = Buffer.alloc(8);
  switch (t) {
    case 'i':
      b.writeInt32BE(v | 0);
      return b.subarray(0, 4);
    case 'f':
      b.writeFloatBE(v);
      return b.subarray(0, 4);
    case 'd':
      b.writeDoubleBE(v);
      return b;
    case 'h':
      b.writeBigInt64BE(BigInt.asIntN(64, v));
      return b;
    case 's':
      return str(v);
    case 'b': {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(v.length);
      return Buffer.concat([len, v, Buffer.alloc((4 - (v.length % 4)) % 4)]);
    }
    default:
      return Buffer.alloc(0);
  }
}

function message(address: string, args: Arg[], tags = ',' + args.map((a) => a[0]).join('')): Buffer {
  return Buffer.concat([str(address), str(tags), ...args.map(encodeArg)]);
}

function bundle(elements: Buffer[], timetag: [number, number] = [0, 1]): Buffer {
  const tt = Buffer.alloc(8);
  tt.writeUInt32BE(timetag[0] >>> 0);
  tt.writeUInt32BE(timetag[1] >>> 0, 4);
  const parts = elements.map((e) => {
    const size = Buffer.alloc(4);
    size.writeUInt32BE(e.length);
    return Buffer.concat([size, e]);
  });
  return Buffer.concat([str('#bundle'), tt, ...parts]);
}

const FADERS = ['/ls/speed', '/ls/truncation', '/ls/period', '/ls/fade', '/ls/strength', '/ls/hold', '/ls/transition', '/ls/search'];
// Addresses whose every argument below is refused (a prompt takes any short text: see hostilePrompt).
const ADDRESSES = [...FADERS, '/ls/mode', '/ls/ease', '/ls/seed', '/ls/keyframes', '/ls/tempo', '/ls/preset/load'];
const badFloats = [NaN, Infinity, -Infinity, -1, 1e30, -1e30, 3.4e38];

function hostileArg(r: Rng): Arg {
  return r.pick<() => Arg>([
    () => ['f', r.pick(badFloats)],
    () => ['d', r.pick([NaN, Infinity, -1e308, 1e308])],
    () => ['i', r.pick([-1, -2147483648])],
    () => ['h', r.pick([-1n, 2n ** 63n - 1n, 2n ** 40n])],
    () => ['s', r.pick(['', 'x'.repeat(2000), '\u0000', 'NaN', 'Infinity', '-1', 'nope', '../x', 'é'.repeat(600)])],
    () => ['b', r.bytes(r.int(64))],
    () => ['N', null],
  ])();
}

function hostilePrompt(r: Rng): Buffer {
  return message('/ls/prompt', [r.pick<Arg>([['s', 'x'.repeat(1001)], ['s', 'é'.repeat(1200)], ['b', r.bytes(8)], ['N', null]])]);
}

/** A datagram that must change nothing (it may still be well-formed OSC). */
export function hostilePacket(r: Rng): Buffer {
  switch (r.int(11)) {
    case 10:
      return hostilePrompt(r);
    case 0:
      return r.bytes(1 + r.int(300));
    case 1: {
      const m = message(r.pick(ADDRESSES), [hostileArg(r)]);
      return m.subarray(0, r.int(m.length)); // truncated
    }
    case 2:
      return message(r.pick(ADDRESSES), [hostileArg(r), hostileArg(r)]);
    case 3:
      return message(r.pick(FADERS), [['f', r.pick(badFloats)]]);
    case 4:
      return message(r.pick(ADDRESSES), [['i', 1]], r.pick([',ffff', 'i', ',zq', ',b', ',[ii]', ',' + 'f'.repeat(500), ',hh'])); // tags lie about the data
    case 5:
      return message(r.pick(['', '/', 'ls/speed', '/ls/speed\u0000x', '/ls/*', '/ls/speed/extra', '/LS/SPEED', '/' + 'a'.repeat(5000), '#bundle', '/ls/{speed,fade}']), [['f', NaN]]);
    case 6: {
      let b = message(r.pick(FADERS), [['f', r.pick(badFloats)]]);
      for (let d = 0, depth = 1 + r.int(60); d < depth; d++) b = bundle([b]);
      return b;
    }
    case 7: {
      const b = bundle([message('/ls/speed', [['f', 1]])]);
      b.writeUInt32BE(r.pick([0, 3, 5, 1 << 30, 0xffffffff]), 16); // element size lies
      return b;
    }
    case 8:
      return bundle([message(r.pick(FADERS), [['f', 0.5]])], [0xffffffff, 0]); // far future
    default:
      return message('/ls/keyframes', Array.from({ length: 1 + r.int(400) }, () => hostileArg(r)));
  }
}

/** A datagram that may apply (valid address, in-range value). */
export function validPacket(r: Rng): Buffer {
  switch (r.int(4)) {
    case 0:
      return message('/ls/speed', [['f', r.next() * 4]]);
    case 1:
      return message('/ls/mode', [['s', r.pick(['drift', 'loop', 'keyframes'])]]);
    case 2:
      return message('/ls/seed', [['i', r.int(1000)]]);
    default:
      return bundle([message('/ls/truncation', [['f', r.next() * 2]]), message('/ls/strength', [['f', r.next()]])]);
  }
}

const PACKET_RESULTS = ['accepted', 'malformed', 'oversize', 'denied', 'rate_limited'];
const packetsCounted = async (url: string) => {
  let n = 0;
  for (const result of PACKET_RESULTS) n += await counter(url, 'latentstage_osc_packets_total', `result="${result}"`);
  return n;
};

export const OSC_DATAGRAMS = 3000;

/** Seeded fuzz of OSC over real UDP: every datagram counted, hostile ones change nothing. */
export async function oscFuzz(s: TestServer): Promise<Record<string, number>> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  sock.on('message', () => {}); // /ls/error replies
  try {
    await waitFor(() => s.stage.latest !== null, 20_000, 'the first frame');
    const port = s.osc!.port;
    const r = rng(FUZZ_SEED + 2);
    const send = (b: Buffer) => new Promise<void>((resolve, reject) => sock.send(b, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    const countedBefore = await packetsCounted(s.url);
    const frameBefore = s.stage.engine.frame;
    let sent = 0;
    const settle = async (what: string) => waitFor(async () => (await packetsCounted(s.url)) - countedBefore === sent, 10_000, what);

    // Phase 1: only hostile datagrams, in batches; the state must not move at all.
    const before = snapshot(s.stage);
    for (let batch = 0; batch < (OSC_DATAGRAMS * 5) / 600; batch++) {
      for (let i = 0; i < 100; i++) {
        const p = hostilePacket(r);
        await send(p.length > 65_507 ? p.subarray(0, 65_507) : p);
        sent++;
      }
      await settle(`hostile batch ${batch} (seed ${FUZZ_SEED + 2}) counted`);
    }
    await new Promise((res) => setTimeout(res, 300)); // let queued dispatches finish
    assert.equal(snapshot(s.stage), before, 'hostile OSC changed the state');
    assert.equal(paramsInRange(s.stage), null);

    // Phase 2: hostile and valid mixed; parameters stay finite and in range throughout.
    for (let batch = 0; batch < OSC_DATAGRAMS / 600; batch++) {
      for (let i = 0; i < 100; i++) {
        await send(r.next() < 0.3 ? validPacket(r) : hostilePacket(r));
        sent++;
      }
      await settle(`mixed batch ${batch} counted`);
      const bad = paramsInRange(s.stage);
      assert.equal(bad, null, `mixed batch ${batch}: ${bad}`);
    }
    const malformed = await counter(s.url, 'latentstage_osc_packets_total', 'result="malformed"');
    const accepted = await counter(s.url, 'latentstage_osc_packets_total', 'result="accepted"');
    const rejected = await counter(s.url, 'latentstage_osc_messages_total', 'result="rejected"');
    const unknown = await counter(s.url, 'latentstage_osc_messages_total', 'result="unknown"');
    await waitFor(() => s.stage.engine.frame > frameBefore + 5, 10_000, 'the frame loop running after the fuzz');
    assert.ok((await fetch(`${s.url}/health`)).ok);
    return { sent, accepted, malformed, messagesRejected: rejected, messagesUnknown: unknown };
  } finally {
    sock.close();
  }
}
