// viewer: the live picture for audiences beyond the room, by whichever path suits them.
//
// URL parameters: via=webrtc (from a Janus media server: sub-second, any number of viewers; with
// janus=http://host:8089/janus and mountpoint=1), render=local (drawn in this browser from the
// latents, JPEG when it draws fewer than keepUp=0.8 of the frames sent; backend=wasm|webgpu|webgl),
// neither (JPEG frames; size=512). fit=contain|cover.
// The corner label says which path this page uses (and why it fell back). Keys: i toggles it.
import { connectStage, fitRect, urlParams } from '../lib/latentstage.js';

const opt = urlParams({ via: '', render: '', janus: '', mountpoint: 1, size: 512, fit: 'contain', label: true, backend: '', keepUp: 0.8 });
const stage = connectStage({
  size: opt.size,
  via: opt.via || undefined,
  render: opt.render || undefined,
  janus: opt.janus || undefined,
  mountpoint: opt.mountpoint,
  backend: opt.backend || undefined,
  keepUp: opt.keepUp,
});
window.stage = stage;

let shown = 0;
let rate = 0;
let since = performance.now();
stage.on('frame', () => shown++);

window.setup = () => {
  createCanvas(windowWidth, windowHeight);
  background(0);
};

window.draw = () => {
  const now = performance.now();
  if (now - since >= 1000) {
    rate = (1000 * shown) / (now - since);
    shown = 0;
    since = now;
  }
  background(0);
  if (stage.frame) {
    const r = fitRect(stage.frame.width, stage.frame.height, width, height, opt.fit);
    drawingContext.drawImage(stage.frame.canvas, r.x, r.y, r.w, r.h);
  }
  if (opt.label) {
    const why = stage.pathReason ? ` (${stage.pathReason})` : '';
    const backend = stage.path === 'local' && stage.local?.backend ? ` on ${stage.local.backend}` : '';
    noStroke();
    fill(0, 160);
    rect(0, height - 22, width, 22);
    fill(255);
    textSize(12);
    textFont('monospace');
    text(`${stage.path ?? '…'}${backend} · ${rate.toFixed(0)} fps · ${stage.status}${why}`, 8, height - 7);
  }
};

window.windowResized = () => resizeCanvas(windowWidth, windowHeight);
window.keyPressed = () => {
  if (key === 'i') opt.label = !opt.label;
};
