// The torch runtime's wire format: messages come back whole however the pipe splits them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessage, f32, WireReader, type WireMessage } from '../../server/runtime/torch-wire.ts';

test('messages split at every byte boundary, or run together, read back whole', () => {
  const a = new Float32Array([1.5, -2, 3.25]);
  const rgb = new Uint8Array([0, 127, 255, 9]);
  const one = encodeMessage({ id: 1, op: 'frame' }, [rgb, a]);
  const two = encodeMessage({ id: 2, event: 'info' });
  const three = encodeMessage({ id: 3 }, [new Uint8Array(0), a]);
  const stream = Buffer.concat([one, two, three]);
  for (let cut = 1; cut < stream.length; cut++) {
    const got: WireMessage[] = [];
    const r = new WireReader((m) => got.push(m));
    // split into pieces of `cut` bytes
    for (let i = 0; i < stream.length; i += cut) r.push(stream.subarray(i, i + cut));
    assert.equal(got.length, 3, `pieces of ${cut}`);
    assert.deepEqual(got.map((m) => m.header.id), [1, 2, 3]);
    assert.deepEqual([...got[0]!.parts[0]!], [...rgb]);
    assert.deepEqual([...f32(got[0]!.parts[1]!)], [...a]);
    assert.equal(got[1]!.parts.length, 0);
    assert.equal(got[2]!.parts[0]!.length, 0);
    assert.deepEqual([...f32(got[2]!.parts[1]!)], [...a]);
  }
});

test('a part is a buffer of its own, aligned for typed arrays', () => {
  const got: WireMessage[] = [];
  const r = new WireReader((m) => got.push(m));
  r.push(encodeMessage({ id: 1 }, [new Uint8Array(3), new Float32Array([7])]));
  const p = got[0]!.parts[1]!;
  assert.equal(p.byteOffset, 0);
  assert.equal(p.buffer.byteLength, 4);
});

test('a broken stream is an error, not a hang', () => {
  const r = new WireReader(() => {});
  const bad = Buffer.alloc(8);
  bad.writeUInt32LE(0xffffffff, 0);
  assert.throws(() => r.push(bad), /broken reply stream/);
});
