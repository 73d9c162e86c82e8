// Entry of the runtime worker thread: makes TypeScript importable in this thread (whether or not
// the main thread was started with tsx on the command line), then loads the worker proper.
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
