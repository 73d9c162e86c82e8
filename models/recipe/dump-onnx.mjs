#!/usr/bin/env node
// Dump an ONNX model's graph and weights so Python can rebuild it in torch without the onnx package:
//   node dump-onnx.mjs ../emoji-64/generator.onnx cache/generator
// writes cache/generator.json (nodes, inputs, outputs, initializer shapes/offsets) and
// cache/generator.bin (float32/int64 initializer data, little-endian, concatenated).
import { readFileSync, writeFileSync } from 'node:fs';
import protobuf from 'protobufjs';

const ONNX_PROTO = `
syntax = "proto2";
package onnx;
message AttributeProto {
  optional string name = 1; optional int32 type = 20; optional float f = 2; optional int64 i = 3;
  optional bytes s = 4; optional TensorProto t = 5; repeated float floats = 7; repeated int64 ints = 8;
}
message ValueInfoProto { optional string name = 1; }
message NodeProto {
  repeated string input = 1; repeated string output = 2; optional string name = 3;
  optional string op_type = 4; optional string domain = 7; repeated AttributeProto attribute = 5;
}
message ModelProto { optional int64 ir_version = 1; optional GraphProto graph = 7; }
message GraphProto {
  repeated NodeProto node = 1; optional string name = 2; repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12;
}
message TensorProto {
  repeated int64 dims = 1; optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true]; repeated int32 int32_data = 5 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8; optional bytes raw_data = 9;
}
`;
const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');
const [src, dst] = process.argv.slice(2);
const model = ModelProto.toObject(ModelProto.decode(readFileSync(src)), { longs: Number, bytes: Buffer, defaults: false });
const chunks = [];
let offset = 0;
const tensor = (t) => {
  let raw = t.raw_data;
  if (!raw || raw.length === 0) {
    if (t.data_type === 1) raw = Buffer.from(Float32Array.from(t.float_data ?? []).buffer);
    else if (t.data_type === 7) raw = Buffer.from(BigInt64Array.from((t.int64_data ?? []).map(BigInt)).buffer);
    else raw = Buffer.alloc(0);
  }
  const entry = { name: t.name, dims: t.dims ?? [], type: t.data_type, offset, bytes: raw.length };
  chunks.push(raw);
  offset += raw.length;
  return entry;
};
const g = model.graph;
const out = {
  inputs: (g.input ?? []).map((v) => v.name),
  outputs: (g.output ?? []).map((v) => v.name),
  initializers: (g.initializer ?? []).map(tensor),
  nodes: (g.node ?? []).map((n) => ({
    op: n.op_type,
    inputs: n.input ?? [],
    outputs: n.output ?? [],
    attrs: Object.fromEntries(
      (n.attribute ?? []).map((a) => [
        a.name,
        a.t ? { tensor: tensor(a.t) } : a.ints?.length ? a.ints : a.floats?.length ? a.floats : a.s?.length ? a.s.toString() : a.f ?? a.i ?? 0,
      ]),
    ),
  })),
};
writeFileSync(`${dst}.bin`, Buffer.concat(chunks));
writeFileSync(`${dst}.json`, JSON.stringify(out, null, 1));
console.log(`${out.nodes.length} nodes, ${out.initializers.length} initializers, ${offset} bytes`);
