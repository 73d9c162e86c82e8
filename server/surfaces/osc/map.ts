// Declarative OSC mappings (presets/osc-map.json or --osc-map FILE): arbitrary controller
// addresses onto parameters and commands. Data only, never evaluated. Entry shapes:
//   {"/1/fader1": {"param": "speed", "range": [0, 2], "curve": "exp", "in": [0, 1], "offset": 0}}
//   {"/1/toggle2": {"param": "mode", "value": "loop"}}           sets a value on a rising edge
//   {"/3/xy": {"params": ["speed", {"param": "truncation", "range": [0, 1.5]}]}}  one arg each
//   {"/2/push1": {"command": {"type": "seed", "seed": 7}}}        any command, on a rising edge
//   {"/1/toggle1": {"alias": "/record"}}                          a built-in address (args as sent)
//   {"/2/push2": {"alias": "/beat", "args": [1]}}                 ... with fixed args, on a rising edge
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseCommand } from '../../commands.ts';
import { numericParams, numericParamNames, enumParams, type NumericParamName } from '../../params.ts';
import type { PublicState } from '../../state.ts';
import type { OscArg, TypedArg } from './wire.ts';
import type { OscRoute } from './table.ts';
import { toNumber, toChoice } from './args.ts';
import { describeIssues } from '../../zod-issues.ts';
import { OSC_ADDRESS } from '../../schema-atoms.ts';
import { typeTags } from './args.ts';

export class OscMapError extends Error {}

const K = 4; // steepness of the exp/log curves
const curves = ['linear', 'exp', 'log'] as const;
type Curve = (typeof curves)[number] | number;

const pair = z.tuple([z.number(), z.number()], { error: 'must be a pair of numbers [low, high]' }).refine(([a, b]) => a !== b, 'low and high must differ');
const scaleShape = {
  in: pair.optional(),
  range: pair.optional(),
  curve: z.union([z.enum(curves), z.number().positive()], { error: `curve must be ${curves.join(', ')} or a positive power` }).optional(),
  offset: z.number().optional(),
};
const numericName = z.enum(numericParamNames, { error: `param must be one of ${numericParamNames.join(', ')}` });
const enumNames = Object.keys(enumParams) as (keyof typeof enumParams)[];
const anyName = z.enum([...numericParamNames, ...enumNames], { error: `param must be one of ${[...numericParamNames, ...enumNames].join(', ')}` });

