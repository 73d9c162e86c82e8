// The modulation panel: add an LFO or an input (audio, MIDI CC) onto a walk parameter, see the
// routes with their input's value (marked stale when its source has gone quiet and the server
// released it), remove them. The sliders show each modulated value (params.js).
import { $ } from './page.js';

const SOURCES = [
  ['lfo:sine', 'LFO sine'],
  ['lfo:triangle', 'LFO triangle'],
  ['lfo:saw', 'LFO saw'],
  ['lfo:square', 'LFO square'],
  ['lfo:random', 'LFO smooth random'],
  ['audio:low', 'audio low'],
  ['audio:mid', 'audio mid'],
  ['audio:high', 'audio high'],
  ['audio:loudness', 'audio loudness'],
  ['audio:onset', 'audio onset'],
  ['cc', 'MIDI CC'],
];

export function attachModulation({ stage, send, params }) {
  const target = $('mod-target');
  const source = $('mod-source');
  source.replaceChildren(...SOURCES.map(([v, label]) => new Option(label, v)));
  const fillTargets = () => {
    if (target.options.length) return;
    for (const [name, p] of Object.entries(params() ?? {})) if (p.modulate) target.append(new Option(name, name));
  };
  // A rate means something for an LFO only; a CC source needs its number instead.
  const fields = () => {
    const kind = source.value;
    $('mod-rate-field').hidden = !kind.startsWith('lfo:');
    $('mod-cc-field').hidden = kind !== 'cc';
  };
  source.addEventListener('change', fields);
  fields();

  $('mod-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fillTargets();
    const name = target.value;
    const p = (params() ?? {})[name];
    if (!p) return;
    const kind = source.value;
    let src;
    if (kind.startsWith('lfo:')) src = { lfo: kind.slice(4), [$('mod-unit').value]: Number($('mod-rate').value) };
    else if (kind === 'cc') src = `cc:${Math.round(Number($('mod-cc').value))}`;
    else src = kind;
    // Depth as a share of the parameter's range, so one control fits every parameter.
    const depth = Number((((p.max - p.min) * Number($('mod-depth').value)) / 100).toFixed(6));
    await send({ type: 'mod.set', target: name, source: src, depth });
  });

  const describe = (r) => (typeof r.source === 'string' ? r.source : `${r.source.lfo} ${r.source.hz !== undefined ? `${r.source.hz} Hz` : `${r.source.beats} beats`}`);
  function show(state) {
    fillTargets();
    const mod = state?.modulation;
    const routes = mod?.routes ?? [];
    const list = $('mod-routes');
    if (list.dataset.routes !== JSON.stringify(routes)) {
      list.dataset.routes = JSON.stringify(routes);
      list.replaceChildren(
        ...routes.map((r) => {
          const li = document.createElement('li');
          li.dataset.route = r.id;
          const text = document.createElement('span');
          text.textContent = `${r.target} ← ${describe(r)} ±${r.depth}`;
          const value = document.createElement('span');
          value.className = 'input-value';
          const del = document.createElement('button');
          del.type = 'button';
          del.className = 'ghost';
          del.textContent = '×';
          del.title = `remove ${r.id}`;
          del.addEventListener('click', () => void send({ type: 'mod.clear', id: r.id }));
          li.append(text, ' ', value, ' ', del);
          return li;
        }),
      );
    }
    // each input route's current input, and whether its source has gone quiet
    const stale = new Set(mod?.stale ?? []);
    for (const li of list.children) {
      const r = routes.find((x) => x.id === li.dataset.route);
      if (!r || typeof r.source !== 'string') continue;
      const v = mod?.inputs?.[r.source];
      const quiet = stale.has(r.source) || v === undefined;
      li.classList.toggle('stale', quiet);
      li.querySelector('.input-value').textContent = v === undefined ? '(no input yet)' : `${v.toFixed(2)}${stale.has(r.source) ? ' · stale' : ''}`;
      li.title = quiet ? `${r.source}: nothing heard from its source lately, so it rests at 0` : `${r.source} = ${v}`;
    }
  }
  stage.on('state', show);
  return { show };
}
