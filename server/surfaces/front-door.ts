// The node-level door in front of the HTTP surface, whatever framework serves the routes:
// - refuses requests whose Host is not ours (DNS rebinding; see access.ts) before any route runs;
// - answers "Connection: close" whenever a response starts before its request body was received
//   (413, 415, 401...), so a keep-alive client never sends its next request into a socket that is
//   about to be dropped.
import type { IncomingMessage, ServerResponse, RequestListener } from 'node:http';
import type { Access } from './access.ts';
import { HOST_REFUSED } from './access.ts';

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}

export function frontDoor(access: Access, onRefused: () => void, listener: RequestListener): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      if (!req.complete && hasBody(req) && !this.headersSent) this.setHeader('Connection', 'close');
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as typeof res.writeHead;
    if (!access.hostAllowed(req.headers.host)) {
      onRefused();
      res.writeHead(403, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: HOST_REFUSED }));
      return;
    }
    listener(req, res);
  };
}
