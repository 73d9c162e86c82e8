// Control over WebSocket: /control. JSON commands in ({"type":"set","speed":0.5,"id":7}), JSON out:
// {"type":"ack","id":7,"state":{...}} or {"type":"error","id":7,"error":"..."}, plus
// {"type":"state"} broadcasts (coalesced) whenever anything changes. A bad message gets an error
// and the connection stays usable.
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Stage } from '../stage.ts';
import { CommandError } from '../commands.ts';

export const MAX_CONTROL_MESSAGE = 64 * 1024;

/** Split the optional client correlation id off a command object. */
export function splitEnvelope(value: unknown): { id: unknown; command: unknown } {
  if (value && typeof value === 'object' && !Array.isArray(value) && 'id' in value) {
    const { id, ...command } = value as Record<string, unknown>;
    return { id, command };
  }
  return { id: undefined, command: value };
}

export function createControlSurface(stage: Stage) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CONTROL_MESSAGE, perMessageDeflate: false });
  const send = (ws: WebSocket, msg: object) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };

  let stateTimer: NodeJS.Timeout | null = null;
  stage.on('state', () => {
    stateTimer ??= setTimeout(() => {
      stateTimer = null;
      const state = stage.state();
      for (const ws of wss.clients) send(ws, { type: 'state', state });
    }, 16);
  });
  const stats = setInterval(() => {
    if (wss.clients.size === 0) return;
    const s = stage.state();
    for (const ws of wss.clients) send(ws, { type: 'stats', fps: s.fps, frame: s.frame, viewers: s.viewers });
  }, 1000);
  stats.unref();

  const onMessage = async (ws: WebSocket, data: RawData, isBinary: boolean) => {
    let id: unknown;
    let dispatched = false;
    try {
      if (isBinary) throw new CommandError('control messages must be JSON text');
      let value: unknown;
      try {
        value = JSON.parse(data.toString());
      } catch (err) {
        throw new CommandError(`malformed JSON: ${(err as Error).message}`);
      }
      const env = splitEnvelope(value);
      id = env.id;
      dispatched = true;
      const state = await stage.dispatch(env.command, 'ws');
      send(ws, { type: 'ack', id, state });
    } catch (err) {
      if (!dispatched) stage.metrics.errors.inc({ surface: 'ws' }); // dispatch counts its own
      send(ws, { type: 'error', id, error: (err as Error).message });
    }
  };

  return {
    wss,
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      wss.handleUpgrade(req, socket, head, (ws) => {
        send(ws, { type: 'state', state: stage.state() });
        ws.on('message', (data, isBinary) => void onMessage(ws, data, isBinary));
        ws.on('error', () => {});
      });
    },
    close(): void {
      clearInterval(stats);
      if (stateTimer) clearTimeout(stateTimer);
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      wss.close();
    },
  };
}
