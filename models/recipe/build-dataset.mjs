#!/usr/bin/env node
// Build the emoji-64 training set: 64x64 RGB images (composited on white) of
// four emoji art sets, joined to captions (emojibase label/tags/group/subgroup
// + emojilib keywords) by hexcode.
//
// Output (models/recipe/cache/):
//   images.u8      raw uint8, N x 64 x 64 x 3 (row-major, RGB)
//   records.json   [{hexcode, style, label, tags, keywords, group, subgroup}] (N entries, same order)
//   summary.json   counts per style, caption count
//
// Usage: node build-dataset.mjs            (parent: builds everything)
//        node build-dataset.mjs --render F  (child: rasterise the SVG jobs in file F)
//
// resvg-js 2.6.2 can abort the whole process with an uncatchable Rust panic on a few
// icons, so SVG rasterisation runs in child processes, one chunk at a time; a chunk
// that dies is retried one icon per process and the offending icons are skipped.

import { readFileSync, writeFileSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import os from 'node:os';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CACHE = path.join(HERE, 'cache');
const SIZE = 64;
const PIX = SIZE * SIZE * 3;

// ---------------------------------------------------------------- child mode
if (process.argv[2] === '--render') {
  const { Resvg } = require('@resvg/resvg-js');
  const jobs = JSON.parse(readFileSync(process.argv[3], 'utf8'));
  const out = Buffer.alloc(jobs.length * PIX, 255);
  jobs.forEach((job, i) => {
    const svg = readFileSync(job.file, 'utf8');
    const rgb = renderSvg(Resvg, job.kind === 'fluent' ? fluentSvg(job) : squareSvg(svg));
    rgb.copy(out, i * PIX);
  });
  writeFileSync(process.argv[3] + '.out', out);
  process.exit(0);
}

function renderSvg(Resvg, svg) {
  const r = new Resvg(svg, {
    fitTo: { mode: 'width', value: SIZE },
    font: { loadSystemFonts: false },
    background: 'rgba(255,255,255,1)',
  });
  const img = r.render();
  const { width, height } = img;
  const px = img.pixels; // RGBA
  const rgb = Buffer.alloc(PIX, 255);
  const h = Math.min(height, SIZE);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < Math.min(width, SIZE); x++) {
      const s = (y * width + x) * 4;
      const a = px[s + 3] / 255;
      const d = (y * SIZE + x) * 3;
      for (let c = 0; c < 3; c++) rgb[d + c] = Math.round(px[s + c] * a + 255 * (1 - a));
    }
  }
  return rgb;
}

// Wrap any SVG into a square viewBox so that non-square art is centred, not stretched.
function squareSvg(svg) {
  const vb = /viewBox\s*=\s*"([^"]+)"/i.exec(svg);
  if (!vb) return svg;
  const [x, y, w, h] = vb[1].trim().split(/[\s,]+/).map(Number);
  if (!(w > 0 && h > 0) || Math.abs(w - h) < 1e-6) return svg;
  const s = Math.max(w, h);
  const ox = x - (s - w) / 2;
  const oy = y - (s - h) / 2;
  const inner = svg.replace(/<\?xml[^>]*>/, '');
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="${ox} ${oy} ${s} ${s}" width="${s}" height="${s}">${inner
    .replace(/<svg\b/, `<svg x="${ox}" y="${oy}" width="${s}" height="${s}"`)}</svg>`;
}

function fluentSvg(job) {
  const set = require('@iconify-json/fluent-emoji-flat/icons.json');
  let icon = set.icons[job.name];
  let name = job.name;
  while (!icon && set.aliases?.[name]) {
    name = set.aliases[name].parent;
    icon = set.icons[name];
  }
  const w = icon.width ?? set.width ?? 16;
  const h = icon.height ?? set.height ?? 16;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="${icon.left ?? 0} ${icon.top ?? 0} ${w} ${h}" width="${w}" height="${h}">${icon.body}</svg>`;
  return squareSvg(svg);
}

// ---------------------------------------------------------------- parent mode
const norm = (hex) =>
  hex
    .toUpperCase()
    .split('-')
    .filter((p) => p !== 'FE0F')
    .join('-');
const charHex = (s) => norm([...s].map((c) => c.codePointAt(0).toString(16)).join('-'));

const t0 = Date.now();
mkdirSync(CACHE, { recursive: true });

// captions ------------------------------------------------------------------
const base = require('emojibase-data/en/data.json');
const messages = require('emojibase-data/en/messages.json');
const groupName = Object.fromEntries(messages.groups.map((g) => [g.order, g.message]));
const subgroupName = Object.fromEntries(messages.subgroups.map((g) => [g.order, g.message]));
const emojilib = require('emojilib/dist/emoji-en-US.json');
const keywordsByHex = new Map();
for (const [ch, kws] of Object.entries(emojilib)) {
  keywordsByHex.set(
    charHex(ch),
    kws.map((k) => k.replace(/_/g, ' ').toLowerCase()).filter((k) => /[a-z0-9]/.test(k)),
  );
}
const captions = new Map();
for (const e of base) {
  if (e.group === undefined || e.group === 2) continue; // regional indicators, components (skin tones, hair)
  const hex = norm(e.hexcode);
  captions.set(hex, {
    hexcode: hex,
    label: e.label,
    tags: e.tags ?? [],
    keywords: keywordsByHex.get(hex) ?? [],
    group: groupName[e.group] ?? '',
    subgroup: subgroupName[e.subgroup] ?? '',
  });
}
console.log(`captions: ${captions.size}`);

