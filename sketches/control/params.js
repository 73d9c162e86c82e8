// The walk panel: one control per entry of /api/schema (so new parameters appear by themselves),
// sending `set` as they move (throttled), following the server's state except while being
// dragged, and marking each modulated parameter's live value.
import { $ } from './page.js';

const SEND_INTERVAL = 1000 / 30;

function decimals(step) {
  const s = String(step);
  return s.includes('.') ? s.length - s.indexOf('.') - 1 : 0;
}

export function attachParams({ stage, send, note }) {
  const controls = new Map(); // name -> { el, output?, format, busyUntil, dragging }
  let schema = null;

  /** Throttled live sending: at most one `set` per 33 ms per parameter, the last value always sent. */
  function liveSender(name) {
    let timer = null;
    let lastSent = 0;
    let value;
    const flush = () => {
      timer = null;
      lastSent = performance.now();
      void send({ type: 'set', [name]: value });
    };
    return (v) => {
      value = v;
      const wait = SEND_INTERVAL - (performance.now() - lastSent);
      if (wait <= 0) flush();
      else timer ??= setTimeout(flush, wait);
    };
  }

  function build() {
    const root = $('params');
    root.textContent = '';
    for (const [name, p] of Object.entries(schema.enums ?? {})) {
      const row = document.createElement('div');
      row.className = 'param';
      const label = document.createElement('label');
      label.textContent = name;
      label.htmlFor = `param-${name}`;
      const select = document.createElement('select');
      select.id = `param-${name}`;
      select.name = name;
      select.title = p.doc ?? '';
      for (const v of p.values) select.append(new Option(v, v));
      const c = { el: select, busyUntil: 0 };
      select.addEventListener('change', () => {
        c.busyUntil = performance.now() + 600;
        void send({ type: 'set', [name]: select.value });
      });
      row.title = p.doc ?? '';
      row.append(label, select);
      root.append(row);
      controls.set(name, c);
    }
    for (const [name, p] of Object.entries(schema.params ?? {})) {
      const row = document.createElement('div');
      row.className = 'param';
      row.title = p.doc ?? '';
      const label = document.createElement('label');
      label.textContent = name;
      label.htmlFor = `param-${name}`;
      const input = document.createElement('input');
      Object.assign(input, { type: 'range', id: `param-${name}`, name, min: p.min, max: p.max, step: p.step ?? 'any', value: p.default });
      input.title = p.doc ?? '';
      const output = document.createElement('output');
      output.htmlFor = input.id;
      const digits = decimals(p.step ?? 0.01);
      const format = (v) => `${Number(v).toFixed(digits)}${p.unit ? ` ${p.unit}` : ''}`;
      output.textContent = format(p.default);
      const c = { el: input, output, format, busyUntil: 0, dragging: false };
      const live = liveSender(name);
      input.addEventListener('input', () => {
        c.busyUntil = performance.now() + 600;
        output.textContent = format(input.value);
        live(Number(input.value));
      });
      input.addEventListener('pointerdown', () => (c.dragging = true));
      const release = () => {
        c.dragging = false;
        c.busyUntil = performance.now() + 600;
      };
      input.addEventListener('pointerup', release);
      input.addEventListener('pointercancel', release);
      // Double-click / double-tap the value to reset to the default.
      output.addEventListener('dblclick', () => {
        input.value = p.default;
        output.textContent = format(p.default);
        void send({ type: 'set', [name]: p.default });
      });
      // A mark under the slider shows the live value while a modulation route moves the parameter.
      const slot = document.createElement('div');
      slot.className = 'slot';
      const mark = document.createElement('span');
      mark.className = 'mod-mark';
      mark.hidden = true;
      slot.append(input, mark);
      c.mark = mark;
      c.range = [p.min, p.max];
      row.append(label, slot, output);
      root.append(row);
      controls.set(name, c);
    }
  }

  /** Show each modulated parameter's live value moving under its slider. */
  function followModulation(mod) {
    const live = mod?.live ?? {};
    for (const [, c] of controls) {
      if (!c.mark) continue;
      const v = live[c.el.name];
      c.mark.hidden = typeof v !== 'number';
      if (typeof v !== 'number') {
        delete c.el.dataset.live;
        continue;
      }
      const [lo, hi] = c.range;
      c.mark.style.left = `${(((v - lo) / (hi - lo)) * 100).toFixed(2)}%`;
      c.mark.title = `modulated: ${c.format(v)}`;
      c.el.dataset.live = String(v);
    }
  }

  /** Follow the server's state, except for a control that is being dragged or was just moved. */
  let refollow = null;
  function followParams(params) {
    const now = performance.now();
    let retry = 0;
    for (const [name, c] of controls) {
      if (!(name in params)) continue;
      if (c.dragging || now < c.busyUntil) {
        // catch up with the newest state once the user lets go
        retry = Math.max(retry, c.dragging ? 300 : c.busyUntil - now + 20);
        continue;
      }
      const v = params[name];
      if (String(c.el.value) !== String(v)) c.el.value = v;
      if (c.output) c.output.textContent = c.format(c.el.value);
    }
    clearTimeout(refollow);
    if (retry) refollow = setTimeout(() => stage.state?.params && followParams(stage.state.params), retry);
  }

  function render(state) {
    if (!state) return;
    if (state.params) followParams(state.params);
    followModulation(state.modulation);
  }
  stage.on('state', render);

  fetch('/api/schema')
    .then((r) => r.json())
    .then((s) => {
      schema = s;
      build();
      render(stage.state);
    })
    .catch((err) => note(`could not load /api/schema: ${err.message}`));

  /** The parameter table of /api/schema (undefined until it has loaded). */
  return { params: () => schema?.params };
}
