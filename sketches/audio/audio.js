// The audio page: getUserMedia -> AnalyserNode -> features (analysis.js) -> mod.input over /control
// at up to `rate` messages a second (behind an input gain and a noise gate), plus beat / jump /
// tempo commands when asked. Stopping or closing the page stops the inputs; the server then
// releases them (1 s).
import { connectStage, urlParams } from '../lib/latentstage.js';
import { BANDS, bandDb, rmsDb, bandLevel, GATE_DB, OnsetDetector, TempoEstimator } from './analysis.js';

const $ = (id) => document.getElementById(id);
const opts = urlParams({ autostart: false, rate: 60, fft: 1024 });
const stage = connectStage({ frames: false, control: true });
const POLL_MS = 8;

const audio = { running: false, onsets: [], bpm: null, sent: 0, values: null, error: null };
window.audio = audio;

// Input gain and noise gate: sliders on the page, remembered in localStorage.
function setting(id, key, fallback, show) {
  const el = $(id);
  const stored = Number(localStorage.getItem(key));
  const o = { value: Number.isFinite(stored) && localStorage.getItem(key) !== null ? stored : fallback };
  el.value = String(o.value);
  const paint = () => ($(`${id}-value`).textContent = show(o.value));
  el.addEventListener('input', () => {
    o.value = Number(el.value);
    localStorage.setItem(key, String(o.value));
    paint();
  });
  paint();
  return o;
}
const gain = setting('gain', 'latentstage.audio.gain', 0, (v) => `${v > 0 ? '+' : ''}${v} dB`);
const gate = setting('gate', 'latentstage.audio.gate', GATE_DB, (v) => `${v} dBFS`);

let ctx = null;
let stream = null;
let timer = null;

function show(name, v) {
  $(`bar-${name}`).style.width = `${(v * 100).toFixed(1)}%`;
  $(`val-${name}`).textContent = v.toFixed(2);
}

function send(command) {
  audio.sent++;
  stage.send(command).catch((err) => {
    audio.error = err.message;
    $('status').textContent = `server: ${err.message}`;
  });
}

async function start() {
  stop();
  try {
    const id = $('device').value;
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { deviceId: id ? { exact: id } : undefined, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
  } catch (err) {
    audio.error = err.message;
    $('status').textContent = `no input: ${err.message}`;
    return;
  }
  ctx = new AudioContext({ latencyHint: 'interactive' });
  await ctx.resume().catch(() => {});
  const analyser = ctx.createAnalyser();
  analyser.fftSize = opts.fft;
  analyser.smoothingTimeConstant = 0;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  const wave = new Float32Array(analyser.fftSize);
  const onsets = new OnsetDetector({ sampleRate: ctx.sampleRate });
  const tempo = new TempoEstimator();
  let onsetLevel = 0;
  let lastSend = 0;
  let lastTempo = 0;
  let sentTempo = null;
  let sentInWindow = 0;
  let windowStart = performance.now();
  audio.running = true;
  $('status').textContent = `listening (${ctx.sampleRate} Hz)`;
  $('start').textContent = 'Stop';
  void listDevices();

  timer = setInterval(() => {
    const now = performance.now();
    analyser.getFloatFrequencyData(spectrum);
    analyser.getFloatTimeDomainData(wave);
    const shape = { gain: gain.value, gate: gate.value };
    const values = {
      'audio:low': bandLevel(bandDb(spectrum, ctx.sampleRate, BANDS.low), shape),
      'audio:mid': bandLevel(bandDb(spectrum, ctx.sampleRate, BANDS.mid), shape),
      'audio:high': bandLevel(bandDb(spectrum, ctx.sampleRate, BANDS.high), shape),
      'audio:loudness': bandLevel(rmsDb(wave), { gain: gain.value, gate: Math.max(gate.value, -60) }),
    };
    const hit = onsets.push(spectrum, now);
    onsetLevel = hit ? 1 : onsetLevel * Math.exp(-POLL_MS / 120);
    values['audio:onset'] = onsetLevel < 0.01 ? 0 : onsetLevel;
    for (const k of Object.keys(values)) values[k] = Math.round(values[k] * 1000) / 1000;
    audio.values = values;
    if (hit) {
      audio.onsets.push(now);
      tempo.push(now);
      audio.bpm = tempo.bpm;
      $('onsets').textContent = String(audio.onsets.length);
      $('onset-dot').classList.add('hit');
      setTimeout(() => $('onset-dot').classList.remove('hit'), 80);
      if (audio.bpm) $('tempo').textContent = audio.bpm.toFixed(1);
      const action = $('onset-action').value;
      if (action === 'beat') send({ type: 'beat' });
      else if (action === 'jump') send({ type: 'seed', seed: crypto.getRandomValues(new Uint32Array(1))[0] });
    }
    // An onset goes out at once; otherwise at most `rate` messages a second.
    if (hit || now - lastSend >= 1000 / opts.rate - POLL_MS / 2) {
      lastSend = now;
      sentInWindow++;
      send({ type: 'mod.input', values });
      for (const b of ['low', 'mid', 'high', 'loudness']) show(b, values[`audio:${b}`]);
    }
    if ($('follow-tempo').checked && audio.bpm && now - lastTempo > 2000) {
      const bpm = Math.round(audio.bpm * 10) / 10;
      if (sentTempo === null || Math.abs(bpm - sentTempo) >= 1) {
        lastTempo = now;
        sentTempo = bpm;
        send({ type: 'tempo', bpm: Math.min(400, Math.max(20, bpm)) });
      }
    }
    if (now - windowStart >= 1000) {
      $('rate').textContent = String(sentInWindow);
      sentInWindow = 0;
      windowStart = now;
    }
  }, POLL_MS);
}

function stop() {
  clearInterval(timer);
  timer = null;
  stream?.getTracks().forEach((t) => t.stop());
  stream = null;
  void ctx?.close();
  ctx = null;
  audio.running = false;
  $('status').textContent = 'stopped';
  $('start').textContent = 'Start listening';
}

async function listDevices() {
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput');
  const sel = $('device');
  const current = sel.value;
  sel.replaceChildren(new Option('default input', ''), ...devices.map((d, i) => new Option(d.label || `input ${i + 1}`, d.deviceId)));
  sel.value = current;
}

$('start').addEventListener('click', () => (audio.running ? stop() : void start()));
$('device').addEventListener('change', () => audio.running && void start());
if (opts.autostart) void start();