const faderSchema = z.strictObject({ param: numericName, ...scaleShape });
const valueSchema = z.strictObject({ param: anyName, value: z.union([z.number(), z.string()]) });
const multiSchema = z.strictObject({
  params: z.array(z.union([numericName, faderSchema])).min(1, 'params needs at least one parameter').max(8, 'at most 8 params'),
  ...scaleShape,
});
const commandSchema = z.strictObject({ command: z.record(z.string(), z.unknown()) });
const aliasSchema = z.strictObject({
  alias: z.string().regex(/^\/[^\s#*,?[\]{}]*$/, 'alias must be an address like "/beat"'),
  args: z.array(z.union([z.number(), z.string()])).max(16).optional(),
});
const MAX_ENTRIES = 1024;

interface Scale {
  param: NumericParamName;
  in: [number, number];
  range: [number, number];
  curve: Curve;
  offset: number;
}

function shape(curve: Curve, t: number): number {
  if (curve === 'exp') return Math.expm1(K * t) / Math.expm1(K);
  if (curve === 'log') return Math.log1p(t * Math.expm1(K)) / K;
  if (typeof curve === 'number') return t ** curve;
  return t;
}

function unshape(curve: Curve, y: number): number {
  if (curve === 'exp') return shape('log', y);
  if (curve === 'log') return shape('exp', y);
  if (typeof curve === 'number') return y ** (1 / curve);
  return y;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** Controller value -> parameter value. */
export function scaleValue(s: Scale, x: number): number {
  const t = clamp01((x - s.in[0]) / (s.in[1] - s.in[0]));
  return s.range[0] + shape(s.curve, t) * (s.range[1] - s.range[0]) + s.offset;
}

/** Parameter value -> controller value (so faders follow). */
export function unscaleValue(s: Scale, v: number): number {
  const y = clamp01((v - s.offset - s.range[0]) / (s.range[1] - s.range[0]));
  return s.in[0] + unshape(s.curve, y) * (s.in[1] - s.in[0]);
}

function issues(err: z.ZodError): string {
  return describeIssues(err.issues);
}

function scaleOf(param: NumericParamName, own: Partial<z.infer<typeof faderSchema>>, shared: Partial<z.infer<typeof faderSchema>> = {}): Scale {
  const p = numericParams[param];
  const s: Scale = {
    param,
    in: own.in ?? shared.in ?? [0, 1],
    range: own.range ?? shared.range ?? [p.min, p.max],
    curve: own.curve ?? shared.curve ?? 'linear',
    offset: own.offset ?? shared.offset ?? 0,
  };
  for (const end of s.range) {
    const v = end + s.offset;
    if (v < p.min || v > p.max) throw new Error(`${param} range ${JSON.stringify(s.range)}${s.offset ? ` + offset ${s.offset}` : ''} leaves ${p.min}..${p.max}`);
  }
  return s;
}

/** What OSCQuery shows for a mapped controller address. */
export interface MappedAddress {
  path: string;
  /** OSC type tags of what it accepts. */
  type: string;
  description: string;
  /** Per argument: the controller's range (faders) or values (buttons). */
  range: ({ MIN: number; MAX: number } | { VALS: number[] })[];
  /** The controller value that matches the state now, where it follows the state. */
  value?: (s: PublicState) => TypedArg[];
}

export interface OscMap {
  /** Full address -> route. */
  routes: Map<string, OscRoute>;
  /** Every mapped address, described for OSCQuery. */
  described: MappedAddress[];
  /** Values to send mapped addresses so controllers follow the state. */
  feedback(state: PublicState): [string, TypedArg[]][];
}

const describeScale = (s: Scale) => `${s.param} ${s.range[0] + s.offset}..${s.range[1] + s.offset}${s.curve === 'linear' ? '' : ` (${s.curve})`}`;
const button = { VALS: [0, 1] };

interface Compiled {
  route: OscRoute;
  follow?: (s: PublicState) => TypedArg[];
  description: string;
  range: MappedAddress['range'];
}

function compile(address: string, entry: unknown, builtins: Map<string, OscRoute>, prefix: string): Compiled {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new Error('an entry must be an object');
  const has = (k: string) => Object.hasOwn(entry, k);
  const parse = <T>(schema: z.ZodType<T>): T => {
    const r = schema.safeParse(entry);
    if (!r.success) throw new Error(issues(r.error));
    return r.data;
  };
  const base = { path: address, command: '', doc: '' };
  if (has('param') && has('value')) {
    const e = parse(valueSchema);
    const en = e.param === 'mode' || e.param === 'ease' ? enumParams[e.param] : null;
    const value = en ? toChoice(e.value, en.values, e.param) : toNumber(e.value, e.param);
    const cmd = parseCommand({ type: 'set', [e.param]: value });
    return {
      route: { ...base, args: '[f]', kind: 'queue', edge: 'rise', toCommand: () => ({ ...cmd }) },
      follow: (s) => [{ type: 'f', value: s.params[e.param] === value ? 1 : 0 }],
      description: `Mapped: sets ${e.param} to ${value} (on a press; 1 while it is ${value})`,
      range: [button],
    };
  }
  if (has('param')) {
    const e = parse(faderSchema);
    const s = scaleOf(e.param, e);
    return {
      route: { ...base, args: 'f', kind: 'fader', toCommand: (args) => ({ type: 'set', [s.param]: scaleValue(s, toNumber(args[0], s.param)) }) },
      follow: (st) => [{ type: 'f', value: unscaleValue(s, st.params[s.param]) }],
      description: `Mapped fader: ${describeScale(s)}`,
      range: [{ MIN: Math.min(...s.in), MAX: Math.max(...s.in) }],
    };
  }
  if (has('params')) {
    const e = parse(multiSchema);
    const scales = e.params.map((p) => (typeof p === 'string' ? scaleOf(p, {}, e) : scaleOf(p.param, p, e)));
    return {
      route: {
        ...base,
        args: scales.map(() => 'f').join(' '),
        kind: 'fader',
        toCommand(args) {
          const cmd: Record<string, unknown> = { type: 'set' };
          scales.forEach((s, i) => {
            if (i < args.length) cmd[s.param] = scaleValue(s, toNumber(args[i], s.param));
          });
          return cmd;
        },
      },
      follow: (st) => scales.map((s) => ({ type: 'f', value: unscaleValue(s, st.params[s.param]) })),
      description: `Mapped: ${scales.map(describeScale).join(', ')} (one argument each)`,
      range: scales.map((s) => ({ MIN: Math.min(...s.in), MAX: Math.max(...s.in) })),
    };
  }
  if (has('command')) {
    const e = parse(commandSchema);
    const cmd = parseCommand(e.command);
    return { route: { ...base, args: '[f]', kind: 'queue', edge: 'rise', toCommand: () => structuredClone(cmd) }, description: `Mapped: sends ${JSON.stringify(cmd)} on a press`, range: [button] };
  }
  if (has('alias')) {
    const e = parse(aliasSchema);
    const target = builtins.get(prefix + e.alias);
    if (!target) throw new Error(`alias "${e.alias}" is not a built-in address (known: ${[...builtins.values()].map((r) => r.path).join(', ')})`);
    const full = prefix + e.alias;
    if (!e.args) return { route: target, description: `Mapped: same as ${full}. ${target.doc}`, range: [] };
    const fixed: OscArg[] = e.args;
    target.toCommand(fixed); // bad fixed args fail now, not on stage
    return {
      route: { ...target, args: '[f]', kind: target.kind === 'local' ? 'local' : 'queue', edge: 'rise', toCommand: () => target.toCommand(fixed) },
      description: `Mapped: ${full} ${fixed.join(' ')} on a press`,
      range: [button],
    };
  }
  throw new Error('an entry needs one of "param", "params", "command" or "alias"');
}

/** Validate and compile a mapping; errors name the file and the entry. */
export function parseOscMap(json: unknown, builtins: Map<string, OscRoute>, prefix: string, source = 'OSC map'): OscMap {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new OscMapError(`${source}: must be a JSON object of "/address": mapping`);
  const entries = Object.entries(json).filter(([k]) => k !== 'description');
  if (entries.length > MAX_ENTRIES) throw new OscMapError(`${source}: at most ${MAX_ENTRIES} entries`);
  const routes = new Map<string, OscRoute>();
  const follows: [string, (s: PublicState) => TypedArg[]][] = [];
  const described: MappedAddress[] = [];
  for (const [address, entry] of entries) {
    if (!OSC_ADDRESS.test(address)) throw new OscMapError(`${source}: "${address}": addresses must start with "/" and contain no spaces or #*,?[]{}`);
    if (builtins.has(address)) throw new OscMapError(`${source}: "${address}": is a built-in address; map a controller address instead`);
    try {
      const { route, follow, description, range } = compile(address, entry, builtins, prefix);
      routes.set(address, route);
      if (follow) follows.push([address, follow]);
      described.push({ path: address, type: typeTags(route.args), description, range, value: follow });
    } catch (err) {
      throw new OscMapError(`${source}: "${address}": ${(err as Error).message}`);
    }
  }
  return {
    routes,
    described,
    feedback: (state) => follows.map(([a, f]) => [a, f(state)]),
  };
}

export async function loadOscMap(file: string, builtins: Map<string, OscRoute>, prefix: string): Promise<OscMap> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new OscMapError(`${file}: ${(err as Error).message}`);
  }
  return parseOscMap(json, builtins, prefix, file);
}
