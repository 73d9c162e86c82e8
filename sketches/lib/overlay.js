// A small text overlay for sketches: connection state, fps, frame index and prompt. Hidden until
// its key is pressed (default 'i'); `?overlay=1` shows it from the start.
export function createOverlay(stage, { key = 'i', show = false, extra = () => [] } = {}) {
  const el = document.createElement('div');
  el.className = 'overlay';
  el.hidden = !show;
  document.body.append(el);
  const draws = []; // display frame times, last second
  const frames = []; // [time, stage.frames] samples, last second
  let shown = 0;
  const update = () => {
    const now = performance.now();
    draws.push(now);
    frames.push([now, stage.frames]);
    while (draws[0] < now - 1000) draws.shift();
    while (frames.length > 2 && frames[0][0] < now - 1000) frames.shift();
    if (el.hidden || now - shown < 250) return;
    shown = now;
    const span = (now - frames[0][0]) / 1000 || 1;
    const streamFps = (stage.frames - frames[0][1]) / span;
    const s = stage.state;
    const m = stage.meta;
    el.textContent = [
      `connection  ${stage.status}`,
      `display     ${draws.length} fps`,
      `stream      ${streamFps.toFixed(0)} fps`,
      `frame       ${m ? `${m.index}  ${m.width}x${m.height}` : '-'}`,
      m?.similarity != null ? `similarity  ${m.similarity.toFixed(3)}` : null,
      `prompt      ${s?.prompt?.text || '(none)'}`,
      ...extra(),
    ]
      .filter((l) => l !== null)
      .join('\n');
  };
  window.addEventListener('keydown', (ev) => {
    if (ev.key === key && !ev.ctrlKey && !ev.metaKey && !ev.altKey) el.hidden = !el.hidden;
  });
  return { el, update };
}
