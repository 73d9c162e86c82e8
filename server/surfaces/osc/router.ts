// Which routes an incoming address reaches. Literal addresses are a map lookup; addresses with
// OSC 1.0 pattern characters reach every route they match, part by part between slashes:
//   ?        any one character          *        any run of characters (also none)
//   [a-z]    one of the set (ranges)    [!a-z]   one character not in the set
//   {a,b}    one of the strings
// Matching is linear in the address times the pattern (no backtracking blow-up on `****`).
import type { OscRoute } from './table.ts';

export class OscPatternError extends Error {}

type Token =
  | { kind: 'lit'; text: string }
  | { kind: 'one' }
  | { kind: 'star' }
  | { kind: 'set'; negate: boolean; ranges: [string, string][] }
  | { kind: 'alt'; options: string[] };

const SPECIAL = /[*?[\]{}]/;

/** True when an address uses pattern characters. */
export function isPattern(address: string): boolean {
  return SPECIAL.test(address);
}

function compilePart(part: string, pattern: string): Token[] {
  const out: Token[] = [];
  let lit = '';
  const flush = () => {
    if (lit) out.push({ kind: 'lit', text: lit });
    lit = '';
  };
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '?' || c === '*') {
      flush();
      if (c === '?') out.push({ kind: 'one' });
      else if (out.at(-1)?.kind !== 'star') out.push({ kind: 'star' });
    } else if (c === '[') {
      flush();
      const end = part.indexOf(']', i + 1);
      if (end < 0) throw new OscPatternError(`bad address pattern "${pattern}": "[" without "]"`);
      let body = part.slice(i + 1, end);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      if (!body) throw new OscPatternError(`bad address pattern "${pattern}": empty "[]"`);
      const ranges: [string, string][] = [];
      for (let j = 0; j < body.length; j++) {
        if (body[j + 1] === '-' && j + 2 < body.length) {
          ranges.push([body[j]!, body[j + 2]!]);
          j += 2;
        } else ranges.push([body[j]!, body[j]!]);
      }
      out.push({ kind: 'set', negate, ranges });
      i = end;
    } else if (c === '{') {
      flush();
      const end = part.indexOf('}', i + 1);
      if (end < 0) throw new OscPatternError(`bad address pattern "${pattern}": "{" without "}"`);
      out.push({ kind: 'alt', options: part.slice(i + 1, end).split(',') });
      i = end;
    } else if (c === ']' || c === '}') {
      throw new OscPatternError(`bad address pattern "${pattern}": "${c}" without its opening bracket`);
    } else lit += c;
  }
  flush();
  return out;
}

function inSet(t: Extract<Token, { kind: 'set' }>, c: string): boolean {
  const hit = t.ranges.some(([lo, hi]) => c >= lo && c <= hi);
  return hit !== t.negate;
}

/** Match one address part against compiled tokens (memoised over token and position). */
function matchPart(tokens: Token[], s: string): boolean {
  const memo = new Map<number, boolean>();
  const go = (ti: number, si: number): boolean => {
    if (ti === tokens.length) return si === s.length;
    const key = ti * (s.length + 1) + si;
    const seen = memo.get(key);
    if (seen !== undefined) return seen;
    const t = tokens[ti]!;
    let ok = false;
    switch (t.kind) {
      case 'lit':
        ok = s.startsWith(t.text, si) && go(ti + 1, si + t.text.length);
        break;
      case 'one':
        ok = si < s.length && go(ti + 1, si + 1);
        break;
      case 'set':
        ok = si < s.length && inSet(t, s[si]!) && go(ti + 1, si + 1);
        break;
      case 'alt':
        ok = t.options.some((o) => s.startsWith(o, si) && go(ti + 1, si + o.length));
        break;
      case 'star':
        for (let k = si; k <= s.length && !ok; k++) ok = go(ti + 1, k);
        break;
    }
    memo.set(key, ok);
    return ok;
  };
  return go(0, 0);
}

/** A compiled address pattern: `matches(address)` for concrete addresses. */
export function compilePattern(pattern: string): (address: string) => boolean {
  const parts = pattern.split('/').map((p) => compilePart(p, pattern));
  return (address) => {
    const segs = address.split('/');
    return segs.length === parts.length && parts.every((tokens, i) => matchPart(tokens, segs[i]!));
  };
}

export interface Match {
  /** The route's own full address (the key for fader coalescing and edge detection). */
  address: string;
  route: OscRoute;
}

const CACHE = 256;

export class Router {
  private readonly all: Map<string, OscRoute>;
  private cache = new Map<string, Match[]>();

  /** Built-in routes (full addresses) first; mapped controller addresses after. */
  constructor(...tables: Map<string, OscRoute>[]) {
    this.all = new Map(tables.flatMap((t) => [...t]));
  }

  /** The routes an address reaches (empty when none); throws OscPatternError on a bad pattern. */
  match(address: string): Match[] {
    if (!isPattern(address)) {
      const route = this.all.get(address);
      return route ? [{ address, route }] : [];
    }
    let hit = this.cache.get(address);
    if (!hit) {
      const matches = compilePattern(address);
      hit = [...this.all].filter(([a]) => matches(a)).map(([a, route]) => ({ address: a, route }));
      if (this.cache.size >= CACHE) this.cache.clear();
      this.cache.set(address, hit);
    }
    return hit;
  }
}
