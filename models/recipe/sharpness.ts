// Sharpness of the served picture: edge energy (mean squared Sobel gradient of luminance) of
// 256 px frames of prompt concepts, relative to the real 256 px art of the same concepts
// (1.0 = as crisp as the art). Frames come through the real server path: a server is started on
// the model, each concept is sent as a prompt over HTTP, and frames are read as a /frames viewer
// would (rgba at 256 px). Two pictures are measured:
//   refined  the model as shipped (generator -> refiner, served natively at 256 px)
//   lanczos  the same model with its refiner taken out of the manifest: its 64 px frames read
//            natively and upscaled here with lanczos3 - the picture before the refiner existed
//            (the server's own viewer upscale is bilinear since, a little softer still)
// Art: the Iconify sets that map icons to characters (noto, twemoji, openmoji, fluent-emoji-flat),
// rasterised by build-art256.mjs at 256 px. Needs `npm install` in models/recipe.
//
// Usage (repository root): node --import tsx models/recipe/sharpness.ts [--model DIR] [--frames 6] [--concepts 24] [--out FILE]
import { mkdtempSync, readFileSync, writeFileSync, symlinkSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import WebSocket from 'ws';
import { startServer, DEFAULT_MODEL } from '../../server/server.ts';

const HERE = import.meta.dirname;
const require = createRequire(path.join(HERE, 'package.json'));
const SIZE = 256;

/** Concepts with a single, well-known emoji: prompt text and hexcode. */
export const CONCEPTS: [string, string][] = [
  ['fire', '1F525'], ['red heart', '2764'], ['cat face', '1F431'], ['dog face', '1F436'], ['sun', '2600'],
  ['star', '2B50'], ['pizza', '1F355'], ['ghost', '1F47B'], ['rainbow', '1F308'], ['deciduous tree', '1F333'],
  ['grinning face', '1F600'], ['robot', '1F916'], ['rocket', '1F680'], ['crescent moon', '1F319'],
  ['red apple', '1F34E'], ['hamburger', '1F354'], ['skull', '1F480'], ['alien', '1F47D'], ['frog', '1F438'],
  ['unicorn', '1F984'], ['panda', '1F43C'], ['octopus', '1F419'], ['snowman', '26C4'], ['banana', '1F34C'],
];
const ART_SETS = ['noto', 'twemoji', 'openmoji', 'fluent-emoji-flat'];

const arg = (flag: string, dflt: string) => {
  const i = process.argv.indexOf(flag);
  return i < 0 ? dflt : process.argv[i + 1]!;
};

/**
 * Mean squared Sobel gradient of luminance in [0, 1], over interior pixels. Squared, because the
 * plain gradient magnitude summed across an edge is the edge's height however blurred it is; its
 * square falls as an edge spreads over more pixels (a step blurred over w pixels: ~1/w).
 */
export function edgeEnergy(px: Uint8Array | Buffer, w: number, h: number, channels: number): number {
  const lum = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) lum[i] = (0.299 * px[i * channels]! + 0.587 * px[i * channels + 1]! + 0.114 * px[i * channels + 2]!) / 255;
  let sum = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const p = (dy: number, dx: number) => lum[(y + dy) * w + x + dx]!;
      const gx = (p(-1, 1) + 2 * p(0, 1) + p(1, 1) - p(-1, -1) - 2 * p(0, -1) - p(1, -1)) / 8;
      const gy = (p(1, -1) + 2 * p(1, 0) + p(1, 1) - p(-1, -1) - 2 * p(-1, 0) - p(-1, 1)) / 8;
      sum += gx * gx + gy * gy;
    }
  }
  return sum / ((w - 2) * (h - 2));
}

function artEnergy(): Map<string, number> {
  const norm = (hex: string) => hex.toUpperCase().split('-').filter((p) => p !== 'FE0F').join('-');
  const jobs: { set: string; name: string; hexcode: string }[] = [];
  for (const set of ART_SETS) {
    const chars = require(`@iconify-json/${set}/chars.json`) as Record<string, string>;
    const byHex = new Map<string, string>();
    for (const [k, name] of Object.entries(chars)) if (!byHex.has(norm(k))) byHex.set(norm(k), name);
    for (const [, hex] of CONCEPTS) {
      const name = byHex.get(hex);
      if (name) jobs.push({ set, name, hexcode: hex });
    }
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'sharpness-'));
  const file = path.join(dir, 'jobs.json');
  writeFileSync(file, JSON.stringify(jobs));
  const r = spawnSync(process.execPath, [path.join(HERE, 'build-art256.mjs'), '--render', file], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('rasterising the art failed');
  const raw = readFileSync(file + '.out');
  rmSync(dir, { recursive: true, force: true });
  const per = new Map<string, number[]>();
  jobs.forEach((j, i) => {
    const e = edgeEnergy(raw.subarray(i * SIZE * SIZE * 3, (i + 1) * SIZE * SIZE * 3), SIZE, SIZE, 3);
    per.set(j.hexcode, [...(per.get(j.hexcode) ?? []), e]);
  });
  return new Map([...per].map(([k, v]) => [k, v.reduce((a, b) => a + b, 0) / v.length]));
}

