// The last resort: an exception nobody caught or a rejection nobody handled is logged and counted
// (latentstage_uncaught_total) instead of ending the show. The frame loop runs on its own timers
// and carries on. Every running server in the process is told; the handlers go when the last one
// closes.
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';

interface Target {
  log: Logger;
  metrics: Metrics;
}

const targets = new Set<Target>();

const report = (kind: 'uncaughtException' | 'unhandledRejection') => (err: unknown) => {
  for (const t of targets) {
    try {
      t.metrics.uncaught.inc({ kind });
      t.log.error({ err }, `${kind} caught by the last-resort guard; the show goes on`);
    } catch {
      // a broken logger must not turn the guard into the next crash
    }
  }
};
const onException = report('uncaughtException');
const onRejection = report('unhandledRejection');

/** Guard the process while this server runs; returns the function that stops guarding for it. */
export function guardProcess(target: Target): () => void {
  if (targets.size === 0) {
    process.on('uncaughtException', onException);
    process.on('unhandledRejection', onRejection);
  }
  targets.add(target);
  return () => {
    if (!targets.delete(target) || targets.size > 0) return;
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
