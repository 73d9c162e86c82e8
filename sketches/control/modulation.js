// Modulation routes on the control page: add an LFO or an input (audio, MIDI CC) onto a walk
// parameter, see the routes, remove them. The sliders mark each modulated value (control.js).
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
];

export function attachModulation({ stage, send, params }) {
  const $ = (id) => document.getElementById(id);
  const target = $('mod-target');
  const source = $('mod-source');
  source.replaceChildren(...SOURCES.map(([v, label]) => new Option(label, v)), new Option('MIDI CC (number below)', 'cc'));
  const fillTargets = () => {
    if (target.options.length) return;
    for (const [name, p] of Object.entries(params() ?? {})) if (p.modulate) target.append(new Option(name, name));
  };

  $('mod-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    fillTargets();
    const name = target.value;
    const p = (params() ?? {})[name];
    if (!p) return;
    const kind = source.value;
    const rate = Number($('mod-rate').value);
    let src;
    if (kind.startsWith('lfo:')) src = { lfo: kind.slice(4), [$('mod-unit').value]: rate };
    else if (kind === 'cc') src = `cc:${Math.round(rate)}`;
    else src = kind;
    // Depth as a share of the parameter's range, so one control fits every parameter.
    const depth = Number((((p.max - p.min) * Number($('mod-depth').value)) / 100).toFixed(6));
    await send({ type: 'mod.set', target: name, source: src, depth });
  });

  function show(state) {
    fillTargets();
    const routes = state?.modulation?.routes ?? [];
    const list = $('mod-routes');
    if (list.dataset.routes === JSON.stringify(routes)) return;
    list.dataset.routes = JSON.stringify(routes);
    list.replaceChildren(
      ...routes.map((r) => {
        const li = document.createElement('li');
        const s = typeof r.source === 'string' ? r.source : `${r.source.lfo} ${r.source.hz !== undefined ? `${r.source.hz} Hz` : `${r.source.beats} beats`}`;
        li.textContent = `${r.target} ← ${s} ±${r.depth}`;
        const del = document.createElement('button');
        del.type = 'button';
        del.className = 'ghost';
        del.textContent = '×';
        del.title = `remove ${r.id}`;
        del.addEventListener('click', () => void send({ type: 'mod.clear', id: r.id }));
        li.append(' ', del);
        return li;
      }),
    );
  }
  stage.on('state', show);
  return { show };
}
