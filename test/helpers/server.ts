// Start a real latentstage server on an ephemeral port with a fixture model, for integration tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { writeFixtureModel, type FixtureModelOptions } from '../fixtures/onnx.ts';
import { startServer, type ServerOptions, type RunningServer } from '../../server/server.ts';

export interface TestServer extends RunningServer {
  tmp: string;
  modelDir: string;
  presetsDir: string;
  /** POST a command; returns status and parsed body. */
  command(body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export async function startTestServer(opts: ServerOptions & { fixture?: FixtureModelOptions } = {}): Promise<TestServer> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-test-'));
  const modelDir = opts.model ?? writeFixtureModel(path.join(tmp, 'model'), opts.fixture);
  const presetsDir = opts.presets ?? path.join(tmp, 'presets');
  const server = await startServer({
    port: 0,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...opts,
    model: modelDir,
    presets: presetsDir,
  });
  return {
    ...server,
    tmp,
    modelDir,
    presetsDir,
    async command(body, headers = {}) {
      const res = await fetch(`${server.url}/api/command`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    },
    async stop() {
      await server.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Resolve when `predicate` is true, polling every 10 ms, or reject after `ms`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}
