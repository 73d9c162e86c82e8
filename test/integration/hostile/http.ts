// Hostile HTTP: bodies, content types, origins, Host names, methods, paths, query strings and
// over-limit sizes, all on one keep-alive connection. Every request is answered (never a dropped
// socket, never a 5xx), rejected commands are counted in /metrics and change nothing, nothing
// outside the served folders leaks, and parameters stay finite and in range.
import assert from 'node:assert/strict';
import http from 'node:http';
import { waitFor, type TestServer } from '../../helpers/server.ts';
import { FUZZ_SEED, rng, hostileText, validCommand, snapshot, paramsInRange, counter, type Rng } from '../../helpers/fuzz.ts';

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** What the request is: a command that may apply, one that must be refused, or anything else. */
  kind: 'command' | 'refused' | 'other';
}

const traversal = ['../package.json', '..%2fpackage.json', '%2e%2e/%2e%2e/package.json', '..\\..\\package.json', '....//package.json', '%252e%252e/package.json', '/etc/passwd', 'lib/../../package.json', '%00', 'a'.repeat(3000)];

function request(r: Rng, port: number): Req {
  const json = { 'content-type': 'application/json' };
  const roll = r.next();
  if (roll < 0.3) return { method: 'POST', path: '/api/command', headers: json, body: hostileText(r), kind: 'refused' };
  if (roll < 0.45) return { method: 'POST', path: '/api/command', headers: json, body: JSON.stringify(validCommand(r)), kind: 'command' };
  if (roll < 0.52) {
    const type = r.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=z', 'application/jsonx', 'json', 'text/json', '']);
    return { method: 'POST', path: '/api/command', headers: type ? { 'content-type': type } : {}, body: JSON.stringify(validCommand(r)), kind: 'refused' };
  }
  if (roll < 0.58) {
    const origin = r.pick(['http://evil.example', 'null', 'https://127.0.0.1.evil.example', 'file://', 'http://localhost.evil.example:8080']);
    return { method: 'POST', path: '/api/command', headers: { ...json, origin }, body: JSON.stringify(validCommand(r)), kind: 'refused' };
  }
  if (roll < 0.63) {
    const host = r.pick(['evil.example', `evil.example:${port}`, 'localhost.evil.example', 'a'.repeat(300), '127.0.0.1.nip.io', 'xn--80ak6aa92e.com']);
    const post = r.next() < 0.5;
    return post
      ? { method: 'POST', path: '/api/command', headers: { ...json, host }, body: JSON.stringify(validCommand(r)), kind: 'refused' }
      : { method: 'GET', path: r.pick(['/api/state', '/', '/frame.jpg']), headers: { host }, kind: 'other' };
  }
  if (roll < 0.66) {
    const big = r.next() < 0.5 ? 'x'.repeat(65 * 1024 + r.int(512 * 1024)) : JSON.stringify({ type: 'prompt', text: 'y'.repeat(70_000) });
    return { method: 'POST', path: '/api/command', headers: json, body: big, kind: 'refused' };
  }
  if (roll < 0.7) return { method: 'POST', path: '/api/command', headers: json, body: r.bytes(1 + r.int(500)), kind: 'refused' };
  if (roll < 0.78) return { method: 'GET', path: `/sketches/${r.pick(traversal)}`, headers: {}, kind: 'other' };
  if (roll < 0.82) return { method: 'GET', path: `/vendor/p5/${r.pick(traversal)}`, headers: {}, kind: 'other' };
  if (roll < 0.86) return { method: 'GET', path: `/api/presets/${r.pick(traversal)}`, headers: {}, kind: 'other' };
  if (roll < 0.92) {
    const q = r.pick(['size=abc', 'size=-1', 'size=1e9', 'size=7', 'quality=0', 'quality=101', 'format=png', 'format=', 'size=64&size=128&size=x', 'x=1', 'size=%00', `size=${'9'.repeat(400)}`, 'quality=50.5', 'format=rgba&size=5000']);
    return { method: 'GET', path: `${r.pick(['/frame.jpg', '/stream.mjpg'])}?${q}`, headers: {}, kind: 'other' };
  }
  if (roll < 0.96) return { method: r.pick(['PUT', 'DELETE', 'PATCH', 'TRACE', 'OPTIONS', 'POST']), path: r.pick(['/api/state', '/api/command', '/metrics', '/', '/api/keys', '/frames']), headers: json, body: '{}', kind: 'other' };
  return { method: 'GET', path: r.pick(['/api/state', '/api/keys', '/health', '/metrics', '/api/schema', '/api/model', '/api/presets', '/sketches/', '/nope', '//', '/api/../api/state']), headers: {}, kind: 'other' };
}

