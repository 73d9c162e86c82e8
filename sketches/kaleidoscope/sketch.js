// kaleidoscope: the live frame cut into mirrored wedges around the centre. Written in p5
// instance mode to show connectStage({ p5 }) outside global mode.
//
// URL parameters: segments (2-64, default 8), spin (radians per second, default 0.05), size
// (default 384), format, overlay (1 = show the info overlay), renderer (2d | webgl: drawn with
// p5's own clip(), rotate() and image(), so both kinds of canvas work).
// Keys: i = info overlay, + / - or up/down = more/fewer segments, 2-9 = that many pairs.
import { connectStage, urlParams, isWebgl } from '../lib/latentstage.js';
import { createOverlay } from '../lib/overlay.js';

const opt = urlParams({ segments: 8, spin: 0.05, size: 384, format: 'jpeg', overlay: false, renderer: '2d' });
const clampSegments = (n) => Math.max(2, Math.min(64, Math.round(n / 2) * 2)); // even: mirror pairs
opt.segments = clampSegments(opt.segments);
const ARC_POINTS = 24;

new p5((p) => {
  const stage = connectStage({ p5: p, size: opt.size, format: opt.format });
  const overlay = createOverlay(stage, { show: opt.overlay, extra: () => [`segments    ${opt.segments}`] });
  window.stage = stage;

  p.setup = async () => {
    p.createCanvas(p.windowWidth, p.windowHeight, opt.renderer === 'webgl' ? p.WEBGL : p.P2D);
    p.background(0);
    await stage.ready();
  };

  p.draw = () => {
    const img = stage.frame;
    if (img) {
      p.background(0);
      const n = opt.segments;
      const wedge = (Math.PI * 2) / n;
      const radius = Math.hypot(p.width, p.height) / 2;
      // the source wedge drifts slowly across the frame so the pattern keeps evolving
      const t = p.millis() / 1000;
      const side = Math.min(img.width, img.height);
      const ox = (img.width - side) / 2 + (Math.sin(t * 0.13) * side) / 8;
      const oy = (img.height - side) / 2 + (Math.cos(t * 0.11) * side) / 8;
      p.imageMode(p.CORNER);
      p.noStroke();
      for (let i = 0; i < n; i++) {
        p.push();
        if (!isWebgl(p)) p.translate(p.width / 2, p.height / 2); // WEBGL's origin is the centre already
        // every other wedge mirrored about its far edge, so neighbours meet seamlessly
        p.rotate((i % 2 ? i + 1 : i) * wedge + t * opt.spin);
        if (i % 2) p.scale(1, -1);
        // the wedge as a polygon (centre, then points along the arc), the same on 2D and WEBGL
        p.beginClip();
        p.beginShape();
        p.vertex(0, 0);
        for (let k = 0; k <= ARC_POINTS; k++) {
          const a = -0.01 + ((wedge + 0.02) * k) / ARC_POINTS;
          p.vertex(Math.cos(a) * (radius + 2), Math.sin(a) * (radius + 2));
        }
        p.endShape(p.CLOSE);
        p.endClip();
        p.image(img, 0, -radius * 0.15, radius * 1.2, radius * 1.2, ox, oy, side * 0.75, side * 0.75);
        p.pop();
      }
    }
    overlay.update();
  };

  p.windowResized = () => p.resizeCanvas(p.windowWidth, p.windowHeight);

  p.keyPressed = () => {
    if (p.key === '+' || p.keyCode === p.UP_ARROW) opt.segments = clampSegments(opt.segments + 2);
    else if (p.key === '-' || p.keyCode === p.DOWN_ARROW) opt.segments = clampSegments(opt.segments - 2);
    else if (/^[2-9]$/.test(p.key)) opt.segments = clampSegments(Number(p.key) * 2);
  };
});
