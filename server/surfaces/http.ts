// The HTTP surface (hono): REST control, state, metrics, MJPEG and the static sketches.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { serveStatic } from '@hono/node-server/serve-static';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Stage } from '../stage.ts';
import { CommandError } from '../commands.ts';
import { schemaDescription } from '../schema-info.ts';
import type { Access } from './access.ts';
import { viewerRequest } from './viewer-request.ts';
import { mjpegResponse } from './mjpeg.ts';
import { cardFacts } from '../model/card.ts';
import { summarizeKeys } from '../key-summary.ts';

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

export function createHttpApp(stage: Stage, opts: HttpOptions): Hono {
  const app = new Hono();
  // Viewing is open to every origin (sketches in the online p5 editor watch a local server);
  // control answers any origin's preflight but acts only for allowed ones (see access.ts).
  app.use('*', async (c, next) => {
    await next();
    const origin = c.req.header('origin');
    if (c.req.path === '/api/command') {
      if (origin) c.res.headers.set('Access-Control-Allow-Origin', origin);
      c.res.headers.append('Vary', 'Origin');
    } else if (c.req.method === 'GET' || c.req.method === 'HEAD') {
      c.res.headers.set('Access-Control-Allow-Origin', '*');
    }
  });
  app.options('/api/command', (c) => {
    c.header('Access-Control-Allow-Methods', 'POST');
    c.header('Access-Control-Allow-Headers', 'content-type, authorization, x-latentstage-token');
    c.header('Access-Control-Max-Age', '600');
    return c.body(null, 204);
  });

  app.get('/health', (c) => c.json({ ok: true, frame: stage.engine.frame, fps: stage.fps, model: stage.model.manifest.id }));
  app.get('/metrics', async (c) => {
    c.header('Content-Type', stage.metrics.registry.contentType);
    return c.body(await stage.metrics.registry.metrics());
  });
  app.get('/api/state', (c) => c.json(stage.state()));
  app.get('/api/keys', (c) => c.json({ keys: stage.engine.keys, ...summarizeKeys(stage.engine.keys) }));
  app.get('/api/schema', (c) => c.json(schemaDescription()));
  app.get('/api/model', (c) => {
    const { manifest, vocabulary, card } = stage.model;
    return c.json({ manifest, device: stage.model.runtime.device, vocabularySize: vocabulary?.size ?? null, card, facts: cardFacts(card) });
  });
  app.get('/api/presets', async (c) => c.json(await stage.presets.list()));
  app.get('/api/presets/:name', async (c) => {
    try {
      return c.json(await stage.presets.load(c.req.param('name')));
    } catch (err) {
      const e = err as CommandError;
      return c.json({ error: e.message }, e.status === 404 ? 404 : 400);
    }
  });

  const refuse = () => stage.metrics.errors.inc({ surface: 'http' });
  app.post(
    '/api/command',
    async (c, next) => {
      if (!isJsonType(c.req.header('content-type'))) {
        refuse();
        return c.json({ error: 'commands must be sent as Content-Type: application/json' }, 415);
      }
      const verdict = opts.access.control(c.req.raw.headers, new URL(c.req.url));
      if (!verdict.ok) {
        refuse();
        return c.json({ error: verdict.error }, verdict.status);
      }
      return next();
    },
    bodyLimit({
      maxSize: MAX_COMMAND_BYTES,
      onError: (c) => {
        refuse();
        return c.json({ error: 'command too large (64 KiB max)' }, 413);
      },
    }),
    async (c) => {
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch (err) {
        stage.metrics.errors.inc({ surface: 'http' });
        return c.json({ error: `malformed JSON: ${(err as Error).message}` }, 400);
      }
      try {
        return c.json(await stage.dispatch(body, 'http'));
      } catch (err) {
        const e = err as CommandError;
        const status = e.status === 404 ? 404 : e.status >= 500 ? 500 : 400;
        return c.json({ error: e.message }, status);
      }
    },
  );

  app.get('/frame.jpg', async (c) => {
    const frame = stage.latest;
    if (!frame) return c.json({ error: 'no frame yet' }, 503);
    let req;
    try {
      req = viewerRequest(new URL(c.req.url), opts.jpegQuality);
    } catch (err) {
      return c.json({ error: (err as Error).message }, 400);
    }
    const enc = await frame.encode({ ...req, format: 'jpeg' });
    return c.body(new Uint8Array(enc.data), 200, { 'Content-Type': 'image/jpeg', 'X-Frame-Index': String(frame.info.index), 'Cache-Control': 'no-store' });
  });
  app.get('/stream.mjpg', (c) => {
    try {
      return mjpegResponse(stage, viewerRequest(new URL(c.req.url), opts.jpegQuality), opts.closing);
    } catch (err) {
      return c.json({ error: (err as Error).message }, 400);
    }
  });

  const p5 = path.resolve(path.dirname(require.resolve('p5')), '..');
  app.get('/vendor/p5/*', serveStatic({ root: path.join(p5, 'lib'), rewriteRequestPath: (p) => p.replace(/^\/vendor\/p5/, '') }));
  const sketches = path.join(opts.root, 'sketches');
  app.get('/sketches', (c) => c.redirect('/sketches/'));
  app.get('/sketches/*', serveStatic({ root: sketches, rewriteRequestPath: (p) => p.replace(/^\/sketches/, '') }));
  app.get('/', serveStatic({ root: sketches, path: 'control/index.html' }));
  app.notFound((c) => c.json({ error: `not found: ${c.req.path}` }, 404));
  app.onError((err, c) => {
    stage.metrics.errors.inc({ surface: 'http' });
    return c.json({ error: err.message }, 500);
  });
  return app;
}
