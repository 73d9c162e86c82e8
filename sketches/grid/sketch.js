// grid: an 8x4 contact sheet of the live walk through time. The server runs one walk, so this is
// a TIME-DELAY grid, not 32 independent walkers: cell 0 (top left) shows the newest frame and
// cell i the frame from i*delay frames ago, read from a ring buffer of past frames. Reading order
// (left to right, top to bottom) goes back in time, like a progress grid of one run.
//
// URL parameters: cols (default 8), rows (default 4), delay (frames between cells, 1-30, default 6),
// size (default 128), format, labels (1 = frame numbers in the cells), overlay (1 = info overlay).
// Keys: i = info overlay, l = labels, up/down = longer/shorter delay.
import { connectStage, fitRect, urlParams } from '../lib/latentstage.js';
import { createOverlay } from '../lib/overlay.js';

const opt = urlParams({ cols: 8, rows: 4, delay: 6, size: 128, format: 'jpeg', labels: true, overlay: false });
opt.cols = Math.max(1, Math.min(32, Math.round(opt.cols)));
opt.rows = Math.max(1, Math.min(32, Math.round(opt.rows)));
const MAX_DELAY = 30;
opt.delay = Math.max(1, Math.min(MAX_DELAY, Math.round(opt.delay)));

const stage = connectStage({ size: opt.size, format: opt.format });
const overlay = createOverlay(stage, { show: opt.overlay, extra: () => [`grid        ${opt.cols}x${opt.rows}, ${opt.delay} frames apart`] });
window.stage = stage;

// Ring buffer of copies of past frames (canvases): exactly the history the grid shows.
const cells = () => opt.cols * opt.rows;
const ringSize = () => (cells() - 1) * opt.delay + 1;
let ring = [];
let head = -1; // slot of the newest frame
let stored = 0;
function setDelay(d) {
  opt.delay = Math.max(1, Math.min(MAX_DELAY, d));
  ring = []; // history restarts with the new spacing
  head = -1;
  stored = 0;
}

stage.on('frame', (img, meta) => {
  head = (head + 1) % ringSize();
  let slot = ring[head];
  if (!slot || slot.canvas.width !== img.width || slot.canvas.height !== img.height) {
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    slot = ring[head] = { canvas, index: 0 };
  }
  slot.canvas.getContext('2d').drawImage(img.canvas, 0, 0);
  slot.index = meta.index;
  stored = Math.min(stored + 1, ringSize());
});

window.setup = () => {
  createCanvas(windowWidth, windowHeight);
  textFont('monospace');
  textSize(11);
};

window.draw = () => {
  background(0);
  const ctx = drawingContext;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  const gap = 2;
  const cw = (width - gap * (opt.cols + 1)) / opt.cols;
  const ch = (height - gap * (opt.rows + 1)) / opt.rows;
  for (let i = 0; i < cells(); i++) {
    const back = i * opt.delay;
    if (head < 0 || back >= stored) continue; // not that much history yet
    const slot = ring[(head - back + ringSize() * 2) % ringSize()];
    const x = gap + (i % opt.cols) * (cw + gap);
    const y = gap + Math.floor(i / opt.cols) * (ch + gap);
    const r = fitRect(slot.canvas.width, slot.canvas.height, cw, ch, 'cover');
    ctx.save();
    ctx.beginPath();
    ctx.rect(x, y, cw, ch);
    ctx.clip();
    ctx.drawImage(slot.canvas, x + r.x, y + r.y, r.w, r.h);
    ctx.restore();
    if (opt.labels) {
      noStroke();
      fill(0, 150);
      rect(x, y + ch - 16, 56, 16);
      fill(255);
      text(String(slot.index).padStart(6, '0'), x + 4, y + ch - 4);
    }
  }
  overlay.update();
};

window.windowResized = () => resizeCanvas(windowWidth, windowHeight);

window.keyPressed = () => {
  if (key === 'l') opt.labels = !opt.labels;
  if (keyCode === UP_ARROW) setDelay(opt.delay + 1);
  if (keyCode === DOWN_ARROW) setDelay(opt.delay - 1);
};
