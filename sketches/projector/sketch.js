// projector: the live walk, fullscreen, for a projector or a second screen.
//
// URL parameters: size (frame size asked of the server, default 512), format (jpeg|rgba),
// quality (JPEG 1-100), fit (contain = the whole square frame, black bars on a 16:9 wall; cover =
// fill the wall, cutting top and bottom), crossfade (1 = blend consecutive frames at display
// rate, 0 = cut), overlay (1 = show the info overlay at start), renderer (2d | webgl: the canvas
// p5 draws on; frames are drawn through p5 either way).
// Keys: i = info overlay, f = fullscreen (also double-click).
import { connectStage, drawFrame, urlParams } from '../lib/latentstage.js';
import { createOverlay } from '../lib/overlay.js';

const opt = urlParams({ size: 512, format: 'jpeg', quality: 0, fit: 'contain', crossfade: true, overlay: false, renderer: '2d' });
const stage = connectStage({ size: opt.size, format: opt.format, quality: opt.quality || undefined });
const overlay = createOverlay(stage, { show: opt.overlay, extra: () => [`fit         ${opt.fit}`] });
window.stage = stage;

// Crossfade: each new frame fades in over the measured interval between frames, so motion looks
// continuous at display rate even when the stream is slower than the screen.
let arrived = 0;
let interval = 1000 / 30;
stage.on('frame', () => {
  const now = performance.now();
  if (arrived) interval = Math.min(250, interval * 0.8 + (now - arrived) * 0.2);
  arrived = now;
});

window.setup = async () => {
  createCanvas(windowWidth, windowHeight, opt.renderer === 'webgl' ? WEBGL : P2D);
  background(0);
  // p5 2.x waits for an async setup: draw() starts with a frame to show
  await stage.ready();
};

window.draw = () => {
  if (stage.frame) {
    if (opt.fit === 'contain') background(0);
    const t = opt.crossfade ? Math.min(1, (performance.now() - arrived) / interval) : 1;
    if (stage.previous && t < 1) drawFrame(stage.previous, { fit: opt.fit });
    drawFrame(stage.frame, { fit: opt.fit, alpha: t });
  }
  overlay.update();
};

window.windowResized = () => resizeCanvas(windowWidth, windowHeight);

function toggleFullscreen() {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen?.().catch(() => {});
}
window.keyPressed = () => {
  if (key === 'f') toggleFullscreen();
};
window.doubleClicked = toggleFullscreen;
