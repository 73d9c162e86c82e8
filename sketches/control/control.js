// The control page (served at /): prompt, walk parameters (generated from /api/schema), seed,
// presets, recording, tempo, live preview and stats. Plain ES module, no framework, no build.
import { connectStage } from '../lib/latentstage.js';
import { attachMidi } from './midi.js';
import { attachModulation } from './modulation.js';
import { attachFaultBanner } from './faults.js';

const $ = (id) => document.getElementById(id);

// A token given as /?token=… (as printed by the server) is remembered and taken out of the
// address bar, so it does not end up in bookmarks or screenshots.
function takeUrlToken() {
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (token === null) return undefined;
  try {
    localStorage.setItem('latentstage.token', token);
  } catch {
    // storage unavailable: the token is used for this visit only
  }
  url.searchParams.delete('token');
  history.replaceState(null, '', url.href);
  return token;
}

const stage = connectStage({ size: 256, control: true, token: takeUrlToken() });
window.stage = stage;

// ---------------------------------------------------------------------------------------------
// Messages: errors and confirmations, bottom right, fading after a few seconds.

function note(text, kind = 'error', ms = kind === 'error' ? 6000 : 2500) {
  const li = document.createElement('li');
  li.className = kind;
  li.textContent = text;
  $('log').append(li);
  while ($('log').children.length > 4) $('log').firstElementChild.remove();
  setTimeout(() => li.classList.add('fading'), ms);
  setTimeout(() => li.remove(), ms + 500);
}

/** Turn a server error into something a performer can read. */
function explain(command, err) {
  if (/unknown command/.test(err.message)) return `${command.type}: not supported by this server (yet)`;
  if (err.status === 401) return `${command.type}: needs the control token`;
  return err.message;
}

// Latency: time from sending a command to its acknowledgement.
let latency = null;

/** Send a command; shows errors, resolves to the new state or null. */
async function send(command, { quiet = false } = {}) {
  const t0 = performance.now();
  try {
    const state = await stage.send(command);
    const ms = performance.now() - t0;
    latency = latency === null ? ms : latency * 0.7 + ms * 0.3;
    $('stat-latency').textContent = `${ms.toFixed(0)} ms`;
    $('stat-latency').title = `average ${latency.toFixed(1)} ms`;
    render(state);
    return state;
  } catch (err) {
    if (!quiet || !/unknown command/.test(err.message)) note(explain(command, err));
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Connection, token, stats, preview.

function showConnection() {
  const el = $('conn');
  let s = stage.status === 'open' && stage.controlStatus === 'open' ? 'open' : stage.status === 'open' ? 'connecting' : stage.status;
  let text = s === 'open' ? 'live' : s;
  if (stage.authRequired) {
    s = 'auth';
    text = 'watch only (token needed)';
  } else if (stage.status === 'open' && stage.controlStatus !== 'open') text = 'control connecting';
  el.dataset.state = s;
  el.textContent = text;
}
stage.on('status', showConnection);
stage.on('control', showConnection);

stage.on('auth', (why) => {
  showConnection();
  $('token-why').textContent =
    why === 'rejected' ? 'The token was not accepted. Enter the token printed when the server started.' : 'This server needs a token for control. It was printed when the server started.';
  if (!$('token-dialog').open) $('token-dialog').showModal();
});
$('token-form').addEventListener('submit', () => {
  const t = $('token').value.trim();
  if (t) stage.setToken(t);
  showConnection();
});
$('token-cancel').addEventListener('click', () => $('token-dialog').close());

stage.on('stats', (s) => {
  $('stat-fps').textContent = String(s.fps);
  $('stat-frame').textContent = String(s.frame);
  $('stat-viewers').textContent = String(s.viewers);
});

const preview = $('preview');
const pctx = preview.getContext('2d');
let previewQueued = false;
stage.on('frame', (img, meta) => {
  if (meta.similarity !== null) $('stat-similarity').textContent = meta.similarity.toFixed(3);
  if (previewQueued) return;
  previewQueued = true;
  requestAnimationFrame(() => {
    previewQueued = false;
    const f = stage.frame;
    if (!f) return;
    if (preview.width !== f.width || preview.height !== f.height) {
      preview.width = f.width;
      preview.height = f.height;
      preview.style.aspectRatio = `${f.width} / ${f.height}`;
    }
    pctx.drawImage(f.canvas, 0, 0);
  });
});

fetch('/api/model')
  .then((r) => r.json())
  .then((m) => {
    $('model').textContent = `${m.manifest?.name ?? m.manifest?.id ?? ''} · ${m.device ?? ''}`;
  })
  .catch(() => {});

// ---------------------------------------------------------------------------------------------
// Prompt with history.

const HISTORY_KEY = 'latentstage.promptHistory';
const loadHistory = () => {
  try {
    const h = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]');
    return Array.isArray(h) ? h.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
};
let past = loadHistory();
let historyPos = past.length; // == past.length: editing the draft
let draft = '';

function remember(text) {
  if (!text) return;
  past = past.filter((h) => h !== text);
  past.push(text);
  past = past.slice(-100);
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(past));
  } catch {
    // storage full or unavailable: history stays for this page only
  }
  historyPos = past.length;
}

