// The HTTP surface (express): REST control, state, metrics, MJPEG and the static sketches.
// WebSockets (/frames, /control) are upgrades on the same node server (see server.ts).
import express, { type Express, type Request, type Response, type NextFunction } from 'express';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Stage } from '../stage.ts';
import { CommandError, parseJson } from '../commands.ts';
import { schemaDescription } from '../schema-info.ts';
import type { Access } from './access.ts';
import { viewerRequest } from './viewer-request.ts';
import { serveMjpeg } from './mjpeg.ts';
import { readBody } from './body.ts';
import { cardFacts } from '../model/card.ts';
import { summarizeKeys } from '../key-summary.ts';
import { browserModel, serveModelFile } from './model-files.ts';

export interface HttpOptions {
  access: Access;
  jpegQuality: number;
  closing: AbortSignal;
  root: string;
}

const require = createRequire(import.meta.url);
export const MAX_COMMAND_BYTES = 64 * 1024;

/** True for application/json (any parameters); anything else could come from a cross-origin form. */
export function isJsonType(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0].trim().toLowerCase() === 'application/json';
}

/** The request's URL (path and query; the host is not used). */
const urlOf = (req: Request) => new URL(req.originalUrl, 'http://localhost');

const fail = (res: Response, status: number, error: string) => res.status(status).json({ error });

export function createHttpApp(stage: Stage, opts: HttpOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('strict routing', true);
  app.set('case sensitive routing', true);
  const refuse = () => stage.metrics.errors.inc({ surface: 'http' });

  // Viewing is open to every origin (sketches in the online p5 editor watch a local server);
  // control answers any origin's preflight but acts only for allowed ones (see access.ts).
  app.use((req, res, next) => {
    if (req.path === '/api/command') {
      if (req.headers.origin) res.setHeader('Access-Control-Allow-Origin', req.headers.origin);
      res.vary('Origin');
    } else if (req.method === 'GET' || req.method === 'HEAD') {
      res.setHeader('Access-Control-Allow-Origin', '*');
    }
    next();
  });
  app.options('/api/command', (_req, res) => {
    res.set({
      'Access-Control-Allow-Methods': 'POST',
      'Access-Control-Allow-Headers': 'content-type, authorization, x-latentstage-token',
      'Access-Control-Max-Age': '600',
    });
    res.status(204).end();
  });

  // 200 while the server serves; `ok` and `status` say whether anything is degraded, `faults` what
  app.get('/health', (_req, res) => {
    const faults = stage.faults.list();
    res.json({ ok: faults.length === 0, status: faults.length ? 'degraded' : 'ok', faults, frame: stage.engine.frame, fps: stage.fps, model: stage.model.manifest.id });
  });
  app.get('/metrics', async (_req, res) => {
    const text = await stage.metrics.registry.metrics();
    res.setHeader('Content-Type', stage.metrics.registry.contentType);
    res.end(text);
  });
  app.get('/api/state', (_req, res) => res.json(stage.state()));
  app.get('/api/keys', (_req, res) => res.json({ keys: stage.engine.keys, ...summarizeKeys(stage.engine.keys) }));
  app.get('/api/schema', (_req, res) => res.json(schemaDescription()));
  app.get('/api/model', async (_req, res) => {
    const { manifest, vocabulary, card } = stage.model;
    const browser = await browserModel(stage.model);
    res.json({ manifest, device: stage.model.runtime.device, vocabularySize: vocabulary?.size ?? null, card, facts: cardFacts(card), browser });
  });
  app.get('/api/model/files/*file', (req, res, next) => serveModelFile(stage.model, req, res).catch(next));
  app.get('/api/presets', async (_req, res) => res.json(await stage.presets.list()));
  app.get('/api/presets/:name', async (req, res) => {
    try {
      res.json(await stage.presets.load(String(req.params.name)));
    } catch (err) {
      const e = err as CommandError;
      fail(res, e.status === 404 ? 404 : 400, e.message);
    }
  });

  app.post('/api/command', async (req, res) => {
    if (!isJsonType(req.headers['content-type'])) {
      refuse();
      return fail(res, 415, 'commands must be sent as Content-Type: application/json');
    }
    const verdict = opts.access.control(req.headers, urlOf(req));
    if (!verdict.ok) {
      refuse();
      return fail(res, verdict.status, verdict.error);
    }
    const text = await readBody(req, MAX_COMMAND_BYTES);
    if (text === null) {
      refuse();
      return fail(res, 413, 'command too large (64 KiB max)');
    }
    let body: unknown;
    try {
      body = parseJson(text);
    } catch (err) {
      refuse();
      return fail(res, 400, (err as Error).message);
    }
    try {
      res.json(await stage.dispatch(body, 'http'));
    } catch (err) {
      const e = err as CommandError;
      fail(res, e.status === 404 ? 404 : e.status >= 500 ? 500 : 400, e.message);
    }
  });

  app.get('/frame.jpg', async (req, res) => {
    const frame = stage.latest;
    if (!frame) return fail(res, 503, 'no frame yet');
    let want;
    try {
      want = viewerRequest(urlOf(req), opts.jpegQuality);
    } catch (err) {
      return fail(res, 400, (err as Error).message);
    }
    const enc = await frame.encode({ ...want, format: 'jpeg' });
    res.set({ 'Content-Type': 'image/jpeg', 'X-Frame-Index': String(frame.info.index), 'Cache-Control': 'no-store' });
    res.end(enc.data);
  });
  app.get('/stream.mjpg', (req, res) => {
    let want;
    try {
      want = viewerRequest(urlOf(req), opts.jpegQuality);
    } catch (err) {
      return fail(res, 400, (err as Error).message);
    }
    serveMjpeg(stage, want, res, opts.closing);
  });

  const p5 = path.resolve(path.dirname(require.resolve('p5')), '..');
  app.use('/vendor/p5', express.static(path.join(p5, 'lib'), { index: false, redirect: false }));
  // onnxruntime-web for sketches that draw frames from latents (its .mjs and .wasm files)
  const ortWeb = path.dirname(require.resolve('onnxruntime-web'));
  app.use('/vendor/onnxruntime-web', express.static(ortWeb, { index: false, redirect: false, maxAge: '1d' }));
  const sketches = path.join(opts.root, 'sketches');
  app.get('/sketches', (_req, res) => res.redirect('/sketches/'));
  app.use('/sketches', express.static(sketches));
  app.get('/', (_req, res, next) => res.sendFile('control/index.html', { root: sketches }, (err) => err && next(err)));

  app.use((req, res) => fail(res, 404, `not found: ${req.path}`));
  app.use((err: Error & { status?: number }, _req: Request, res: Response, next: NextFunction) => {
    refuse();
    if (res.headersSent) return next(err);
    // static files' own refusals (a malformed path, a directory) keep their 4xx status
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    fail(res, status, err.message);
  });
  return app;
}
