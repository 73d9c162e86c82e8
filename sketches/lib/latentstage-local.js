// Frames drawn in this browser: connectStage({ render: 'local' }) takes each frame's latent from
// /frames?format=latent (a few hundred bytes) and runs the model's generator (and refiner) with
// onnxruntime-web, served by latentstage from its node_modules (/vendor/onnxruntime-web). WebGPU
// when the browser has it, else WASM; `backend` forces one ('webgpu' | 'webgl' | 'wasm').
//
// The page measures whether it keeps up: after a warm-up, if it draws fewer than `keepUp` (0.8) of
// the frames the server sends for `window` ms, or the model cannot be loaded at all, it calls
// fallback(reason) and the stage goes back to JPEG frames.

import { parseHeader } from './latentstage.js';

const ORT = '/vendor/onnxruntime-web/';
const WARMUP_MS = 2000;

// the smallest build for the backend: WASM alone is a 15 MB .wasm, with WebGPU about 29 MB
const BUNDLES = { wasm: 'ort.wasm.min.mjs', webgpu: 'ort.min.mjs', webgl: 'ort.webgl.min.mjs' };
const ortModules = new Map();
/** onnxruntime-web for one backend, loaded once per page. */
function loadOrt(server, backend) {
  const bundle = BUNDLES[backend] ?? BUNDLES.wasm;
  if (!ortModules.has(bundle)) {
    ortModules.set(
      bundle,
      import(new URL(`${ORT}${bundle}`, server).href).then((ort) => {
        ort.env.wasm.wasmPaths = new URL(ORT, server).href;
        // threads need a cross-origin-isolated page; otherwise one thread (ORT's own default)
        ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
        return ort;
      }),
    );
  }
  return ortModules.get(bundle);
}

async function pickBackend(wanted) {
  if (wanted) return wanted;
  try {
    if (navigator.gpu && (await navigator.gpu.requestAdapter())) return 'webgpu';
  } catch {
    // no usable WebGPU
  }
  return 'wasm';
}

/** NCHW or NHWC float image in [lo, hi] -> RGBA ImageData, rounded as the server rounds (toRgb). */
export function toImageData(data, width, height, layout, [lo, hi]) {
  const out = new ImageData(width, height);
  const px = out.data; // Uint8ClampedArray: clamps and rounds half to even, like the server's
  const k = 255 / (hi - lo);
  const b = -lo * k;
  const plane = width * height;
  for (let i = 0, o = 0; i < plane; i++, o += 4) {
    if (layout === 'NHWC') {
      px[o] = data[3 * i] * k + b;
      px[o + 1] = data[3 * i + 1] * k + b;
      px[o + 2] = data[3 * i + 2] * k + b;
    } else {
      px[o] = data[i] * k + b;
      px[o + 1] = data[plane + i] * k + b;
      px[o + 2] = data[2 * plane + i] * k + b;
    }
    px[o + 3] = 255;
  }
  return out;
}

/** The model as this page runs it: sessions for the generator and refiner, and a draw(latent) call. */
export async function loadLocalModel(server, { backend } = {}) {
  const info = await (await fetch(new URL('/api/model', server))).json();
  const m = info.manifest;
  if (!info.browser?.render) throw new Error(`model ${m.id} is not rendered in browsers (its manifest has no browser.render)`);
  const ep = await pickBackend(backend);
  const ort = await loadOrt(server, ep);
  const urlOf = (name) => new URL(info.browser.files.find((f) => f.name === name)?.url ?? `/api/model/files/${name}`, server);
  const open = async (name) => {
    const bytes = new Uint8Array(await (await fetch(urlOf(name))).arrayBuffer());
    return ort.InferenceSession.create(bytes, { executionProviders: [ep], graphOptimizationLevel: 'all' });
  };
  const generator = await open(m.generator.file);
  const refiner = m.refiner ? await open(m.refiner.file) : null;
  const zDim = m.generator.z.dim;
  const cond = m.generator.condition;
  const scale = m.refiner?.scale ?? 1;
  const base = { width: m.resolution.width / scale, height: m.resolution.height / scale };
  const layout = m.generator.output.layout;
  const shape = layout === 'NHWC' ? [1, base.height, base.width, 3] : [1, 3, base.height, base.width];
  return {
    manifest: m,
    backend: ep,
    /** latent: z then the condition (Float32Array) -> ImageData at the model's resolution. */
    async draw(latent) {
      const feeds = { [m.generator.z.input]: new ort.Tensor('float32', latent.slice(0, zDim), [1, zDim]) };
      if (cond) feeds[cond.input] = new ort.Tensor('float32', latent.slice(zDim, zDim + cond.dim), [1, cond.dim]);
      let image = (await generator.run(feeds))[m.generator.output.name];
      if (refiner) {
        const out = await refiner.run({ [m.refiner.input]: new ort.Tensor('float32', image.data, shape) });
        image.dispose?.();
        image = out[m.refiner.output];
      }
      const data = await image.getData?.() ?? image.data;
      const picture = toImageData(data, m.resolution.width, m.resolution.height, layout, m.generator.output.range);
      image.dispose?.();
      return picture;
    },
  };
}

