// The tempo panel: set the BPM, tap tempo, mark a beat; shows the server's tempo, the beat in the
// bar (four dots) and keeps the BPM box on the current tempo while it is not being typed in.
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

  const dots = [...$('beat-dots').children];
  let typedAt = -Infinity;
  $('bpm').addEventListener('input', () => (typedAt = performance.now()));
  stage.on('state', (state) => {
    const tempo = state?.tempo;
    if (!tempo) return void ($('tempo-status').textContent = '');
    const bpm = typeof tempo.bpm === 'number' ? Number(tempo.bpm.toFixed(1)) : null;
    const beatNo = typeof tempo.beat === 'number' ? Math.floor(tempo.beat) : null;
    $('tempo-status').textContent = `${bpm ?? '–'} BPM${beatNo !== null ? ` · bar ${Math.floor(beatNo / 4) + 1}, beat ${(beatNo % 4) + 1}` : ''}`;
    dots.forEach((d, i) => d.classList.toggle('on', beatNo !== null && beatNo % 4 === i));
    if (bpm !== null && document.activeElement !== $('bpm') && performance.now() - typedAt > 3000) $('bpm').value = String(bpm);
  });
  return { tap, beat };
}
