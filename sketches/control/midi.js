// Web MIDI on the control page: MIDI learn (click a slider or a trigger, then move a knob or hit a
// pad), CCs -> parameters, notes -> triggers (random seed, next preset, beat), MIDI clock (24 ppqn)
// -> tempo (clock.js) and beat alignment, start/stop -> the schedule. The mapping lives on the server
// (midi.map, presets/midi-map.json), so every control page plays the controller the same way.

import { ClockTempo, SEND_MS as TEMPO_MS } from './clock.js';
import { fromUnit } from './scale.js';

const TRIGGERS = { 'seed-random': 'seed.random', beat: 'beat', 'preset-next': 'preset.next' };
const SEND_MS = 16; // at most one set per parameter per frame at 60 fps
const KEEPALIVE_MS = 1000; // routed knobs' values are resent this often (the server holds CCs 3 s)

/**
 * @param {object} o
 * @param {object} o.stage         connectStage() result (state, on)
 * @param {(cmd: object, opts?: object) => Promise<object|null>} o.send
 * @param {(text: string, kind?: string) => void} o.note
 * @param {() => object} o.params  the parameter table of /api/schema
 * @param {(action: string) => void} o.trigger  run a trigger action (seed.random, beat, preset.next)
 */
export function attachMidi({ stage, send, note, params: schemaParams, trigger }) {
  const $ = (id) => document.getElementById(id);
  const status = $('midi-status');
  const learnBtn = $('midi-learn');
  const list = $('midi-map');
  const midi = { inputs: 0, learning: null, mappings: [], bpm: null, ticks: 0, received: 0 };
  window.midi = midi;

  // ---- the shared mapping ------------------------------------------------------------------
  const same = (a, b) => (a.cc !== undefined ? a.cc === b.cc : a.note === b.note) && (a.cc !== undefined) === (b.cc !== undefined) && (a.channel ?? 0) === (b.channel ?? 0);
  function show() {
    list.replaceChildren(
      ...midi.mappings.map((m, i) => {
        const li = document.createElement('li');
        li.textContent = m.cc !== undefined ? `CC ${m.cc}${m.channel ? ` ch ${m.channel}` : ''} → ${m.param}` : `note ${m.note}${m.channel ? ` ch ${m.channel}` : ''} → ${m.action}`;
        const del = document.createElement('button');
        del.type = 'button';
        del.className = 'ghost';
        del.textContent = '×';
        del.title = 'forget this mapping';
        del.addEventListener('click', () => void save(midi.mappings.filter((_, k) => k !== i)));
        li.append(' ', del);
        return li;
      }),
    );
  }
  function follow(state) {
    const m = state?.midi?.mappings;
    if (!Array.isArray(m) || JSON.stringify(m) === JSON.stringify(midi.mappings)) return;
    midi.mappings = m;
    show();
  }
  stage.on('state', follow);
  if (stage.state) follow(stage.state);
  async function save(mappings) {
    const state = await send({ type: 'midi.map', mappings });
    if (state) follow(state);
  }

  // ---- learn ---------------------------------------------------------------------------------
  // While learning, every learnable control is outlined (CSS: body.midi-learning), the armed one
  // stands out, and what to do next is shown in a banner fixed on screen (wherever the page is
  // scrolled) as well as next to the learn button.
  const banner = $('learn-banner');
  function setLearning(target, el = null) {
    midi.learning = target;
    learnBtn.setAttribute('aria-pressed', String(target !== null));
    document.body.classList.toggle('midi-learning', target !== null);
    for (const armed of document.querySelectorAll('.midi-armed')) armed.classList.remove('midi-armed');
    el?.closest('.param, button')?.classList.add('midi-armed');
    const text = target === null ? summary() : target.param || target.action ? `move a knob or hit a pad for ${target.param ?? target.action}…` : 'MIDI learn: click a slider or Random / Beat / Next preset…';
    status.textContent = text;
    banner.hidden = target === null;
    banner.querySelector('span').textContent = text;
  }
  banner.querySelector('button').addEventListener('click', () => setLearning(null));
  learnBtn.addEventListener('click', () => setLearning(midi.learning ? null : {}));
  // While learning, a click picks the target instead of acting.
  document.addEventListener(
    'pointerdown',
    (ev) => {
      if (!midi.learning) return;
      const el = ev.target instanceof Element ? ev.target : null;
      const range = el?.closest('input[type=range]');
      const button = el?.closest('button');
      if (range?.name) setLearning({ param: range.name }, range);
      else if (button && TRIGGERS[button.id]) setLearning({ action: TRIGGERS[button.id] }, button);
      else return;
      ev.preventDefault();
      ev.stopPropagation();
    },
    true,
  );
  document.addEventListener(
    'click',
    (ev) => {
      const button = ev.target instanceof Element ? ev.target.closest('button') : null;
      if (midi.learning && button && TRIGGERS[button.id]) {
        ev.preventDefault();
        ev.stopImmediatePropagation();
      }
    },
    true,
  );

  function learn(kind, number, channel) {
    const t = midi.learning;
    if (!t || (kind === 'cc' && !t.param) || (kind === 'note' && !t.action)) return false;
    const m = kind === 'cc' ? { cc: number, channel, param: t.param } : { note: number, channel, action: t.action };
    setLearning(null);
    note(`learned ${kind === 'cc' ? `CC ${number}` : `note ${number}`} → ${t.param ?? t.action}`, 'info');
    void save([...midi.mappings.filter((x) => !same(x, m)), m]);
    return true;
  }

  // ---- playing -------------------------------------------------------------------------------
  /** Send without a message on failure (e.g. schedule.start with no schedule loaded). */
  const quiet = (cmd) => void stage.send(cmd).catch(() => {});
  const senders = new Map(); // key -> { value, timer, last }
  /** Throttled send per key: the newest value goes out at most every SEND_MS. */
  function throttled(key, make) {
    let s = senders.get(key);
    if (!s) senders.set(key, (s = { make, timer: null, last: 0 }));
    s.make = make;
    const flush = () => {
      s.timer = null;
      s.last = performance.now();
      quiet(s.make());
    };
    const wait = SEND_MS - (performance.now() - s.last);
    if (wait <= 0) flush();
    else s.timer ??= setTimeout(flush, wait);
  }

  function onCc(cc, channel, value) {
    if (learn('cc', cc, channel)) return;
    const params = schemaParams() ?? {};
    for (const m of midi.mappings) {
      if (m.cc !== cc || (m.channel && m.channel !== channel)) continue;
      const p = params[m.param];
      if (!p) continue;
      const lo = m.min ?? p.min;
      const hi = m.max ?? p.max;
      const step = p.step ?? 0.01;
      // a knob turns a parameter as its slider does (log for one that spans decades)
      const v = m.min === undefined && m.max === undefined ? fromUnit(p, value / 127) : Math.min(p.max, Math.max(p.min, Math.round((lo + (value / 127) * (hi - lo)) / step) * step));
      throttled(`param:${m.param}`, () => ({ type: 'set', [m.param]: Number(v.toFixed(6)) }));
    }
    // Knobs also feed modulation routes that listen to them.
    const key = `cc:${cc}`;
    const v = Math.round((value / 127) * 1000) / 1000;
    knobs.set(key, v);
    if (routed(key)) throttled(key, () => ({ type: 'mod.input', values: { [key]: v } }));
  }

  // A knob held still sends nothing, but the server releases an input that goes quiet (3 s for
  // CCs): while a MIDI input is connected, the routed knobs' last values are resent every second.
  const knobs = new Map(); // cc:N -> last value 0..1
  const routed = (key) => Boolean(stage.state?.modulation?.routes?.some((r) => r.source === key));
  setInterval(() => {
    if (!midi.inputs) return;
    const values = {};
    for (const [key, v] of knobs) if (routed(key)) values[key] = v;
    if (Object.keys(values).length) quiet({ type: 'mod.input', values });
  }, KEEPALIVE_MS);

  function onNote(n, channel) {
    if (learn('note', n, channel)) return;
    for (const m of midi.mappings) if (m.note === n && (!m.channel || m.channel === channel)) trigger(m.action);
  }

  // MIDI clock: 24 ticks per quarter note; every 24th tick after a start is a beat; the tempo
  // comes from clock.js (a smoothed line fit, sent when it changes by 0.1 BPM).
  const clock = new ClockTempo();
  let tempoTimer = null;
  function onClock(t) {
    if (midi.ticks % 24 === 0) quiet({ type: 'beat' });
    midi.ticks++;
    const send = clock.tick(t);
    midi.bpm = clock.bpm;
    if (send !== null) quiet({ type: 'tempo', bpm: send });
    else if (clock.waiting) {
      // the newest value goes out even when the clock stops right after it
      clearTimeout(tempoTimer);
      tempoTimer = setTimeout(() => {
        const late = clock.flush(performance.now());
        if (late !== null) quiet({ type: 'tempo', bpm: late });
      }, TEMPO_MS);
    }
    status.textContent = summary();
  }

  function onMessage(ev) {
    const d = ev.data;
    if (!d || !d.length) return;
    midi.received++;
    const s = d[0];
    const t = ev.timeStamp || performance.now();
    if (s === 0xf8) return onClock(t);
    if (s === 0xfa) {
      midi.ticks = 0;
      clock.reset();
      return quiet({ type: 'schedule.start' });
    }
    if (s === 0xfb) return quiet({ type: 'schedule.start' });
    if (s === 0xfc) return quiet({ type: 'schedule.stop' });
    const kind = s & 0xf0;
    const channel = (s & 0x0f) + 1;
    if (kind === 0xb0 && d.length >= 3) onCc(d[1], channel, d[2]);
    else if (kind === 0x90 && d.length >= 3 && d[2] > 0) onNote(d[1], channel);
  }

  function summary() {
    if (!midi.inputs) return 'no MIDI input';
    return `${midi.inputs} MIDI input${midi.inputs === 1 ? '' : 's'}${midi.bpm ? ` · clock ${midi.bpm} BPM` : ''}`;
  }

  function connect(access) {
    const bind = () => {
      let n = 0;
      for (const input of access.inputs.values()) {
        if (input.state === 'disconnected') continue;
        input.onmidimessage = onMessage;
        n++;
      }
      midi.inputs = n;
      if (!midi.learning) status.textContent = summary();
    };
    access.onstatechange = bind;
    bind();
  }

  if (!navigator.requestMIDIAccess) {
    status.textContent = 'this browser has no Web MIDI';
  } else {
    navigator.requestMIDIAccess({ sysex: false }).then(connect, (err) => {
      status.textContent = `no MIDI access (${err.message})`;
    });
  }
  show();
  return midi;
}
