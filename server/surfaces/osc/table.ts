// The OSC address table, generated from the command vocabulary and the parameter table: every
// numeric and enum parameter gets an address, so a new parameter is playable over OSC at once.
// The address table in server/surfaces/osc/README.md comes from oscTableMarkdown() (npm run docs).
import { numericParams, numericParamNames, enumParams } from '../../params.ts';
import type { OscArg } from './wire.ts';
import { toNumber, toInt, toText, toLevel, toChoice, OscArgError } from './args.ts';

export const DEFAULT_PREFIX = '/ls';

export interface OscRoute {
  /** Address below the prefix, e.g. "/speed". */
  path: string;
  /** OSC argument types, for the docs ("f", "s [f fade]"). */
  args: string;
  /**
   * fader: only the newest value per address per frame is applied.
   * queue: applied in arrival order, never dropped (prompts, triggers, presets).
   * local: handled by the OSC surface itself (subscriptions).
   */
  kind: 'fader' | 'queue' | 'local';
  /** rise: fires on a rising edge to 1 (or a bare message); change: fires when the level changes. */
  edge?: 'rise' | 'change';
  /** What it dispatches, for the docs. */
  command: string;
  doc: string;
  toCommand(args: OscArg[]): Record<string, unknown>;
}

function need(args: OscArg[], n: number, what: string): void {
  if (args.length < n) throw new OscArgError(`${what} is missing`);
}

export function oscRoutes(): OscRoute[] {
  const routes: OscRoute[] = [
    {
      path: '/prompt',
      args: 's [f fade] [f strength]',
      kind: 'queue',
      command: 'prompt',
      doc: 'Steer the walk toward a text prompt, fading over `fade` seconds.',
      toCommand(args) {
        need(args, 1, 'prompt text');
        const cmd: Record<string, unknown> = { type: 'prompt', text: toText(args[0], 'prompt text') };
        if (args.length > 1) cmd.fade = toNumber(args[1], 'fade');
        if (args.length > 2) cmd.strength = toNumber(args[2], 'strength');
        return cmd;
      },
    },
  ];
  for (const name of numericParamNames) {
    const p = numericParams[name];
    routes.push({
      path: `/${name}`,
      args: 'f',
      kind: 'fader',
      command: `set ${name}`,
      doc: `${p.doc} ${p.min} to ${p.max}${'unit' in p ? ` ${p.unit}` : ''}.`,
      toCommand(args) {
        need(args, 1, name);
        return { type: 'set', [name]: toNumber(args[0], name) };
      },
    });
  }
  for (const [name, e] of Object.entries(enumParams)) {
    routes.push({
      path: `/${name}`,
      args: 's|i',
      kind: 'fader',
      command: `set ${name}`,
      doc: `${e.doc} By name or index (${e.values.map((v, i) => `${i}=${v}`).join(', ')}).`,
      toCommand(args) {
        need(args, 1, name);
        return { type: 'set', [name]: toChoice(args[0], e.values, name) };
      },
    });
  }
  routes.push(
    {
      path: '/seed',
      args: 'i',
      kind: 'fader',
      command: 'seed',
      doc: 'Jump to a walk seed (floats like 42.0 are accepted).',
      toCommand(args) {
        need(args, 1, 'seed');
        return { type: 'seed', seed: toInt(args[0], 'seed') };
      },
    },
    {
      path: '/keyframes',
      args: 'i...',
      kind: 'queue',
      command: 'keyframes',
      doc: 'Glide through these seeds (keyframes mode).',
      toCommand(args) {
        need(args, 1, 'a seed');
        return { type: 'keyframes', keys: args.map((a, i) => toInt(a, `seed ${i + 1}`)) };
      },
    },
    {
      path: '/preset/load',
      args: 's',
      kind: 'queue',
      command: 'preset.load',
      doc: 'Load a preset by name.',
      toCommand: (args) => ({ type: 'preset.load', name: toText(args[0], 'preset name') }),
    },
    {
      path: '/preset/save',
      args: 's',
      kind: 'queue',
      command: 'preset.save',
      doc: 'Save the current walk as a preset.',
      toCommand: (args) => ({ type: 'preset.save', name: toText(args[0], 'preset name') }),
    },
    {
      path: '/record',
      args: 'i',
      kind: 'queue',
      edge: 'change',
      command: 'record.start / record.stop',
      doc: '1 starts recording, 0 stops (fires when the value changes; a bare message starts).',
      toCommand: (args) => ({ type: args.length === 0 || toLevel(args[0]) ? 'record.start' : 'record.stop' }),
    },
    {
      path: '/tempo',
      args: 'f',
      kind: 'fader',
      command: 'tempo',
      doc: 'Set the tempo in beats per minute.',
      toCommand(args) {
        need(args, 1, 'tempo');
        return { type: 'tempo', bpm: toNumber(args[0], 'tempo') };
      },
    },
    {
      path: '/beat',
      args: '[f]',
      kind: 'queue',
      edge: 'rise',
      command: 'beat',
      doc: 'Tap a beat: fires on a rising edge to 1 (a button\'s 1.0 then 0.0 is one beat) or a bare message.',
      toCommand: () => ({ type: 'beat' }),
    },
    {
      path: '/mod/input',
      args: 's f [f hold]',
      kind: 'queue',
      command: 'mod.input',
      doc: 'Feed a modulation input: `/ls/mod/input fader3 0.7` sets `osc:fader3` (0 to 1) for routes that use it. It releases to 0 after 3 s without a new value, or after `hold` seconds (`/ls/mod/input fader3 0.7 3600` for a controller that sends only on change).',
      toCommand(args) {
        need(args, 2, 'input name and value');
        const values = { [`osc:${toText(args[0], 'input name')}`]: toNumber(args[1], 'input value') };
        return args.length > 2 ? { type: 'mod.input', values, hold: toNumber(args[2], 'hold') } : { type: 'mod.input', values };
      },
    },
    {
      path: '/mod/set',
      args: 's',
      kind: 'queue',
      command: 'mod.set',
      doc: 'Add or replace a modulation route, given as the JSON of a `mod.set` command without its type.',
      toCommand(args) {
        need(args, 1, 'route JSON');
        let route: unknown;
        try {
          route = JSON.parse(toText(args[0], 'route JSON'));
        } catch {
          throw new OscArgError('route JSON is not valid JSON');
        }
        if (!route || typeof route !== 'object' || Array.isArray(route)) throw new OscArgError('route JSON must be an object');
        return { ...(route as object), type: 'mod.set' };
      },
    },
    {
      path: '/mod/clear',
      args: '[s id]',
      kind: 'queue',
      command: 'mod.clear',
      doc: 'Remove the modulation route `id`, or every route without an argument.',
      toCommand: (args) => (args.length ? { type: 'mod.clear', id: toText(args[0], 'route id') } : { type: 'mod.clear' }),
    },
    {
      path: '/subscribe',
      args: '[i port]',
      kind: 'local',
      command: '-',
      doc: 'Send state feedback (`/ls/state/...`) to the sender, at `port` or its source port; a full dump first.',
      toCommand: () => ({}),
    },
    {
      path: '/unsubscribe',
      args: '[i port]',
      kind: 'local',
      command: '-',
      doc: 'Stop state feedback to the sender.',
      toCommand: () => ({}),
    },
  );
  return routes;
}

