import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodePacket, encodeMessage, msToTimetag, timetagToMs, OscDecodeError, MAX_PACKET } from '../../server/surfaces/osc/wire.ts';

const latin1 = (s: string) => Buffer.from(s, 'latin1');

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function bundleOf(seconds: number, fraction: number, ...elements: Uint8Array[]): Buffer {
  const head = Buffer.alloc(16);
  head.write('#bundle\0', 'latin1');
  head.writeUInt32BE(seconds, 8);
  head.writeUInt32BE(fraction, 12);
  return Buffer.concat([head, ...elements.flatMap((e) => [int32(e.byteLength), Buffer.from(e)])]);
}

describe('OSC wire format', () => {
  test('float32 arguments arrive as the decimal the sender typed (0.41, not 0.4099999964237213)', () => {
    const [m] = decodePacket(encodeMessage('/ls/speed', [{ type: 'f', value: 0.41 }, { type: 'i', value: 7 }, { type: 's', value: '0.41' }]));
    assert.deepEqual(m.args, [0.41, 7, '0.41']);
  });

  test('messages round-trip, UTF-8 strings included', () => {
    const pkt = encodeMessage('/ls/prompt', [
      { type: 's', value: 'café ☕ über' },
      { type: 'f', value: 1.5 },
      { type: 'i', value: -7 },
    ]);
    const [m] = decodePacket(pkt);
    assert.equal(m.address, '/ls/prompt');
    assert.equal(m.types, 'sfi');
    assert.deepEqual(m.args, ['café ☕ über', 1.5, -7]);
    assert.equal(m.at, 0);
  });

  test('a message inside a pooled Buffer at an offset decodes (no reads outside the packet)', () => {
    const inner = encodeMessage('/a', [{ type: 'i', value: 5 }]);
    const pool = Buffer.concat([Buffer.alloc(13, 0x41), Buffer.from(inner)]).subarray(13);
    assert.deepEqual(decodePacket(pool)[0].args, [5]);
  });

  test('timetags keep sub-second precision; "immediately" is 0', () => {
    const ms = Date.UTC(2030, 0, 1, 12, 0, 0, 300);
    const [s, f] = msToTimetag(ms);
    assert.ok(Math.abs(timetagToMs(s, f) - ms) < 0.001);
    assert.equal(timetagToMs(0, 1), 0);
  });

  test('bundles flatten in order, nested bundles are never due before their parent', () => {
    const [s, f] = msToTimetag(2_000_000_000_000);
    const [s2, f2] = msToTimetag(1_000_000_000_000);
    const inner = bundleOf(s2, f2, encodeMessage('/b'));
    const pkt = bundleOf(s, f, encodeMessage('/a', [{ type: 'f', value: 1 }]), inner, encodeMessage('/c'));
    const out = decodePacket(pkt);
    assert.deepEqual(out.map((m) => m.address), ['/a', '/b', '/c']);
    assert.ok(out.every((m) => Math.abs(m.at - 2_000_000_000_000) < 0.001));
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['empty', Buffer.alloc(0), /multiple of 4/],
    ['size not a multiple of 4', latin1('/ls/speed'), /multiple of 4/],
    ['neither message nor bundle', latin1('xyz\0'), /neither a message/],
    ['unknown type tag', latin1('/a\0\0,x\0\0'), /malformed message/],
    ['type tags without a comma', latin1('/a\0\0ff\0\0\0\0\0\0'), /must start with ","/],
    ['missing argument data', latin1('/a\0\0,f\0\0'), /malformed message/],
    ['blob longer than the packet', Buffer.concat([latin1('/a\0\0,b\0\0'), int32(0x7ffffff0)]), /malformed message/],
    ['negative blob size', Buffer.concat([latin1('/a\0\0,b\0\0'), int32(-16)]), /malformed message/],
    ['bundle without timetag', latin1('#bundle\0'), /no timetag/],
    ['bundle element size past the end', Buffer.concat([latin1('#bundle\0\0\0\0\0\0\0\0\x01'), int32(64), latin1('/a\0\0')]), /bad element size/],
    ['negative bundle element size', Buffer.concat([latin1('#bundle\0\0\0\0\0\0\0\0\x01'), int32(-4)]), /bad element size/],
    ['over 64 KiB', Buffer.alloc(MAX_PACKET + 4, 0x2f), /larger than/],
    ['address too long', Buffer.concat([latin1('/'), Buffer.alloc(515, 0x61), latin1('\0\0\0\0,\0\0\0')]), /address longer/],
  ];
  for (const [what, pkt, re] of bad) {
    test(`rejects: ${what}`, () => {
      assert.throws(() => decodePacket(pkt), (err: Error) => err instanceof OscDecodeError && re.test(err.message));
    });
  }

  test('rejects bundles nested too deep', () => {
    let pkt: Uint8Array = encodeMessage('/a');
    for (let i = 0; i < 10; i++) pkt = bundleOf(0, 1, pkt);
    assert.throws(() => decodePacket(pkt), /nested deeper/);
  });
});
