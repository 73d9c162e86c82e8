// Hostile input on /control: deep nesting, huge numbers, __proto__ keys, wrong types, binary,
// invalid UTF-8, over-limit sizes. Every message is answered (ack, error, or a protocol close for
// what WebSocket itself forbids), errors are counted in /metrics, invalid input changes nothing,
// parameters stay finite and in range, and the frame loop keeps running.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { waitFor, type TestServer } from '../../helpers/server.ts';
import { FUZZ_SEED, rng, hostileText, hostileId, validCommand, snapshot, paramsInRange, counter, nested } from '../../helpers/fuzz.ts';

type Answer = { kind: 'ack' | 'error'; msg: any } | { kind: 'close'; code: number };

class Client {
  private inbox: any[] = [];
  private wake: (() => void) | null = null;
  closed: number | null = null;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d, binary) => {
      if (binary) return;
      const m = JSON.parse(d.toString());
      if (m.type === 'ack' || m.type === 'error') this.inbox.push(m);
      this.wake?.();
    });
    ws.on('close', (code) => {
      this.closed = code;
      this.wake?.();
    });
    ws.on('error', () => {});
  }
  static open(url: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const c = new Client(ws);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }
  async answer(what: string): Promise<Answer> {
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      const m = this.inbox.shift();
      if (m) return { kind: m.type, msg: m };
      if (this.closed !== null) return { kind: 'close', code: this.closed };
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 200);
      });
      this.wake = null;
    }
    throw new Error(`no answer to ${what}`);
  }
}

const controlUrl = (s: TestServer) => `${s.url.replace('http', 'ws')}/control`;

/** Defect 1: a message whose id is 5,000 levels deep is answered, and the process lives. */
export async function deepIds(s: TestServer): Promise<void> {
  const url = controlUrl(s);
  const c = await Client.open(url);
  for (const id of [nested(5000), nested(5000, '{"a":', '}'), JSON.stringify('x'.repeat(10_000))]) {
    c.ws.send(`{"type":"set","speed":0.5,"id":${id}}`);
    const a = await c.answer('a deep id');
    assert.equal(a.kind, 'error');
    assert.match((a as { msg: any }).msg.error, /id must be a string of at most 128 characters, a finite number or null/);
    assert.equal((a as { msg: any }).msg.id, undefined, 'the bad id is not echoed');
  }
  c.ws.send(JSON.stringify({ type: 'set', speed: 0.25, id: 'still-here' }));
  const ok = await c.answer('a good command');
  assert.equal(ok.kind, 'ack');
  assert.equal((ok as { msg: any }).msg.id, 'still-here');
  assert.equal(s.stage.engine.params.speed, 0.25);
  c.ws.close();
}

export const CONTROL_INPUTS = 3000;

/** Seeded fuzz of /control: each message answered, rejects change nothing and are counted. */
export async function controlFuzz(s: TestServer): Promise<Record<string, number>> {
  const url = controlUrl(s);
  const r = rng(FUZZ_SEED);
  const N = CONTROL_INPUTS;
  const errorsBefore = await counter(s.url, 'latentstage_errors_total', 'surface="ws"');
  const frameBefore = s.stage.engine.frame;
  let c = await Client.open(url);
  const tally = { sent: 0, acks: 0, errors: 0, closes: 0 };
  for (let i = 0; i < N; i++) {
    const roll = r.next();
    const before = snapshot(s.stage);
    let expect: 'any' | 'reject' | 'close' = 'reject';
    let input: string | Buffer;
    let binary = false;
    if (roll < 0.6) input = hostileText(r);
    else if (roll < 0.7) input = `{"type":"set","speed":1,"id":${hostileId(r)}}`;
    else if (roll < 0.9) {
      input = JSON.stringify({ ...validCommand(r), id: r.pick<unknown>([i, `m${i}`, null, undefined]) });
      expect = 'any';
    } else if (roll < 0.96) {
      input = r.bytes(1 + r.int(200));
      binary = true;
    } else if (roll < 0.98) {
      input = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]); // invalid UTF-8 in a text frame
      expect = 'close';
    } else {
      input = JSON.stringify({ type: 'prompt', text: 'x'.repeat(70_000) }); // over the 64 KiB limit
      expect = 'close';
    }
    if (Buffer.byteLength(input) > 64 * 1024) expect = 'close'; // over the limit: WebSocket closes with 1009
    c.ws.send(input, { binary });
    tally.sent++;
    const a = await c.answer(`input ${i} (seed ${FUZZ_SEED})`);
    const where = `input ${i} (seed ${FUZZ_SEED}) ${JSON.stringify(String(input).slice(0, 120))}`;
    if (a.kind === 'close') {
      tally.closes++;
      assert.equal(expect, 'close', `${where}: unexpected close ${a.code}`);
      assert.ok(a.code === 1007 || a.code === 1009, `${where}: close code ${a.code}`);
      assert.equal(snapshot(s.stage), before, `${where}: state changed`);
      c = await Client.open(url);
      continue;
    }
    assert.notEqual(expect, 'close', `${where}: expected a protocol close, got ${a.kind}`);
    if (a.kind === 'error') {
      tally.errors++;
      assert.equal(snapshot(s.stage), before, `${where}: a rejected input changed the state`);
      assert.ok(typeof a.msg.error === 'string' && a.msg.error.length > 0);
      assert.ok(a.msg.id === undefined || ['string', 'number'].includes(typeof a.msg.id) || a.msg.id === null);
    } else {
      tally.acks++;
      assert.equal(expect, 'any', `${where}: a hostile input was accepted`);
    }
    const bad = paramsInRange(s.stage);
    assert.equal(bad, null, `${where}: ${bad}`);
  }
  c.ws.close();
  assert.equal(tally.acks + tally.errors + tally.closes, N);
  const errorsAfter = await counter(s.url, 'latentstage_errors_total', 'surface="ws"');
  assert.equal(errorsAfter - errorsBefore, tally.errors, 'every error reply is counted in /metrics');
  await waitFor(() => s.stage.engine.frame > frameBefore + 5, 10_000, 'the frame loop running after the fuzz');
  return tally;
}
