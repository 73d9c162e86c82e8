// The tempo panel: set the BPM, tap tempo, mark a beat, and show the server's tempo.
import { $ } from './page.js';

export function attachTempo({ stage, send, note }) {
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
    const bpm = Math.round(((60000 * (taps.length - 1)) / (now - taps[0])) * 10) / 10;
    $('bpm').value = String(bpm);
    void send({ type: 'tempo', bpm });
  }
  $('tap').addEventListener('click', tap);
  const beat = () => void send({ type: 'beat' });
  $('beat').addEventListener('click', beat);

  stage.on('state', (state) => {
    const tempo = state?.tempo;
    $('tempo-status').textContent = tempo ? `${tempo.bpm ?? '–'} BPM${tempo.beat !== undefined ? ` · beat ${tempo.beat}` : ''}` : '';
  });
  return { tap, beat };
}