/**
 * Start drawing frames locally. Calls show(imageData, meta) for every frame drawn, setState(state)
 * for state messages, onStatus for the socket, and fallback(reason) once when this page should
 * use JPEG frames instead (it then stops by itself). Returns { close(), stats }.
 */
export function startLocalFrames({ server, openSocket, show, setState, onStatus, fallback, backend, keepUp = 0.8, window: windowMs = 3000 }) {
  const stats = { backend: null, received: 0, drawn: 0, drawMs: 0, firstFrameMs: null, fps: 0 };
  const started = performance.now();
  let model = null;
  let pending = null;
  let drawing = false;
  let stopped = false;
  let socket = null;
  let windowStart = 0;
  let windowReceived = 0;
  let windowDrawn = 0;

  const stop = () => {
    stopped = true;
    socket?.close();
  };
  const giveUp = (why) => {
    if (stopped) return;
    stop();
    fallback(why);
  };

  // keep up or fall back: judged over whole windows after the warm-up
  const judge = (now) => {
    // the warm-up starts at the first frame drawn (loading the model is time to first frame)
    if (stats.firstFrameMs === null || now - started - stats.firstFrameMs < WARMUP_MS) return;
    if (!windowStart) {
      windowStart = now;
      windowReceived = windowDrawn = 0;
      return;
    }
    if (now - windowStart < windowMs) return;
    stats.fps = (1000 * windowDrawn) / (now - windowStart);
    if (windowReceived > 0 && windowDrawn < keepUp * windowReceived) {
      giveUp(`drew ${windowDrawn} of ${windowReceived} frames in ${Math.round(now - windowStart)} ms (${stats.fps.toFixed(1)} fps, ${(stats.drawMs / Math.max(1, stats.drawn)).toFixed(1)} ms a frame on ${stats.backend})`);
      return;
    }
    windowStart = now;
    windowReceived = windowDrawn = 0;
  };

  const drawLoop = async () => {
    if (drawing || !model) return;
    drawing = true;
    try {
      while (pending && !stopped) {
        const buf = pending;
        pending = null;
        const h = parseHeader(buf);
        if (!h || h.format !== 'latent') continue;
        const t0 = performance.now();
        const latent = new Float32Array(buf.slice(h.offset, h.offset + h.length));
        const picture = await model.draw(latent);
        if (stopped) return;
        const t1 = performance.now();
        stats.drawn++;
        windowDrawn++;
        stats.drawMs += t1 - t0;
        stats.firstFrameMs ??= t1 - started;
        show(picture, { index: h.index, time: h.time, width: picture.width, height: picture.height, similarity: Number.isNaN(h.similarity) ? null : h.similarity });
        judge(t1);
      }
    } catch (err) {
      giveUp(`could not draw a frame: ${err.message}`);
    } finally {
      drawing = false;
    }
  };

  socket = openSocket({
    onMessage(data) {
      if (typeof data === 'string') {
        try {
          const msg = JSON.parse(data);
          if (msg.type === 'state') setState(msg.state);
        } catch {
          // a garbled message is ignored
        }
        return;
      }
      stats.received++;
      windowReceived++;
      pending = data;
      judge(performance.now());
      void drawLoop();
    },
    onStatus,
  });
  socket.open();

  loadLocalModel(server, { backend }).then(
    (m) => {
      if (stopped) return;
      model = m;
      stats.backend = m.backend;
      void drawLoop();
    },
    (err) => giveUp(`cannot draw here: ${err.message}`),
  );

  return { stats, close: stop };
}
