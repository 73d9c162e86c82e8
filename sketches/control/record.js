// The record panel: start/stop recording (with an optional name) and, when the server streams,
// start/stop an RTMP/SRT stream; shown from state.recording / state.stream.
import { $ } from './page.js';

function elapsed(startedAt) {
  const t = typeof startedAt === 'number' ? startedAt : Date.parse(startedAt);
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.floor((Date.now() - t) / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function attachRecord({ stage, send, note }) {
  function show() {
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
  setInterval(show, 1000);
  stage.on('state', show);

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
  return { toggleRecord };
}