// art sets --------------------------------------------------------------------
const { PNG } = require('pngjs');
function loadPng(file) {
  const png = PNG.sync.read(readFileSync(file));
  const rgb = Buffer.alloc(PIX, 255);
  const ox = Math.floor((SIZE - Math.min(png.width, SIZE)) / 2);
  const oy = Math.floor((SIZE - Math.min(png.height, SIZE)) / 2);
  for (let y = 0; y < Math.min(png.height, SIZE); y++) {
    for (let x = 0; x < Math.min(png.width, SIZE); x++) {
      const s = (y * png.width + x) * 4;
      const a = png.data[s + 3] / 255;
      const d = ((y + oy) * SIZE + x + ox) * 3;
      for (let c = 0; c < 3; c++) rgb[d + c] = Math.round(png.data[s + c] * a + 255 * (1 - a));
    }
  }
  return rgb;
}

const records = [];
const chunks = [];

for (const style of ['google', 'twitter']) {
  const pkg = path.dirname(require.resolve(`emoji-datasource-${style}/package.json`));
  const list = require(`emoji-datasource-${style}/emoji.json`);
  for (const e of list) {
    if (!e[`has_img_${style}`]) continue;
    const cap = captions.get(norm(e.unified));
    if (!cap) continue;
    const file = path.join(pkg, 'img', style, '64', e.image);
    if (!existsSync(file)) continue;
    records.push({ ...cap, style });
    chunks.push(loadPng(file));
  }
}
console.log(`png styles done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);

// SVG jobs
const svgJobs = [];
{
  const dir = path.join(path.dirname(require.resolve('openmoji/package.json')), 'color', 'svg');
  const seen = new Set();
  for (const hex of captions.keys()) {
    // OpenMoji file names keep FE0F in some codes; try both spellings.
    for (const cand of [hex, ...fe0fVariants(hex)]) {
      const f = path.join(dir, `${cand}.svg`);
      if (!seen.has(hex) && existsSync(f)) {
        seen.add(hex);
        svgJobs.push({ kind: 'openmoji', hexcode: hex, file: f });
      }
    }
  }
}
{
  const chars = require('@iconify-json/fluent-emoji-flat/chars.json');
  const seen = new Set();
  for (const [k, name] of Object.entries(chars)) {
    const hex = norm(k);
    if (!captions.has(hex) || seen.has(hex)) continue;
    seen.add(hex);
    svgJobs.push({ kind: 'fluent', hexcode: hex, name, file: require.resolve('@iconify-json/fluent-emoji-flat/package.json') });
  }
}

function fe0fVariants(hex) {
  const parts = hex.split('-');
  const out = [];
  // FE0F after first codepoint, and after every codepoint before a ZWJ
  out.push([parts[0], 'FE0F', ...parts.slice(1)].join('-'));
  const z = [];
  parts.forEach((p, i) => {
    z.push(p);
    if (parts[i + 1] === '200D' || (i === parts.length - 1 && parts.length > 1)) z.push('FE0F');
  });
  out.push(z.join('-'));
  const all = [];
  parts.forEach((p, i) => {
    all.push(p);
    if (p !== '200D' && !/^1F3F[B-F]$/.test(p)) all.push('FE0F');
  });
  out.push(all.join('-'));
  return out;
}

const tmp = path.join(os.tmpdir(), `emoji-render-${process.pid}`);
mkdirSync(tmp, { recursive: true });
function runChunk(jobs, id) {
  const f = path.join(tmp, `chunk-${id}.json`);
  writeFileSync(f, JSON.stringify(jobs));
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--render', f], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) return null;
  return readFileSync(f + '.out');
}
const skipped = [];
const CH = 250;
for (let i = 0; i < svgJobs.length; i += CH) {
  const jobs = svgJobs.slice(i, i + CH);
  let buf = runChunk(jobs, i);
  if (buf) {
    jobs.forEach((j, k) => {
      records.push({ ...captions.get(j.hexcode), style: j.kind });
      chunks.push(buf.subarray(k * PIX, (k + 1) * PIX));
    });
  } else {
    // retry one by one to isolate the icons that crash resvg
    jobs.forEach((j, k) => {
      const b = runChunk([j], `${i}-${k}`);
      if (b) {
        records.push({ ...captions.get(j.hexcode), style: j.kind });
        chunks.push(b);
      } else skipped.push(`${j.kind}:${j.hexcode}`);
    });
  }
  process.stdout.write(`\rsvg ${Math.min(i + CH, svgJobs.length)}/${svgJobs.length}`);
}
process.stdout.write('\n');
rmSync(tmp, { recursive: true, force: true });

// write -------------------------------------------------------------------------
const images = Buffer.concat(chunks);
writeFileSync(path.join(CACHE, 'images.u8'), images);
writeFileSync(path.join(CACHE, 'records.json'), JSON.stringify(records));
const perStyle = {};
for (const r of records) perStyle[r.style] = (perStyle[r.style] ?? 0) + 1;
const usedCaptions = new Set(records.map((r) => r.hexcode)).size;
const summary = {
  images: records.length,
  size: SIZE,
  perStyle,
  captions: captions.size,
  captionsWithImages: usedCaptions,
  skipped,
  seconds: (Date.now() - t0) / 1000,
};
writeFileSync(path.join(CACHE, 'summary.json'), JSON.stringify(summary, null, 2));
console.log(JSON.stringify(summary, null, 2));
