// What a test server logs, kept for assertions: a pino logger writing parsed lines into an array,
// and one Prometheus sample read from a running server's /metrics.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export function capturedLogger(): { logger: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** An unlabelled sample of /metrics (NaN when absent). */
export async function metric(url: string, name: string): Promise<number> {
  const m = (await (await fetch(`${url}/metrics`)).text()).match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}
