// Cross-origin safety: content types, Origin, Host, tokens, early rejections and traversal.
// Control needs same-origin / a loopback origin / --allow-origin / the token; viewing stays open.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { resolveToken } from '../../server/surfaces/auth.ts';
import { startServer, ROOT } from '../../server/server.ts';
import { parseServeArgs } from '../../server/cli.ts';

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with exactly these headers (fetch cannot set Host or omit Origin rules). */
function raw(port: number, method: string, pathname: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: pathname, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Try a WebSocket handshake; resolves 'open' or the refusal's HTTP status. */
function handshake(url: string, headers: Record<string, string> = {}): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

const json = { 'content-type': 'application/json' };
const speedOf = async (s: TestServer) => (await (await fetch(`${s.url}/api/state`)).json()).params.speed as number;

describe('cross-origin safety on a loopback server without a token (defect 2)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ fps: 10, allowOrigins: ['https://editor.p5js.org'], allowHosts: ['stage.local'] });
  });
  after(async () => {
    await s.stop();
  });

  test('defect 2a: a text/plain POST (a "simple" cross-origin request) is refused with 415 and changes nothing', async () => {
    const before = await speedOf(s);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']) {
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      const res = await raw(s.port, 'POST', '/api/command', { ...headers, origin: 'http://evil.example' }, JSON.stringify({ type: 'set', speed: 3.5 }));
      assert.equal(res.status, 415, `${type}: ${res.body}`);
      assert.match(JSON.parse(res.body).error, /application\/json/);
    }
    const plain = await raw(s.port, 'POST', '/api/command', { 'content-type': 'text/plain' }, JSON.stringify({ type: 'set', speed: 3.5 }));
    assert.equal(plain.status, 415);
    assert.equal(await speedOf(s), before);
  });

  test('POST /api/command from a foreign origin is refused with 403; same, loopback and allowed origins pass', async () => {
    const body = (speed: number) => JSON.stringify({ type: 'set', speed });
    const evil = await raw(s.port, 'POST', '/api/command', { ...json, origin: 'http://evil.example' }, body(3.1));
    assert.equal(evil.status, 403);
    assert.match(JSON.parse(evil.body).error, /origin http:\/\/evil\.example is not allowed/);
    const nul = await raw(s.port, 'POST', '/api/command', { ...json, origin: 'null' }, body(3.1));
    assert.equal(nul.status, 403);
    const lookalike = await raw(s.port, 'POST', '/api/command', { ...json, origin: 'http://127.0.0.1.evil.example' }, body(3.1));
    assert.equal(lookalike.status, 403);
    assert.notEqual(await speedOf(s), 3.1);
    const cases: [Record<string, string>, number][] = [
      [{ origin: s.url }, 0.11],
      [{ origin: 'http://localhost:5173' }, 0.12],
      [{ origin: 'http://[::1]:3000' }, 0.13],
      [{ origin: 'https://editor.p5js.org' }, 0.14],
      [{}, 0.15], // no Origin: not a browser page
    ];
    for (const [headers, speed] of cases) {
      const res = await raw(s.port, 'POST', '/api/command', { ...json, ...headers }, body(speed));
      assert.equal(res.status, 200, `${JSON.stringify(headers)}: ${res.body}`);
      assert.equal(await speedOf(s), speed);
    }
  });

  test('a web page cannot start a stream to an arbitrary address', async () => {
    const res = await raw(s.port, 'POST', '/api/command', { ...json, origin: 'http://evil.example' }, JSON.stringify({ type: 'stream.start', url: 'tcp://203.0.113.9:9999' }));
    assert.equal(res.status, 403);
    const form = await raw(s.port, 'POST', '/api/command', { 'content-type': 'text/plain', origin: 'http://evil.example' }, JSON.stringify({ type: 'stream.start', url: 'rtmp://203.0.113.9/live' }));
    assert.equal(form.status, 415);
    const ws = await handshake(`${s.url.replace('http', 'ws')}/control`, { origin: 'http://evil.example' });
    assert.equal(ws, 403);
    assert.equal(s.streamer.active, false);
  });

  test('a stream URL must send to a host; options that make the server listen are refused', async () => {
    for (const url of ['tcp://0.0.0.0:9000?listen=1', 'rtmp://127.0.0.1/live?listen=2', 'srt://:9000?mode=listener', 'srt://0.0.0.0:9000?MODE=rendezvous', 'udp://:1234', 'tcp://[::1']) {
      const res = await s.command({ type: 'stream.start', url });
      assert.equal(res.status, 400, url);
      assert.match(res.body.error, /url must (name a host|be rtmp)/, url);
    }
    assert.equal(s.streamer.active, false);
  });

  test('defect 2b: /control refuses a handshake from a foreign origin, accepts same, loopback, allowed and no origin', async () => {
    const url = `${s.url.replace('http', 'ws')}/control`;
    assert.equal(await handshake(url, { origin: 'http://evil.example' }), 403);
    assert.equal(await handshake(url, { origin: 'null' }), 403);
    assert.equal(await handshake(url, { origin: s.url }), 'open');
    assert.equal(await handshake(url, { origin: 'http://localhost:8000' }), 'open');
    assert.equal(await handshake(url, { origin: 'https://editor.p5js.org' }), 'open');
    assert.equal(await handshake(url), 'open');
  });

  test('viewing stays open to every origin, with CORS for reading', async () => {
    const url = `${s.url.replace('http', 'ws')}/frames`;
    assert.equal(await handshake(url, { origin: 'http://evil.example' }), 'open');
    for (const p of ['/api/state', '/health', '/sketches/lib/latentstage.js']) {
      const res = await raw(s.port, 'GET', p, { origin: 'https://editor.p5js.org' });
      assert.equal(res.status, 200, p);
      assert.equal(res.headers['access-control-allow-origin'], '*', p);
    }
    const pre = await raw(s.port, 'OPTIONS', '/api/command', { origin: 'https://editor.p5js.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://editor.p5js.org');
  });

  test('defect 2c: a request naming a foreign Host (DNS rebinding) is refused, HTTP and WebSocket alike', async () => {
    for (const host of ['evil.example:8080', 'evil.example', 'localhost.evil.example', '127.0.0.1.nip.io']) {
      const res = await raw(s.port, 'GET', '/api/state', { host });
      assert.equal(res.status, 403, host);
      assert.match(JSON.parse(res.body).error, /--allow-host/);
      const cmd = await raw(s.port, 'POST', '/api/command', { ...json, host }, JSON.stringify({ type: 'set', speed: 2.2 }));
      assert.equal(cmd.status, 403, host);
      assert.equal(await handshake(`${s.url.replace('http', 'ws')}/control`, { host }), 403);
      assert.equal(await handshake(`${s.url.replace('http', 'ws')}/frames`, { host }), 403);
    }
    assert.notEqual(await speedOf(s), 2.2);
    for (const host of [`localhost:${s.port}`, `127.0.0.1:${s.port}`, `[::1]:${s.port}`, '192.168.1.20:8080', 'stage.local:8080', 'app.localhost']) {
      const res = await raw(s.port, 'GET', '/health', { host });
      assert.equal(res.status, 200, host);
    }
  });

  test('defect 5: a 413 says Connection: close and closes; a drained rejection keeps the connection usable', async () => {
    const exchange = (requests: string[]) =>
      new Promise<string>((resolve) => {
        const sock = net.connect(s.port, '127.0.0.1');
        let got = '';
        sock.on('data', (d) => (got += d.toString('latin1')));
        sock.on('close', () => resolve(got));
        sock.on('error', () => {});
        for (const r of requests) sock.write(r);
        setTimeout(() => sock.end(), 1500).unref();
      });
    const big = 'x'.repeat(2 * 1024 * 1024);
    const out = await exchange([`POST /api/command HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n${big}`]);
    assert.match(out, /^HTTP\/1\.1 413/);
    assert.match(out, /\r\nConnection: close\r\n/i);
    // A small rejected body is drained: the response may say keep-alive, and then the next request works.
    const tiny = '{"type":"set","speed":1}';
    const two = await exchange([
      `POST /api/command HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${tiny.length}\r\n\r\n${tiny}`,
      `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    ]);
    assert.match(two, /^HTTP\/1\.1 415/);
    const first = two.slice(0, two.indexOf('\r\n\r\n'));
    if (!/Connection: close/i.test(first)) assert.match(two, /HTTP\/1\.1 200 OK[\s\S]*"ok":true/);
  });

  test('traversal in preset and recording names is refused', async () => {
    for (const name of ['..%2F..%2Fetc%2Fpasswd', '..', '%2e%2e', 'a%00b']) {
      const res = await raw(s.port, 'GET', `/api/presets/${name}`, {});
      assert.ok(res.status === 400 || res.status === 404, `${name}: ${res.status}`);
    }
    for (const cmd of [
      { type: 'preset.save', name: '../evil' },
      { type: 'preset.load', name: '../../etc/passwd' },
      { type: 'record.start', name: '../../tmp/x' },
      { type: 'preset.save', name: 'A/B' },
    ]) {
      const res = await s.command(cmd);
      assert.equal(res.status, 400, JSON.stringify(cmd));
      assert.match(res.body.error, /name must be 1-64 characters/);
    }
    assert.equal(s.recorder.active, false);
  });
});

describe('tokens', () => {
  test('defect 3: an empty or short token from any source is refused', () => {
    assert.throws(() => resolveToken('', '0.0.0.0'), /at least 8 characters/);
    assert.throws(() => resolveToken('short', '127.0.0.1'), /at least 8 characters/);
    assert.throws(() => resolveToken('        ', '0.0.0.0'), /at least 8 characters/);
    assert.throws(() => resolveToken(undefined, '0.0.0.0', { LATENTSTAGE_TOKEN: '' }), /LATENTSTAGE_TOKEN must be at least 8 characters/);
    assert.throws(() => resolveToken(undefined, '127.0.0.1', { LATENTSTAGE_TOKEN: 'abc' }), /LATENTSTAGE_TOKEN must be at least 8 characters/);
    assert.equal(resolveToken(undefined, '127.0.0.1', {}), null);
    assert.equal(resolveToken(undefined, '0.0.0.0', { LATENTSTAGE_TOKEN: 'long-enough' }), 'long-enough');
    assert.ok((resolveToken(undefined, '0.0.0.0', {}) ?? '').length >= 8);
    assert.equal(resolveToken(null, '0.0.0.0', { LATENTSTAGE_TOKEN: 'x' }), null);
  });

  test('startServer and the CLI refuse an empty or short token instead of running unprotected; flags are checked', async () => {
    const model = writeFixtureModel(path.join(mkdtempSync(path.join(tmpdir(), 'ls-tok-')), 'm'));
    await assert.rejects(startServer({ model, port: 0, host: '0.0.0.0', token: '' }), /at least 8 characters/);
    const cli = path.join(ROOT, 'server/bin.mjs');
    const env = { ...process.env, LATENTSTAGE_TOKEN: '' };
    const r = spawnSync(process.execPath, [cli, 'serve', '--model', model, '--port', '0', '--osc-port', '0', '--host', '0.0.0.0'], { cwd: ROOT, encoding: 'utf8', env, timeout: 30000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /LATENTSTAGE_TOKEN must be at least 8 characters/);
    assert.throws(() => parseServeArgs(['--token', 'abc']), /--token must be at least 8 characters/);
    assert.throws(() => parseServeArgs(['--allow-origin', 'editor.p5js.org']), /--allow-origin: bad origin/);
    assert.throws(() => parseServeArgs(['--allow-host', 'evil example']), /--allow-host: bad host/);
    const ok = parseServeArgs(['--allow-origin', 'https://editor.p5js.org/,http://localhost:3000', '--allow-origin', 'null', '--allow-host', 'stage.local,.example.com']);
    assert.deepEqual(ok.allowOrigins, ['https://editor.p5js.org', 'http://localhost:3000', 'null']);
    assert.deepEqual(ok.allowHosts, ['stage.local', '.example.com']);
  });

  test('with a token, a foreign origin that holds it may control; without it nobody may', async () => {
    const s = await startTestServer({ fps: 10, token: 'sesame-sesame' });
    try {
      const body = JSON.stringify({ type: 'set', speed: 0.77 });
      assert.equal((await raw(s.port, 'POST', '/api/command', { ...json, origin: s.url }, body)).status, 401);
      assert.equal((await raw(s.port, 'POST', '/api/command', { ...json, origin: 'http://evil.example' }, body)).status, 401);
      const ok = await raw(s.port, 'POST', '/api/command', { ...json, origin: 'https://editor.p5js.org', authorization: 'Bearer sesame-sesame' }, body);
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['access-control-allow-origin'], 'https://editor.p5js.org');
      assert.equal(await handshake(`${s.url.replace('http', 'ws')}/control?token=sesame-sesame`, { origin: 'http://evil.example' }), 'open');
      assert.equal(await handshake(`${s.url.replace('http', 'ws')}/control`, { origin: s.url }), 401);
    } finally {
      await s.stop();
    }
  });
});