function send(agent: http.Agent, port: number, req: Req): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    const r = http.request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d) => {
        if (body.length < 1 << 20) body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

export const HTTP_REQUESTS = 2000;

/** Seeded fuzz of HTTP on one keep-alive connection: every request answered, refusals counted. */
export async function httpFuzz(s: TestServer): Promise<Record<string, unknown>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await waitFor(() => s.stage.latest !== null, 20_000, 'the first frame'); // /frame.jpg answers 503 before it
    const r = rng(FUZZ_SEED + 1);
    const N = HTTP_REQUESTS;
    const errorsBefore = await counter(s.url, 'latentstage_errors_total', 'surface="http"');
    const frameBefore = s.stage.engine.frame;
    const tally = { sent: 0, answered: 0, applied: 0, refused: 0, statuses: {} as Record<number, number> };
    let counted = 0;
    for (let i = 0; i < N; i++) {
      const req = request(r, s.port);
      const where = `request ${i} (seed ${FUZZ_SEED + 1}) ${req.method} ${req.path.slice(0, 80)} ${JSON.stringify(req.headers)} ${String(req.body ?? '').slice(0, 80)}`;
      const before = snapshot(s.stage);
      tally.sent++;
      let res;
      try {
        res = await send(agent, s.port, req);
      } catch (err) {
        assert.fail(`${where}: no answer (${(err as Error).message})`);
      }
      tally.answered++;
      tally.statuses[res.status] = (tally.statuses[res.status] ?? 0) + 1;
      assert.ok(res.status >= 200 && res.status < 500 && res.status !== 0, `${where}: status ${res.status} ${res.body.slice(0, 200)}`);
      assert.ok(!res.body.includes('"allowScripts"') && !res.body.includes('root:x:0:0'), `${where}: served a file outside the served folders`);
      const isCommand = req.method === 'POST' && req.path === '/api/command';
      const hostRefused = res.status === 403 && /allow-host/.test(res.body);
      if (hostRefused) counted++;
      if (isCommand) {
        if (res.status === 200) {
          tally.applied++;
          assert.equal(req.kind, 'command', `${where}: a hostile command was applied`);
        } else {
          tally.refused++;
          if (!hostRefused) counted++;
          assert.equal(snapshot(s.stage), before, `${where}: a refused command changed the state`);
          assert.equal(typeof JSON.parse(res.body).error, 'string', `${where}: the refusal says why`);
        }
      } else {
        assert.equal(snapshot(s.stage), before, `${where}: a non-command changed the state`);
      }
      const bad = paramsInRange(s.stage);
      assert.equal(bad, null, `${where}: ${bad}`);
    }
    assert.equal(tally.answered, N);
    const errorsAfter = await counter(s.url, 'latentstage_errors_total', 'surface="http"');
    assert.equal(errorsAfter - errorsBefore, counted, 'every refused command and foreign Host is counted in /metrics');
    await waitFor(() => s.stage.engine.frame > frameBefore + 5, 10_000, 'the frame loop running after the fuzz');
    return tally;
  } finally {
    agent.destroy();
  }
}
