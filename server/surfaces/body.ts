// A request body read up to a byte limit. Over the limit it stops at once (a declared length is
// checked before reading), so a 413 goes out while the client is still sending; the front door
// then says Connection: close. (body-parser reads the whole body off the socket before answering.)
import type { IncomingMessage } from 'node:http';

/** The body as UTF-8 text (a BOM is dropped, as fetch's text() does), or null when over `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  if (Number(req.headers['content-length']) > limit) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (value: string | null, err?: Error) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted);
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish(null);
      else chunks.push(chunk);
    };
    const onEnd = () => finish(new TextDecoder().decode(Buffer.concat(chunks)));
    const onError = (err: Error) => finish(null, err);
    const onAborted = () => finish(null, new Error('request aborted'));
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onAborted);
  });
}