/** A copy of the model folder (files linked) whose manifest has no refiner: 64 px frames. */
export function withoutRefiner(dir: string): string {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'sharpness-model-')), path.basename(dir));
  const m = JSON.parse(readFileSync(path.join(dir, 'latentstage.json'), 'utf8'));
  if (!m.refiner) throw new Error(`${dir} has no refiner to compare against`);
  const s = m.refiner.scale;
  m.resolution = { width: m.resolution.width / s, height: m.resolution.height / s };
  delete m.refiner;
  spawnSync('mkdir', ['-p', out]);
  for (const f of readdirSync(dir)) if (f !== 'latentstage.json') symlinkSync(path.join(dir, f), path.join(out, f));
  writeFileSync(path.join(out, 'latentstage.json'), JSON.stringify(m));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Edge energy of served frames; `native` (px): read frames at that size and upscale them with lanczos3 here. */
async function servedEnergy(model: string, frames: number, concepts: [string, string][], native?: number): Promise<Map<string, number>> {
  const s = await startServer({ model, port: 0, logger: pino({ level: 'silent' }), osc: null });
  const result = new Map<string, number>();
  try {
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/frames?format=rgba${native ? '' : `&size=${SIZE}`}`);
    let latest: Buffer | null = null;
    ws.on('message', (data, binary) => {
      if (binary) latest = data as Buffer;
    });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    for (const [text, hex] of concepts) {
      const res = await fetch(`${s.url}/api/command`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(s.token ? { authorization: `Bearer ${s.token}` } : {}) },
        body: JSON.stringify({ type: 'prompt', text }),
      });
      if (!res.ok) throw new Error(`prompt ${text}: ${res.status} ${await res.text()}`);
      await sleep(3000); // let the walk arrive
      const es: number[] = [];
      for (let k = 0; k < frames; k++) {
        await sleep(300);
        const msg = latest as Buffer | null;
        if (!msg) continue;
        const px = native
          ? await sharp(msg.subarray(msg.length - native * native * 4), { raw: { width: native, height: native, channels: 4 } })
              .resize({ width: SIZE, height: SIZE, kernel: 'lanczos3', fit: 'fill' })
              .raw()
              .toBuffer()
          : msg.subarray(msg.length - SIZE * SIZE * 4);
        es.push(edgeEnergy(px, SIZE, SIZE, 4));
      }
      result.set(hex, es.reduce((a, b) => a + b, 0) / es.length);
      process.stdout.write('.');
    }
    ws.close();
  } finally {
    await s.close();
  }
  process.stdout.write('\n');
  return result;
}

if (process.argv[1]?.endsWith('sharpness.ts')) {
  const model = path.resolve(arg('--model', DEFAULT_MODEL));
  const frames = Number(arg('--frames', '6'));
  const concepts = CONCEPTS.slice(0, Number(arg('--concepts', String(CONCEPTS.length))));
  const art = artEnergy();
  const refined = await servedEnergy(model, frames, concepts);
  const base = JSON.parse(readFileSync(path.join(model, 'latentstage.json'), 'utf8'));
  const lanczos = await servedEnergy(withoutRefiner(model), frames, concepts, base.resolution.width / (base.refiner?.scale ?? 1));
  const mean = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0) / m.size;
  for (const h of art.keys()) if (!refined.has(h)) art.delete(h);
  const rows = concepts.filter(([, h]) => art.has(h)).map(([text, h]) => ({
    concept: text,
    art: +art.get(h)!.toFixed(6),
    refined: +(refined.get(h)! / art.get(h)!).toFixed(3),
    lanczos: +(lanczos.get(h)! / art.get(h)!).toFixed(3),
  }));
  const summary = {
    size: SIZE,
    concepts: rows.length,
    framesPerConcept: frames,
    sharpness: { refined: +(mean(refined) / mean(art)).toFixed(3), lanczos: +(mean(lanczos) / mean(art)).toFixed(3) },
    ratio: +(mean(refined) / mean(lanczos)).toFixed(2),
    rows,
  };
  console.table(rows);
  console.log(JSON.stringify({ ...summary, rows: undefined }, null, 2));
  const out = arg('--out', '');
  if (out) writeFileSync(out, JSON.stringify(summary, null, 2) + '\n');
  process.exit(0);
}