/** Feedback addresses sent to subscribers (below the prefix). */
export const feedbackRows: [string, string, string][] = [
  ['/state/<param>', 'f', 'Each numeric parameter (`/state/speed`, `/state/truncation`, ...).'],
  ['/state/mode', 's', 'Walk mode (also `/state/ease`).'],
  ['/state/seed', 'i', 'Walk seed.'],
  ['/state/prompt', 's', 'Active prompt text.'],
  ['/state/fps', 'f', 'Measured frames per second.'],
  ['/state/recording', 'i', '1 while recording.'],
  ['/state/tempo', 'f', 'Tempo in beats per minute.'],
  ['/state/warning', 's', 'Prompt vocabulary warnings, when there are any ("" when cleared).'],
  ['/error', 's', 'Sent back to the sender of a bad message: unknown address, wrong types, rejected command.'],
];

export function oscTableMarkdown(prefix = DEFAULT_PREFIX): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  const lines = ['| Address | Args | Command | Effect |', '| --- | --- | --- | --- |'];
  for (const r of oscRoutes()) lines.push(`| \`${prefix}${r.path}\` | \`${esc(r.args)}\` | ${r.command === '-' ? '-' : `\`${r.command}\``} | ${esc(r.doc)} |`);
  lines.push('', '| Feedback address | Args | Meaning |', '| --- | --- | --- |');
  for (const [p, a, d] of feedbackRows) lines.push(`| \`${prefix}${p}\` | \`${a}\` | ${esc(d)} |`);
  return lines.join('\n');
}