$('prompt').addEventListener('keydown', (ev) => {
  if (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown') return;
  if (!past.length) return;
  ev.preventDefault();
  if (historyPos === past.length) draft = $('prompt').value;
  historyPos = Math.max(0, Math.min(past.length, historyPos + (ev.key === 'ArrowUp' ? -1 : 1)));
  $('prompt').value = historyPos === past.length ? draft : past[historyPos];
});

$('prompt-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const text = $('prompt').value.trim();
  const command = { type: 'prompt', text };
  const fade = $('prompt-fade').value;
  if (fade !== '') command.fade = Number(fade);
  const state = await send(command);
  if (state) {
    remember(text);
    draft = '';
  }
});

// ---------------------------------------------------------------------------------------------
// Parameters: one control per entry of /api/schema, so new parameters appear by themselves.

const controls = new Map(); // name -> { el, output?, format, busyUntil, dragging }
const SEND_INTERVAL = 1000 / 30;

function decimals(step) {
  const s = String(step);
  return s.includes('.') ? s.length - s.indexOf('.') - 1 : 0;
}

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

function buildParams(schema) {
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
  for (const [name, c] of controls) {
    if (!c.mark) continue;
    const v = live[name];
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

let schema = null;
fetch('/api/schema')
  .then((r) => r.json())
  .then((s) => {
    schema = s;
    buildParams(schema);
    if (stage.state) render(stage.state);
  })
  .catch((err) => note(`could not load /api/schema: ${err.message}`));

// ---------------------------------------------------------------------------------------------
// Seed and keyframes.

$('seed-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const seed = Number($('seed').value);
  if ($('seed').value === '' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) return note('seed must be a whole number from 0 to 4294967295');
  void send({ type: 'seed', seed });
});
function randomSeed() {
  const seed = crypto.getRandomValues(new Uint32Array(1))[0];
  $('seed').value = String(seed);
  void send({ type: 'seed', seed });
}
$('seed-random').addEventListener('click', randomSeed);

$('keys-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const keys = $('keys')
    .value.split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  if (!keys.length || keys.some((k) => !Number.isInteger(k) || k < 0)) return note('keyframes: give seeds as whole numbers, e.g. 1, 7, 42');
  void send({ type: 'keyframes', keys });
});

// ---------------------------------------------------------------------------------------------
// Presets.

let presets = [];
async function loadPresets() {
  try {
    const res = await fetch('/api/presets');
    presets = await res.json();
  } catch (err) {
    return note(`could not list presets: ${err.message}`);
  }
  const box = $('presets');
  box.textContent = '';
  if (!presets.length) box.innerHTML = '<span class="muted">no presets yet</span>';
  presets.forEach((p, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = p.name;
    b.dataset.preset = p.name;
    b.title = p.error ? `cannot load: ${p.error}` : `${p.description ?? ''}${i < 9 ? ` (key ${i + 1})` : ''}`;
    b.disabled = Boolean(p.error);
    b.addEventListener('click', () => loadPreset(p.name));
    box.append(b);
  });
}
async function loadPreset(name) {
  const state = await send({ type: 'preset.load', name });
  if (!state) return;
  for (const b of $('presets').children) b.setAttribute('aria-current', String(b.dataset.preset === name));
  note(`loaded ${name}`, 'info');
}
function nextPreset() {
  const usable = presets.filter((p) => !p.error);
  if (!usable.length) return note('no presets to step through');
  const current = [...$('presets').children].find((b) => b.getAttribute('aria-current') === 'true')?.dataset.preset;
  const i = usable.findIndex((p) => p.name === current);
  void loadPreset(usable[(i + 1) % usable.length].name);
}
$('preset-next').addEventListener('click', nextPreset);
$('preset-save').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('preset-name').value.trim();
  if (!/^[a-z0-9_-]{1,64}$/.test(name)) return note('preset name: 1-64 characters of a-z, 0-9, _ or -');
  if (await send({ type: 'preset.save', name })) {
    note(`saved ${name}`, 'info');
    $('preset-name').value = '';
    void loadPresets();
  }
});
void loadPresets();

// ---------------------------------------------------------------------------------------------
// Recording and streaming (shown from state.recording / state.stream when the server has them).

