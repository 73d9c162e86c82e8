// The CMA-ES eigendecomposition (O(n^3): tens of milliseconds at n = 128) in a worker thread, so
// the search never stalls the event loop that sends frames and takes commands. One thread for the
// process, started on first use and not keeping the process alive when idle. If the thread cannot
// start or dies, the decomposition runs inline instead: same result, only on the event loop.
import { Worker } from 'node:worker_threads';
import { symmetricEigen } from './cmaes.ts';

interface Eigen {
  values: Float64Array;
  vectors: Float64Array;
}

const BOOT = new URL('../runtime/worker-boot.mjs', import.meta.url);
const ENTRY = new URL('./eigen-main.ts', import.meta.url).href;

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<number, { resolve(e: Eigen): void; n: number; matrix: Float64Array }>();

function start(): Worker {
  const w = new Worker(BOOT, { workerData: { entry: ENTRY } });
  w.unref();
  w.on('message', (msg: Eigen & { id: number }) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (pending.size === 0) w.unref();
    p.resolve({ values: msg.values, vectors: msg.vectors });
  });
  const fail = () => {
    if (worker !== w) return;
    worker = null;
    // finish what was asked inline, in order
    const left = [...pending.values()];
    pending.clear();
    for (const p of left) p.resolve(symmetricEigen(p.n, p.matrix));
  };
  w.on('error', fail);
  w.on('exit', fail);
  return w;
}

/** Eigenvalues and eigenvectors (columns) of a symmetric n x n matrix, off the event loop. */
export function eigenOffThread(n: number, matrix: Float64Array): Promise<Eigen> {
  try {
    worker ??= start();
  } catch {
    return Promise.resolve(symmetricEigen(n, matrix));
  }
  const w = worker;
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, { resolve, n, matrix });
    w.ref();
    w.postMessage({ id, n, matrix });
  });
}
