// How a frame crosses from the torch runtime's Python child to Node: the pipe the runtime uses
// (torch-wire.ts: the child os.write()s the array, Node copies the pipe's chunks into one buffer)
// against shared memory (the child writes into an mmap'd file in /dev/shm, Node pread()s it into a
// fresh buffer; a one-byte pipe message says when). Round trips of 8-bit RGB frames at 512 and
// 1024 px, request -> frame in a Node buffer, no model: only the transport is measured.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import { findPython, pythonEnv } from '../../server/model/python.ts';
import { encodeMessage, WireReader, type WireMessage } from '../../server/runtime/torch-wire.ts';
import { percentile, round } from './util.ts';

// The child: answers each request with a frame of `size` px over the pipe, or in shared memory.
const CHILD = `
import mmap, os, sys, numpy as np
from latentstage.serve import read_message, Writer
mode, size, shm = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n = size * size * 3
frame = (np.arange(n) % 251).astype(np.uint8)
out = Writer(4)
if mode == "shm":
    fd = os.open(shm, os.O_RDWR | os.O_CREAT, 0o600)
    os.ftruncate(fd, n)
    mm = mmap.mmap(fd, n)
    view = np.frombuffer(mm, dtype=np.uint8)
while True:
    try:
        h, _ = read_message(3)
    except EOFError:
        break
    frame[h["id"] % n] ^= 1
    if mode == "shm":
        view[:] = frame
        out.send({"id": h["id"]})
    else:
        out.send({"id": h["id"]}, [frame])
`;

async function roundTrips(python: string, mode: 'pipe' | 'shm', size: number, seconds: number): Promise<{ fps: number; p50: number; p95: number; mbs: number }> {
  const shm = path.join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `ls-bench-${process.pid}-${size}`);
  const child = spawn(python, ['-c', CHILD, mode, String(size), shm], { stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'], env: pythonEnv() });
  const input = child.stdio[3] as Writable;
  const output = child.stdio[4] as Readable;
  const n = size * size * 3;
  let waiting: ((m: WireMessage) => void) | null = null;
  const reader = new WireReader((m) => waiting?.(m));
  output.on('data', (c: Buffer) => reader.push(c));
  let fd = -1;
  const one = async (id: number): Promise<Buffer> => {
    const m = await new Promise<WireMessage>((resolve) => {
      waiting = resolve;
      input.write(encodeMessage({ id, op: 'frame' }));
    });
    if (mode === 'pipe') return m.parts[0]!;
    if (fd < 0) fd = openSync(shm, 'r');
    const buf = Buffer.allocUnsafeSlow(n);
    readSync(fd, buf, 0, n, 0);
    return buf;
  };
  try {
    for (let i = 0; i < 5; i++) await one(i);
    const times: number[] = [];
    const t0 = performance.now();
    let id = 5;
    while (performance.now() - t0 < seconds * 1000) {
      const t = performance.now();
      const b = await one(id++);
      if (b.length !== n) throw new Error(`frame of ${b.length} bytes`);
      times.push(performance.now() - t);
    }
    const s = (performance.now() - t0) / 1000;
    return { fps: times.length / s, p50: percentile(times, 50), p95: percentile(times, 95), mbs: (times.length * n) / s / 1e6 };
  } finally {
    input.end();
    await new Promise((r) => child.once('exit', r));
    if (fd >= 0) closeSync(fd);
    rmSync(shm, { force: true });
  }
}

export async function benchTorchTransport(opts: { seconds?: number } = {}): Promise<Record<string, number | string>> {
  const seconds = opts.seconds ?? 2;
  const { executable: python } = await findPython();
  const result: Record<string, number | string> = { what: 'RGB frame round trip, python child -> Node buffer, no model' };
  for (const size of [512, 1024]) {
    for (const mode of ['pipe', 'shm'] as const) {
      const r = await roundTrips(python, mode, size, seconds);
      result[`${mode}_${size}_fps`] = round(r.fps, 0);
      result[`${mode}_${size}_ms_p50`] = round(r.p50, 3);
      result[`${mode}_${size}_ms_p95`] = round(r.p95, 3);
      result[`${mode}_${size}_MBps`] = round(r.mbs, 0);
    }
    result[`shm_over_pipe_${size}_fps`] = round((result[`shm_${size}_fps`] as number) / (result[`pipe_${size}_fps`] as number), 3);
  }
  return result;
}

if (process.argv[1]?.endsWith('torch-transport.ts')) {
  benchTorchTransport().then((r) => console.log(JSON.stringify(r, null, 2)));
}