function elapsed(startedAt) {
  const t = typeof startedAt === 'number' ? startedAt : Date.parse(startedAt);
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.floor((Date.now() - t) / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

function showRecording() {
  const r = stage.state?.recording;
  const active = Boolean(r?.active);
  const btn = $('record-toggle');
  btn.setAttribute('aria-pressed', String(active));
  btn.textContent = active ? '■ Stop' : '● Record';
  const path = r?.file ?? r?.video ?? r?.walk ?? r?.name ?? '';
  const file = String(path).split(/[\\/]/).pop();
  $('record-status').title = String(path);
  if (active) $('record-status').textContent = `recording ${elapsed(r.startedAt)}${file ? ` → ${file}` : ''}`;
  else if (r?.error) $('record-status').textContent = r.error;
  else $('record-status').textContent = file ? `last: ${file}` : 'not recording';
  const st = stage.state?.stream;
  $('stream-block').hidden = !st;
  if (st) {
    $('stream-toggle').textContent = st.active ? 'Stop stream' : 'Stream';
    $('stream-status').textContent = st.active ? `streaming ${elapsed(st.startedAt)} → ${st.url}` : (st.error ?? 'not streaming');
  }
}
setInterval(showRecording, 1000);

function toggleRecord() {
  if (stage.state?.recording?.active) return void send({ type: 'record.stop' });
  const name = $('record-name').value.trim();
  if (name && !/^[a-z0-9_-]{1,64}$/.test(name)) return note('recording name: 1-64 characters of a-z, 0-9, _ or -');
  void send(name ? { type: 'record.start', name } : { type: 'record.start' });
}
$('record-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  toggleRecord();
});
$('stream-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (stage.state?.stream?.active) return void send({ type: 'stream.stop' });
  const url = $('stream-url').value.trim();
  if (!url) return note('stream: enter an rtmp:// or srt:// URL');
  void send({ type: 'stream.start', url });
});

// ---------------------------------------------------------------------------------------------
// Tempo: BPM, tap tempo, beat.

$('tempo-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const bpm = Number($('bpm').value);
  if (!($('bpm').value !== '' && bpm > 0)) return note('tempo: enter beats per minute');
  void send({ type: 'tempo', bpm });
});
let taps = [];
function tap() {
  const now = performance.now();
  taps = taps.filter((t) => now - t < 3000);
  taps.push(now);
  if (taps.length < 3) return note(`tap ${taps.length}…`, 'info', 600);
  const bpm = Math.round((60000 * (taps.length - 1)) / (now - taps[0]) * 10) / 10;
  $('bpm').value = String(bpm);
  void send({ type: 'tempo', bpm });
}
$('tap').addEventListener('click', tap);
const beat = () => void send({ type: 'beat' });
$('beat').addEventListener('click', beat);

// ---------------------------------------------------------------------------------------------
// State -> page.

function render(state) {
  if (!state) return;
  $('prompt-active').textContent = state.prompt?.text || '(none)';
  if (state.prompt && $('prompt-fade').placeholder !== `${state.params?.fade ?? ''}`) $('prompt-fade').placeholder = `${state.params?.fade ?? ''}`;
  if (state.params) followParams(state.params);
  followModulation(state.modulation);
  if (document.activeElement !== $('seed') && typeof state.seed === 'number') $('seed').value = String(state.seed);
  const understood = Array.isArray(state.understood) ? state.understood : [];
  $('understood').hidden = !understood.length;
  $('understood').replaceChildren(...understood.map((w) => Object.assign(document.createElement('li'), { textContent: String(w) })));
  const warnings = Array.isArray(state.warnings) ? state.warnings : [];
  $('warnings').hidden = !warnings.length;
  $('warnings').replaceChildren(...warnings.map((w) => Object.assign(document.createElement('li'), { textContent: String(w) })));
  if (typeof state.similarity === 'number') $('stat-similarity').textContent = state.similarity.toFixed(3);
  const tempo = state.tempo;
  $('tempo-status').textContent = tempo ? `${tempo.bpm ?? '–'} BPM${tempo.beat !== undefined ? ` · beat ${tempo.beat}` : ''}` : '';
  if (typeof state.frame === 'number') $('stat-frame').textContent = String(state.frame);
  if (typeof state.viewers === 'number') $('stat-viewers').textContent = String(state.viewers);
  showRecording();
}
stage.on('state', render);

// ---------------------------------------------------------------------------------------------
// Keyboard shortcuts: never while typing in a field, never with modifier keys.

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) && !(target instanceof HTMLInputElement && target.type === 'range');
}

window.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === 'Escape' && typing(ev.target)) return ev.target.blur();
  if (typing(ev.target) || document.querySelector('dialog[open]')) return;
  const k = ev.key;
  if (k === '/' || k === 'p') {
    ev.preventDefault();
    $('prompt').focus();
  } else if (k === '?') $('help-dialog').showModal();
  else if (k === 'r') randomSeed();
  else if (k === 'b') beat();
  else if (k === 't') tap();
  else if (k === ' ' && !(ev.target instanceof HTMLButtonElement)) {
    ev.preventDefault();
    toggleRecord();
  } else if (/^[1-9]$/.test(k) && presets[Number(k) - 1] && !presets[Number(k) - 1].error) void loadPreset(presets[Number(k) - 1].name);
});
$('help-open').addEventListener('click', () => $('help-dialog').showModal());

attachModulation({ stage, send, params: () => schema?.params });
attachFaultBanner({ stage });
attachMidi({
  stage,
  send,
  note,
  params: () => schema?.params,
  trigger: (action) => (action === 'seed.random' ? randomSeed() : action === 'beat' ? beat() : action === 'preset.next' ? nextPreset() : undefined),
});

showConnection();
