// Control over WebSocket: /control. JSON commands in ({"type":"set","speed":0.5,"id":7}), JSON out:
// {"type":"ack","id":7,"state":{...}} or {"type":"error","id":7,"error":"..."}, plus
// {"type":"state"} broadcasts (coalesced, latest-wins per client) whenever anything changes and
// {"type":"stats"} every second. A bad message gets an error and the connection stays usable.
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Stage } from '../stage.ts';
import { CommandError, parseJson } from '../commands.ts';
import { TextSender, coalescedState, stateMessage } from './ws-text.ts';

export const MAX_CONTROL_MESSAGE = 64 * 1024;
export const MAX_ID_LENGTH = 128;

/** A correlation id echoed back: a short string, a finite number or null; anything else is refused. */
export type Id = string | number | null;

export function validId(id: unknown): id is Id | undefined {
  if (id === undefined || id === null) return true;
  if (typeof id === 'string') return id.length <= MAX_ID_LENGTH;
  return typeof id === 'number' && Number.isFinite(id);
}

/** Split the optional client correlation id off a command object. */
export function splitEnvelope(value: unknown): { id: unknown; command: unknown } {
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, 'id')) {
    const { id, ...command } = value as Record<string, unknown>;
    return { id, command };
  }
  return { id: undefined, command: value };
}

export function createControlSurface(stage: Stage) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CONTROL_MESSAGE, perMessageDeflate: false });
  const clients = new Map<WebSocket, TextSender>();
  stage.metrics.backlogSources.set('control', () => Math.max(0, ...[...clients.values()].map((c) => c.backlog)));

  const stopState = coalescedState(stage, (text) => {
    for (const c of clients.values()) c.latest('state', text);
  });
  const stats = setInterval(() => {
    if (clients.size === 0) return;
    const s = stage.state();
    const text = JSON.stringify({ type: 'stats', fps: s.fps, frame: s.frame, viewers: s.viewers });
    for (const c of clients.values()) c.latest('stats', text);
  }, 1000);
  stats.unref();

  const onMessage = async (out: TextSender, data: RawData, isBinary: boolean) => {
    let id: Id | undefined;
    let dispatched = false;
    try {
      if (isBinary) throw new CommandError('control messages must be JSON text');
      const env = splitEnvelope(parseJson(data.toString()));
      if (!validId(env.id)) throw new CommandError(`id must be a string of at most ${MAX_ID_LENGTH} characters, a finite number or null`);
      id = env.id;
      dispatched = true;
      const state = await stage.dispatch(env.command, 'ws');
      out.reply(JSON.stringify({ type: 'ack', id, state }));
    } catch (err) {
      if (!dispatched) stage.metrics.errors.inc({ surface: 'ws' }); // dispatch counts its own
      out.reply(JSON.stringify({ type: 'error', id, error: String((err as Error)?.message ?? err).slice(0, 2000) }));
    }
  };

  return {
    wss,
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      wss.handleUpgrade(req, socket, head, (ws) => {
        const out = new TextSender(ws, stage.metrics);
        clients.set(ws, out);
        out.latest('state', stateMessage(stage));
        ws.on('message', (data, isBinary) => {
          onMessage(out, data, isBinary).catch(() => stage.metrics.errors.inc({ surface: 'ws' }));
        });
        ws.on('error', () => {});
        ws.on('close', () => {
          out.close();
          clients.delete(ws);
        });
      });
    },
    close(): void {
      clearInterval(stats);
      stopState();
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      wss.close();
    },
  };
}
