// typography: the active prompt set in large type over the live imagery. Weighted prompts
// ("neon city | rain:0.5") are set one part per line, each line sized by its weight; a new prompt
// fades in over the prompt's fade time (at most 3 s).
//
// URL parameters: size (default 512), format, fit (cover|contain), font (CSS font family,
// default system sans-serif), scale (type size relative to the screen, default 1), dim (0-1,
// darkening of the imagery behind the type, default 0.25), text (fixed text instead of the
// prompt), overlay (1 = info overlay).
// Keys: i = info overlay.
import { connectStage, fitRect, urlParams } from '../lib/latentstage.js';
import { createOverlay } from '../lib/overlay.js';

const opt = urlParams({ size: 512, format: 'jpeg', fit: 'cover', font: 'system-ui, Helvetica, Arial, sans-serif', scale: 1, dim: 0.25, text: '', overlay: false });
const stage = connectStage({ size: opt.size, format: opt.format });
const overlay = createOverlay(stage, { show: opt.overlay });
window.stage = stage;

/** "a | b:0.5" -> [{text:'a', weight:1}, {text:'b', weight:0.5}] */
export function promptParts(text) {
  return text
    .split('|')
    .map((part) => {
      const m = /^(.*?)(?::\s*(-?\d*\.?\d+))?\s*$/.exec(part.trim());
      return { text: (m?.[1] ?? part).trim(), weight: m?.[2] !== undefined ? Number(m[2]) : 1 };
    })
    .filter((p) => p.text);
}

let shown = ''; // text on screen
let previous = ''; // text fading out
let changedAt = 0;
let fadeMs = 1000;

function currentText() {
  return opt.text || stage.state?.prompt?.text || '';
}

window.setup = () => {
  createCanvas(windowWidth, windowHeight);
  textFont(opt.font);
  textAlign(CENTER, CENTER);
};

/** Break `str` into lines no wider than `maxWidth` at the current text size. */
function wrap(str, maxWidth) {
  const lines = [];
  let line = '';
  for (const word of str.split(/\s+/)) {
    const next = line ? `${line} ${word}` : word;
    if (line && textWidth(next) > maxWidth) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

function setType(str, alpha) {
  const parts = promptParts(str);
  if (!parts.length) return;
  const base = Math.min(width, height) * 0.14 * opt.scale;
  const lines = [];
  for (const p of parts) {
    const size = base * Math.max(0.35, Math.min(1.5, Math.abs(p.weight)));
    textSize(size);
    textStyle(p.weight < 0 ? ITALIC : BOLD);
    for (const line of wrap(p.text, width * 0.9)) lines.push({ line, size, weight: p.weight });
  }
  const lineGap = 1.15;
  let y = height / 2 - lines.reduce((h, l) => h + l.size * lineGap, 0) / 2;
  const ctx = drawingContext;
  noStroke();
  for (const l of lines) {
    textSize(l.size);
    textStyle(l.weight < 0 ? ITALIC : BOLD);
    ctx.shadowColor = `rgba(0,0,0,${0.6 * alpha})`;
    ctx.shadowBlur = l.size * 0.25;
    fill(255, 255 * alpha * (l.weight < 0 ? 0.6 : 1)); // negative weights: steer away, set fainter
    text(l.line, width / 2, y + (l.size * lineGap) / 2);
    y += l.size * lineGap;
  }
  ctx.shadowBlur = 0;
}

window.draw = () => {
  background(0);
  const ctx = drawingContext;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  if (stage.frame) {
    const r = fitRect(stage.frame.width, stage.frame.height, width, height, opt.fit);
    ctx.drawImage(stage.frame.canvas, r.x, r.y, r.w, r.h);
    background(0, 255 * opt.dim);
  }
  const now = performance.now();
  const t = currentText();
  if (t !== shown) {
    previous = shown;
    shown = t;
    changedAt = now;
    fadeMs = Math.min(3000, Math.max(300, (stage.state?.prompt?.fade ?? 1) * 1000));
  }
  const a = Math.min(1, (now - changedAt) / fadeMs);
  if (a < 1 && previous) setType(previous, 1 - a);
  if (shown) setType(shown, a);
  overlay.update();
};

window.windowResized = () => resizeCanvas(windowWidth, windowHeight);
