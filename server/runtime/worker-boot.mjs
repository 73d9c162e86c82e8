// Entry of latentstage's worker threads: makes TypeScript importable in this thread (whether or
// not the main thread was started with tsx on the command line), then loads the worker proper
// (workerData.entry, a module URL; the runtime worker by default).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData?.entry ?? new URL('./worker-main.ts', import.meta.url).href);
