// Seeded hostile inputs for the fuzz tests: the same seed gives the same inputs, so a failure
// names the seed and the input index that reproduce it.
import { numericParams, numericParamNames, modes, eases } from '../../server/params.ts';
import type { Stage } from '../../server/stage.ts';

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261123);

/** mulberry32: small, fast, seeded. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const bytes = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  return { next, int, pick, bytes };
}
export type Rng = ReturnType<typeof rng>;

export const nested = (depth: number, open = '[', close = ']', inner = '0') => open.repeat(depth) + inner + close.repeat(depth);

const weirdNumbers = ['1e308', '-1e308', '1e400', '-1e400', '123456789012345678901234567890', '-1', '-1e-300', '9007199254740993'];
const oddButValidText = ['', ' ', '\u0000', '\ud800', '\u202e', 'é'.repeat(1000), '../../etc/passwd', '%00', '<script>alert(1)</script>', '{"type":"set"}'];

/** A command surfaces would accept, with random in-range values (safe to apply: no files, no ffmpeg). */
export function validCommand(r: Rng): Record<string, unknown> {
  switch (r.int(7)) {
    case 6:
      return { type: 'prompt', text: r.pick(oddButValidText) };
    case 0: {
      const name = r.pick(numericParamNames);
      const p = numericParams[name];
      return { type: 'set', [name]: name === 'search' ? r.int(2) : p.min + r.next() * (p.max - p.min) };
    }
    case 1:
      return { type: 'set', mode: r.pick(modes), ease: r.pick(eases) };
    case 2:
      return { type: 'seed', seed: r.int(1000) };
    case 3:
      return { type: 'keyframes', keys: [r.int(50), r.int(50), r.int(50)], hold: r.next() * 3, transition: 0.05 + r.next() * 3 };
    case 4:
      return { type: 'tempo', bpm: 20 + r.int(380) };
    default:
      return { type: 'beat' };
  }
}

/** A JSON-ish text that no surface may accept as a command. Never starts a recording or stream. */
export function hostileText(r: Rng): string {
  const key = () => r.pick(['type', 'speed', 'mode', 'seed', 'keys', 'text', 'name', 'url', '__proto__', 'constructor', 'prototype', 'id', 'toString']);
  switch (r.int(16)) {
    case 0:
      return nested(1000 + r.int(9000), r.pick(['[', '{"a":']), r.pick([']', '}']) === ']' ? ']' : '}');
    case 1:
      return `{"type":"set","speed":${nested(500 + r.int(5000))}}`;
    case 2:
      return `{"type":"set","${r.pick(numericParamNames)}":${r.pick(weirdNumbers)}}`;
    case 3:
      return `{"__proto__":{"type":"set","speed":3},"${r.pick(['type', 'speed'])}":${r.pick(['"set"', '1', 'null'])}}`;
    case 4:
      return `{"type":"set","__proto__":{"speed":3.9},"constructor":{"prototype":{"speed":3.9}}}`;
    case 5:
      return JSON.stringify({ type: r.pick(['set', 'seed', 'prompt', 'keyframes', 'tempo', 'preset.load', 'nope', 'SET', ' set']), [key()]: r.pick<unknown>([null, true, [], {}, 'fast', -1, 1e10, [-1, 0.5], { a: 1 }]) });
    case 6:
      return JSON.stringify({ type: 'seed', seed: r.pick<unknown>([-1, 2 ** 32, 1.5, '7', null, [], 1e308]) });
    case 7:
      return JSON.stringify({ type: 'prompt', text: r.pick<unknown>(['é'.repeat(1001), 'x'.repeat(70_000), 5, null, ['a'], { t: 1 }]), fade: r.pick<unknown>([undefined, -1, 1e9, 'x']) });
    case 8:
      return JSON.stringify({ type: 'keyframes', keys: r.pick<unknown>([[], new Array(300).fill(1), [[]], [[1, 2]], [-1], ['a'], null, [1e308]]) });
    case 9:
      return JSON.stringify({ type: r.pick(['preset.load', 'preset.save', 'record.start']), name: r.pick(['../x', '..', 'A', 'a/b', '', 'x'.repeat(65), '%2e%2e', 'a\u0000b']) });
    case 10:
      return JSON.stringify({ type: 'stream.start', url: r.pick(['file:///etc/passwd', 'http://x', 'tcp://', 'rtmp://a b', '-i /etc/passwd', 'x'.repeat(3000), 'concat:a|b']) });
    case 11:
      return r.pick(['', ' ', 'null', 'true', '0', '"set"', '[]', '{}', '{"type":null}', '{"type":{}}', '{"type":"set"}', '[{"type":"set","speed":1}]']);
    case 12: {
      const s = JSON.stringify(validCommand(r));
      return s.slice(0, r.int(s.length)); // truncated
    }
    case 13:
      return r.bytes(1 + r.int(64)).toString('latin1');
    case 14:
      return JSON.stringify({ ...validCommand(r), extra: r.pick<unknown>([1, 'x', null]) });
    default:
      return JSON.stringify({ type: 'set', [r.pick(numericParamNames)]: r.pick<unknown>([-0.001, -1e9, 5000, 1e9, 'NaN', 'Infinity', null, true, [0.5], { v: 0.5 }]) });
  }
}

/** A hostile correlation id, as raw JSON text. */
export function hostileId(r: Rng): string {
  return r.pick([nested(5000), nested(2000, '{"a":', '}'), JSON.stringify('x'.repeat(200)), '{"toJSON":1}', '[1,2]', '1e400', 'true', '{}']);
}

/** What an invalid input must leave unchanged. */
export function snapshot(stage: Stage): string {
  const s = stage.state();
  return JSON.stringify({ params: s.params, prompt: s.prompt.text, strength: s.prompt.strength, seed: s.seed, keys: s.keyframes });
}

/** Every parameter is a finite number in range, or an allowed enum value. */
export function paramsInRange(stage: Stage): string | null {
  const p = stage.state().params as unknown as Record<string, unknown>;
  for (const name of numericParamNames) {
    const v = p[name];
    const r = numericParams[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < r.min || v > r.max) return `${name} = ${String(v)}`;
  }
  if (!modes.includes(p.mode as never)) return `mode = ${String(p.mode)}`;
  if (!eases.includes(p.ease as never)) return `ease = ${String(p.ease)}`;
  for (const k of stage.engine.keys) if (typeof k === 'number' ? !Number.isInteger(k) : k.some((x) => !Number.isFinite(x))) return `bad key ${String(k)}`;
  if (!Number.isFinite(stage.engine.time)) return `time = ${stage.engine.time}`;
  return null;
}

/** Sum of a Prometheus counter's samples whose labels include `labels` (e.g. 'surface="ws"'). */
export async function counter(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = line.match(/^(\w+)(\{([^}]*)\})? (\S+)$/);
    if (m && m[1] === name && (m[3] ?? '').includes(labels)) n += Number(m[4]);
  }
  return n;
}
