// feedback: trails and zoom feedback, the "VQGAN zoom" look. Every display frame the previous
// picture is drawn back onto itself slightly enlarged and rotated, and the live frame is blended
// in on top, so the imagery keeps flowing outwards from the centre.
//
// URL parameters: size (default 384), format, fit (cover|contain), zoom (per display frame,
// default 1.012), rotate (radians per display frame, default 0.0015), mix (how much of the live
// frame each display frame, 0-1, default 0.12), overlay (1 = show the info overlay).
// Keys: i = info overlay, c = clear the trails, up/down = zoom faster/slower.
import { connectStage, fitRect, urlParams } from '../lib/latentstage.js';
import { createOverlay } from '../lib/overlay.js';

const opt = urlParams({ size: 384, format: 'jpeg', fit: 'cover', zoom: 1.012, rotate: 0.0015, mix: 0.12, overlay: false });
const stage = connectStage({ size: opt.size, format: opt.format });
const overlay = createOverlay(stage, {
  show: opt.overlay,
  extra: () => [`zoom        ${opt.zoom.toFixed(4)}`, `mix         ${opt.mix}`],
});
window.stage = stage;

let back; // copy of the last picture, the feedback source

window.setup = () => {
  createCanvas(windowWidth, windowHeight);
  pixelDensity(1);
  back = createGraphics(width, height);
  back.pixelDensity(1);
  background(0);
};

window.draw = () => {
  const ctx = drawingContext;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  // 1. last picture, zoomed and turned about the centre
  back.drawingContext.drawImage(ctx.canvas, 0, 0, back.width, back.height);
  ctx.save();
  ctx.translate(width / 2, height / 2);
  ctx.rotate(opt.rotate);
  ctx.scale(opt.zoom, opt.zoom);
  ctx.translate(-width / 2, -height / 2);
  ctx.drawImage(back.elt, 0, 0, width, height);
  ctx.restore();
  // 2. the live frame blended on top
  if (stage.frame) {
    const r = fitRect(stage.frame.width, stage.frame.height, width, height, opt.fit);
    ctx.globalAlpha = opt.mix;
    ctx.drawImage(stage.frame.canvas, r.x, r.y, r.w, r.h);
    ctx.globalAlpha = 1;
  }
  overlay.update();
};

window.windowResized = () => {
  resizeCanvas(windowWidth, windowHeight);
  back.resizeCanvas(width, height);
};

window.keyPressed = () => {
  if (key === 'c') background(0);
  if (keyCode === UP_ARROW) opt.zoom = Math.min(1.2, opt.zoom + 0.002);
  if (keyCode === DOWN_ARROW) opt.zoom = Math.max(0.9, opt.zoom - 0.002);
};
