// The walk panel: one control per entry of /api/schema (so new parameters appear by themselves):
// a slider (log for parameters that span decades) with a number box, a switch for 0/1
// parameters, a select for enums; sending `set` as they move (throttled), following the server's
// state except while being used, and showing each modulated parameter's live value.
import { $ } from './page.js';
import { isLog, isToggle, toUnit, fromUnit, nudge, POSITIONS } from './scale.js';

const SEND_INTERVAL = 1000 / 30;

function decimals(step) {
  const s = String(step);
  return s.includes('.') ? s.length - s.indexOf('.') - 1 : 0;
}

export function attachParams({ stage, send, note }) {
  const controls = new Map(); // name -> { el, show(v), busyUntil, dragging?, num?, live?, mark? }
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
      const c = { el: select, busyUntil: 0, show: (v) => (select.value = v) };
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
      row.dataset.param = name;
      const label = document.createElement('label');
      label.textContent = name;
      label.htmlFor = `param-${name}`;
      if (isToggle(p)) {
        const box = Object.assign(document.createElement('input'), { type: 'checkbox', id: `param-${name}`, name, className: 'toggle', checked: p.default === 1, title: p.doc ?? '' });
        box.setAttribute('role', 'switch');
        const c = { el: box, busyUntil: 0, show: (v) => (box.checked = Number(v) === 1) };
        box.addEventListener('change', () => {
          c.busyUntil = performance.now() + 600;
          void send({ type: 'set', [name]: box.checked ? 1 : 0 });
        });
        row.classList.add('switch');
        row.append(label, box);
        root.append(row);
        controls.set(name, c);
        continue;
      }
      const log = isLog(p);
      const input = document.createElement('input');
      Object.assign(input, { type: 'range', id: `param-${name}`, name, title: p.doc ?? '' });
      if (log) Object.assign(input, { min: 0, max: POSITIONS, step: 1, value: Math.round(toUnit(p, p.default) * POSITIONS) });
      else Object.assign(input, { min: p.min, max: p.max, step: p.step ?? 'any', value: p.default });
      if (log) input.dataset.scale = 'log';
      // The number box: type a value (Enter or leaving the box sends it), arrows step, shift for fine.
      const num = Object.assign(document.createElement('input'), { type: 'number', id: `param-${name}-value`, className: 'num', min: p.min, max: p.max, step: 'any', value: p.default });
      num.setAttribute('aria-label', `${name}${p.unit ? ` (${p.unit})` : ''}`);
      num.title = `${name}${p.unit ? ` in ${p.unit}` : ''}: type a value, ↑/↓ to step (shift: fine)`;
      const live = document.createElement('output');
      live.className = 'live';
      live.htmlFor = input.id;
      const digits = decimals(p.step ?? 0.01);
      const format = (v) => `${Number(v).toFixed(digits)}${p.unit ? ` ${p.unit}` : ''}`;
      const c = { el: input, num, live, p, format, busyUntil: 0, dragging: false, value: p.default };
      c.show = (v) => {
        c.value = Number(v);
        const pos = log ? String(Math.round(toUnit(p, c.value) * POSITIONS)) : String(v);
        if (input.value !== pos) input.value = pos;
        if (document.activeElement !== num) num.value = String(Number(Number(v).toFixed(digits)));
        placeMark(c);
      };
      const sendLive = liveSender(name);
      const moved = (v) => {
        c.busyUntil = performance.now() + 600;
        c.value = v;
        if (document.activeElement !== num) num.value = String(v);
        placeMark(c);
        sendLive(v);
      };
      input.addEventListener('input', () => moved(log ? fromUnit(p, Number(input.value) / POSITIONS) : Number(input.value)));
      input.addEventListener('pointerdown', () => (c.dragging = true));
      const release = () => {
        c.dragging = false;
        c.busyUntil = performance.now() + 600;
      };
      input.addEventListener('pointerup', release);
      input.addEventListener('pointercancel', release);
      num.addEventListener('keydown', (ev) => {
        if (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown') return;
        ev.preventDefault();
        const v = nudge(p, Number(num.value) || 0, ev.key === 'ArrowUp' ? 1 : -1, ev.shiftKey);
        num.value = String(v);
        c.show(v);
        moved(v);
      });
      num.addEventListener('change', () => {
        const v = Number(num.value);
        if (num.value === '' || !Number.isFinite(v) || v < p.min || v > p.max) {
          note(`${name}: enter a number from ${p.min} to ${p.max}${p.unit ? ` ${p.unit}` : ''}`);
          num.value = String(c.value);
          return;
        }
        c.show(v);
        moved(v);
      });
      num.addEventListener('blur', () => {
        if (performance.now() >= c.busyUntil && stage.state?.params) c.show(stage.state.params[name]);
      });
      // Double-click the name to reset to the default.
      label.addEventListener('dblclick', () => {
        c.show(p.default);
        moved(p.default);
      });
      label.title = `${p.doc ?? ''} (double-click: back to ${format(p.default)})`;
      // While a route modulates the parameter, a fill on the slider runs from the set value to the
      // live one, and the live value is shown after the number box.
      const slot = document.createElement('div');
      slot.className = 'slot';
      const mark = document.createElement('span');
      mark.className = 'mod-mark';
      mark.hidden = true;
      slot.append(input, mark);
      c.mark = mark;
      live.hidden = true;
      row.append(label, slot, num, live);
      root.append(row);
      controls.set(name, c);
    }
  }

  function placeMark(c) {
    if (c.mark.hidden || c.liveValue === undefined) return;
    const a = toUnit(c.p, c.value);
    const b = toUnit(c.p, c.liveValue);
    c.mark.style.left = `${(Math.min(a, b) * 100).toFixed(2)}%`;
    c.mark.style.width = `${(Math.abs(b - a) * 100).toFixed(2)}%`;
    c.mark.dataset.dir = b >= a ? 'up' : 'down';
  }

  /** Show each modulated parameter's live value: a fill on its slider, and "→ value" after the box. */
  function followModulation(mod) {
    const live = mod?.live ?? {};
    for (const [name, c] of controls) {
      if (!c.mark) continue;
      const v = live[name];
      const on = typeof v === 'number';
      c.mark.hidden = !on;
      c.live.hidden = !on;
      if (!on) {
        delete c.el.dataset.live;
        c.liveValue = undefined;
        continue;
      }
      c.liveValue = v;
      placeMark(c);
      c.live.textContent = `→ ${c.format(v)}`;
      c.mark.title = `modulated: ${c.format(c.value)} → ${c.format(v)}`;
      c.el.dataset.live = String(v);
    }
  }

  /** Follow the server's state, except for a control that is being dragged, typed in or was just moved. */
  let refollow = null;
  function followParams(params) {
    const now = performance.now();
    let retry = 0;
    for (const [name, c] of controls) {
      if (!(name in params)) continue;
      if (c.dragging || now < c.busyUntil || (c.num && document.activeElement === c.num)) {
        // catch up with the newest state once the user lets go
        retry = Math.max(retry, c.dragging ? 300 : c.busyUntil - now + 20);
        continue;
      }
      c.show(params[name]);
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
