// The control page's live preview: the newest frame, drawn once per display frame.
import { $ } from './page.js';

export function attachPreview({ stage }) {
  const preview = $('preview');
  const pctx = preview.getContext('2d');
  let queued = false;
  stage.on('frame', () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
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
}
