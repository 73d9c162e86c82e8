// The runtime worker thread: builds the model's runtime (createRuntime) and answers calls from
// worker.ts. Calls run one at a time; live frames go before anything queued for steering. Results
// travel back as transferred buffers, not copies.
import { parentPort, workerData } from 'node:worker_threads';
import { createRuntime, type RuntimeOptions } from './create.ts';
import type { Manifest } from '../model/manifest.ts';
import type { Runtime } from './runtime.ts';
import { renderFrame } from './frame.ts';
import type { WorkerCall, WorkerReply, WorkerEvent } from './worker-protocol.ts';

const port = parentPort!;
const { dir, manifest, options } = workerData as { dir: string; manifest: Manifest; options: RuntimeOptions };
const post = (msg: WorkerReply | WorkerEvent, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

const runtime: Runtime = await createRuntime(dir, manifest, {
  ...options,
  warn: (message) => post({ type: 'warn', message }),
  info: (message) => post({ type: 'info', message }),
});

/** Buffers to transfer for typed arrays; a view into a shared or larger buffer is copied first. */
function own<T extends Float32Array>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer ? a : (a.slice() as T);
}

async function execute(call: WorkerCall): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
  switch (call.op) {
    case 'generate': {
      const out = own(await runtime.generate(call.z, call.batch, call.condition, { refine: call.refine }));
      return { value: out, transfer: [out.buffer as ArrayBuffer] };
    }
    case 'frame': {
      // toRgb gives the picture its own buffer; the embedding is copied only if it is a view
      const { rgb, embedding, finite } = await renderFrame(runtime, call.z, call.condition, call.embed);
      const e = embedding && own(embedding);
      const transfer = [rgb.buffer as ArrayBuffer];
      if (e) transfer.push(e.buffer as ArrayBuffer);
      return { value: { rgb, embedding: e, finite }, transfer };
    }
    case 'encodeText': {
      const out = own(await runtime.encodeText!(call.ids, call.batch));
      return { value: out, transfer: [out.buffer as ArrayBuffer] };
    }
    case 'encodeImage': {
      const out = own(await runtime.encodeImage!(call.images, call.batch));
      return { value: out, transfer: [out.buffer as ArrayBuffer] };
    }
    case 'prior': {
      const { mean, scale } = await runtime.prior!(call.embedding, call.batch);
      const m = own(mean);
      const s = own(scale);
      return { value: { mean: m, scale: s }, transfer: m.buffer === s.buffer ? [m.buffer as ArrayBuffer] : [m.buffer as ArrayBuffer, s.buffer as ArrayBuffer] };
    }
  }
}

const live: WorkerCall[] = [];
const background: WorkerCall[] = [];
let pumping = false;

async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  try {
    for (let call = live.shift() ?? background.shift(); call; call = live.shift() ?? background.shift()) {
      try {
        const { value, transfer } = await execute(call);
        post({ type: 'result', id: call.id, value }, transfer);
      } catch (err) {
        post({ type: 'error', id: call.id, message: (err as Error).message ?? String(err) });
      }
    }
  } finally {
    pumping = false;
    if (closing) finish();
  }
}

let closing = false;
const finish = () => void runtime.close().finally(() => process.exit(0));

port.on('message', (msg: WorkerCall | { op: 'close' } | { op: 'crash' }) => {
  if (closing) return;
  if (msg.op === 'close') {
    // release the sessions only once no call is between its start and its end
    closing = true;
    live.length = 0;
    background.length = 0;
    if (!pumping) finish();
    return;
  }
  if (msg.op === 'crash') {
    // what an uncaught failure in this thread looks like to the host (used to test recovery)
    setImmediate(() => {
      throw new Error('crash requested');
    });
    return;
  }
  (msg.op === 'frame' || (msg.op === 'generate' && msg.live) ? live : background).push(msg);
  void pump();
});

post({
  type: 'ready',
  device: runtime.device,
  has: { encodeText: !!runtime.encodeText, encodeImage: !!runtime.encodeImage, prior: !!runtime.prior },
});
