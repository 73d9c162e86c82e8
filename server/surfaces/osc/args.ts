// Coerce OSC arguments the way controllers send them: TouchOSC sends floats for everything (a
// seed of 42.0 is 42), Max sends ints or strings ("0.5"), buttons send 1.0 then 0.0 or T/F.
import type { OscArg } from './wire.ts';

export class OscArgError extends Error {}

function describe(v: OscArg | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'nil';
  if (v instanceof Uint8Array) return 'a blob';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}...` : v}"`;
  return String(v);
}

export function toNumber(v: OscArg | undefined, what: string): number {
  let n: number = NaN;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'boolean') n = v ? 1 : 0;
  else if (typeof v === 'string' && v.trim() !== '') n = Number(v.trim());
  if (!Number.isFinite(n)) throw new OscArgError(`${what} must be a number, got ${describe(v)}`);
  return n;
}

/** Integers sent as floats (42.0, or 41.99999 after float32) round; 42.5 stays and is rejected later. */
export function toInt(v: OscArg | undefined, what: string): number {
  const n = toNumber(v, what);
  const r = Math.round(n);
  return Math.abs(n - r) < 1e-3 ? r : n;
}

export function toText(v: OscArg | undefined, what: string): string {
  if (typeof v === 'string') return v;
  throw new OscArgError(`${what} must be a string (s), got ${describe(v)}`);
}

/** A button or toggle level: numbers >= 0.5, T, "1"/"true"/"on" are on. */
export function toLevel(v: OscArg | undefined): boolean {
  if (typeof v === 'boolean') return v;
  if (v === null || v === undefined || v instanceof Uint8Array) return false;
  if (typeof v === 'string') return ['1', 'true', 'on', 'yes'].includes(v.trim().toLowerCase()) || Number(v) >= 0.5;
  return Number(v) >= 0.5;
}

/** An enum value by name or by index (0, 1.0, "1"). */
export function toChoice<T extends string>(v: OscArg | undefined, values: readonly T[], what: string): T {
  if (typeof v === 'string' && (values as readonly string[]).includes(v.trim())) return v.trim() as T;
  let i: number;
  try {
    i = toInt(v, what);
  } catch {
    throw new OscArgError(`${what} must be one of ${values.join(', ')} (or index 0-${values.length - 1}), got ${describe(v)}`);
  }
  if (!Number.isInteger(i) || i < 0 || i >= values.length) {
    throw new OscArgError(`${what} index must be 0-${values.length - 1} (${values.join(', ')}), got ${describe(v)}`);
  }
  return values[i];
}

/** OSC type tags that a route requires (optional ones only when nothing is required). */
export function typeTags(args: string): string {
  const optional = [...args.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1].trim());
  const tag = (t: string) => t[0] ?? '';
  const required = args.replace(/\[[^\]]*\]/g, ' ').split(/\s+/).filter(Boolean).map(tag).join('');
  return required || (optional.length ? tag(optional[0]) : '');
}
