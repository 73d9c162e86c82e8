#!/usr/bin/env node
// Build the 256 px art set for the refiner: eight Iconify emoji sets rasterised by resvg at
// 256x256 on white. Each set is sampled evenly by icon name (at most --per-set icons) so every
// style is represented; icons with a Unicode character keep their hexcode so the sharpness
// metric can compare generated frames with art of the same concept.
//
// Output (models/recipe/cache/):
//   art256.u8     raw uint8, N x 256 x 256 x 3 (row-major, RGB)
//   art256.json   {sets: {set: {count, license, author}}, records: [{set, name, hexcode}]}
//
// Usage: node build-art256.mjs [--per-set 500]
//        node build-art256.mjs --render F   (child: rasterise the jobs in file F)
import { readFileSync, writeFileSync, mkdirSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import os from 'node:os';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CACHE = path.join(HERE, 'cache');
const SIZE = 256;
const PIX = SIZE * SIZE * 3;
export const SETS = ['noto', 'twemoji', 'openmoji', 'fluent-emoji-flat', 'fluent-emoji', 'emojione', 'fxemoji', 'streamline-emojis'];

const sets = new Map();
function iconSet(name) {
  if (!sets.has(name)) sets.set(name, require(`@iconify-json/${name}/icons.json`));
  return sets.get(name);
}

function iconSvg(setName, iconName) {
  const set = iconSet(setName);
  let name = iconName;
  let icon = set.icons[name];
  while (!icon && set.aliases?.[name]) {
    name = set.aliases[name].parent;
    icon = set.icons[name];
  }
  const w = icon.width ?? set.width ?? 16;
  const h = icon.height ?? set.height ?? 16;
  const s = Math.max(w, h);
  const x = (icon.left ?? 0) - (s - w) / 2;
  const y = (icon.top ?? 0) - (s - h) / 2;
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="${x} ${y} ${s} ${s}" width="${s}" height="${s}">${icon.body}</svg>`;
}

if (process.argv[2] === '--render') {
  const { Resvg } = require('@resvg/resvg-js');
  const jobs = JSON.parse(readFileSync(process.argv[3], 'utf8'));
  const out = Buffer.alloc(jobs.length * PIX, 255);
  jobs.forEach((job, i) => {
    const r = new Resvg(iconSvg(job.set, job.name), {
      fitTo: { mode: 'width', value: SIZE },
      font: { loadSystemFonts: false },
      background: 'rgba(255,255,255,1)',
    });
    const img = r.render();
    const px = img.pixels;
    for (let y = 0; y < Math.min(img.height, SIZE); y++) {
      for (let x = 0; x < Math.min(img.width, SIZE); x++) {
        const s = (y * img.width + x) * 4;
        const a = px[s + 3] / 255;
        const d = i * PIX + (y * SIZE + x) * 3;
        for (let c = 0; c < 3; c++) out[d + c] = Math.round(px[s + c] * a + 255 * (1 - a));
      }
    }
  });
  writeFileSync(process.argv[3] + '.out', out);
  process.exit(0);
}

const arg = (flag, dflt) => {
  const i = process.argv.indexOf(flag);
  return i < 0 ? dflt : process.argv[i + 1];
};
const perSet = Number(arg('--per-set', 500));
const norm = (hex) =>
  hex
    .toUpperCase()
    .split('-')
    .filter((p) => p !== 'FE0F')
    .join('-');

const t0 = Date.now();
mkdirSync(CACHE, { recursive: true });
const jobs = [];
const info = {};
for (const set of SETS) {
  const icons = iconSet(set);
  const meta = require(`@iconify-json/${set}/info.json`);
  const version = require(`@iconify-json/${set}/package.json`).version;
  let chars = {};
  try {
    chars = require(`@iconify-json/${set}/chars.json`);
  } catch {}
  const hexOf = new Map();
  for (const [k, name] of Object.entries(chars)) if (!hexOf.has(name)) hexOf.set(name, norm(k));
  // skin-tone variants and flags add little variety; keep one of each design
  const names = Object.keys(icons.icons)
    .filter((n) => !/(light|medium|dark)(-skin)?-tone|flag-/.test(n))
    .sort();
  const step = Math.max(1, names.length / perSet);
  const picked = [];
  for (let k = 0; k < names.length && picked.length < perSet; k++) {
    const n = names[Math.floor(k * step)];
    if (n === undefined) break;
    if (picked.at(-1) !== n) picked.push(n);
  }
  for (const name of picked) jobs.push({ set, name, hexcode: hexOf.get(name) ?? null });
  info[set] = { package: `@iconify-json/${set}@${version}`, icons: names.length, license: meta.license, author: meta.author, count: 0 };
}

const tmp = path.join(os.tmpdir(), `art256-${process.pid}`);
mkdirSync(tmp, { recursive: true });
function runChunk(chunk, id) {
  const f = path.join(tmp, `chunk-${id}.json`);
  writeFileSync(f, JSON.stringify(chunk));
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--render', f], { stdio: ['ignore', 'ignore', 'pipe'] });
  return r.status === 0 ? readFileSync(f + '.out') : null;
}
const fd = openSync(path.join(CACHE, 'art256.u8'), 'w');
const records = [];
const skipped = [];
const keep = (job, buf) => {
  writeSync(fd, buf);
  records.push(job);
  info[job.set].count++;
};
const CH = 100;
for (let i = 0; i < jobs.length; i += CH) {
  const chunk = jobs.slice(i, i + CH);
  const buf = runChunk(chunk, i);
  if (buf) chunk.forEach((j, k) => keep(j, buf.subarray(k * PIX, (k + 1) * PIX)));
  else
    chunk.forEach((j, k) => {
      const b = runChunk([j], `${i}-${k}`);
      if (b) keep(j, b);
      else skipped.push(`${j.set}:${j.name}`);
    });
  process.stdout.write(`\rart ${Math.min(i + CH, jobs.length)}/${jobs.length}`);
}
closeSync(fd);
process.stdout.write('\n');
rmSync(tmp, { recursive: true, force: true });
writeFileSync(path.join(CACHE, 'art256.json'), JSON.stringify({ size: SIZE, sets: info, skipped, records }));
console.log(JSON.stringify({ images: records.length, perSet: Object.fromEntries(Object.entries(info).map(([k, v]) => [k, v.count])), skipped, seconds: (Date.now() - t0) / 1000 }));
