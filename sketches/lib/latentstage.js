// latentstage client for p5.js sketches (and any browser page). One ES module, no build step.
//
//   import { connectStage, drawFrame } from '/sketches/lib/latentstage.js';
//   const stage = connectStage({ size: 512 });
//   window.setup = async () => { createCanvas(windowWidth, windowHeight, WEBGL); await stage.ready(); };
//   window.draw = () => drawFrame(stage.frame, { fit: 'contain' });
//
// stage.frame is the newest decoded frame (a p5.Image when p5 is loaded, else {width, height,
// canvas}); stage.previous the one before it; drawFrame() draws one through p5, in 2D or WEBGL;
// stage.ready() resolves on the first frame. Frames arriving while one is being decoded replace
// each other: only the newest is decoded. Both sockets reconnect by themselves (backoff capped
// at 2 s). See README.md next to this file.

const HEADER_BYTES = 32;
const MAGIC = 0x3146534c; // "LSF1" little-endian
const TOKEN_KEY = 'latentstage.token';
const MAX_BACKOFF = 2000;

/** Parse the 32-byte frame header (see server/frames/header.ts). Returns null if it is not one. */
export function parseHeader(buf) {
  if (buf.byteLength < HEADER_BYTES) return null;
  const v = new DataView(buf);
  if (v.getUint32(0, true) !== MAGIC) return null;
  const headerLength = v.getUint16(22, true);
  return {
    index: v.getUint32(4, true),
    time: v.getFloat64(8, true),
    width: v.getUint16(16, true),
    height: v.getUint16(18, true),
    format: ['jpeg', 'rgba', 'latent'][v.getUint8(20)] ?? 'rgba',
    similarity: v.getFloat32(24, true),
    offset: headerLength,
    length: v.getUint32(28, true),
  };
}

/** Where to draw a srcW x srcH image into a dstW x dstH box: fit 'cover' fills, 'contain' shows all. */
export function fitRect(srcW, srcH, dstW, dstH, fit = 'cover') {
  const s = fit === 'contain' ? Math.min(dstW / srcW, dstH / srcH) : Math.max(dstW / srcW, dstH / srcH);
  const w = srcW * s;
  const h = srcH * s;
  return { x: (dstW - w) / 2, y: (dstH - h) / 2, w, h };
}

/** Is this p5 instance drawing with WebGL (createCanvas(w, h, WEBGL))? */
export function isWebgl(p) {
  const ctx = p?.drawingContext;
  return Boolean(ctx && ((globalThis.WebGLRenderingContext && ctx instanceof WebGLRenderingContext) || (globalThis.WebGL2RenderingContext && ctx instanceof WebGL2RenderingContext)));
}

/**
 * Draw a frame through p5 (image(), tint()), so it works on a 2D and a WEBGL canvas alike:
 * fitted into the canvas (or the box x, y, w, h) with `fit` ('cover' crops the frame to the box,
 * 'contain' shows all of it), at opacity `alpha`. Coordinates are
 * from the top left corner in both modes. `p`: the p5 instance (default: the global one).
 */
export function drawFrame(img, { p = globalThis.p5?.instance, fit = 'cover', alpha = 1, x = 0, y = 0, w, h } = {}) {
  if (!img || !p) return;
  const bw = w ?? p.width;
  const bh = h ?? p.height;
  p.push();
  if (isWebgl(p)) p.translate(-p.width / 2, -p.height / 2);
  p.imageMode(p.CORNER);
  if (alpha < 1) p.tint(255, Math.max(0, alpha) * 255);
  else p.noTint();
  if (fit === 'contain') {
    const r = fitRect(img.width, img.height, bw, bh, fit);
    p.image(img, x + r.x, y + r.y, r.w, r.h);
  } else {
    // cover: the part of the frame that fills the box, so nothing spills outside it
    const k = Math.max(bw / img.width, bh / img.height);
    const sw = bw / k;
    const sh = bh / k;
    p.image(img, x, y, bw, bh, (img.width - sw) / 2, (img.height - sh) / 2, sw, sh);
  }
  p.pop();
}

/** URL query parameters with defaults; numbers and booleans are converted to the default's type. */
export function urlParams(defaults, search = globalThis.location?.search ?? '') {
  const q = new URLSearchParams(search);
  const out = { ...defaults };
  for (const [key, def] of Object.entries(defaults)) {
    if (!q.has(key)) continue;
    const raw = q.get(key);
    if (typeof def === 'number') {
      const n = Number(raw);
      if (Number.isFinite(n)) out[key] = n;
    } else if (typeof def === 'boolean') out[key] = raw !== '0' && raw !== 'false';
    else out[key] = raw;
  }
  return out;
}

function wsUrl(server, path, query) {
  const u = new URL(path, server);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
  return u.href;
}

function storedToken() {
  try {
    return new URLSearchParams(location.search).get('token') || localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

/** A socket that reconnects with exponential backoff (250 ms doubling, capped at 2 s). */
class Reconnecting {
  constructor(makeUrl, { binary = false, onMessage, onStatus, onFail }) {
    this.makeUrl = makeUrl;
    this.binary = binary;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onFail = onFail;
    this.delay = 250;
    this.ws = null;
    this.timer = null;
    this.stopped = false;
    this.status = 'closed';
  }

  open() {
    this.stopped = false;
    if (this.ws || this.timer) return;
    this.connect();
  }

  connect() {
    this.timer = null;
    if (this.stopped) return;
    this.setStatus('connecting');
    let opened = false;
    const ws = new WebSocket(this.makeUrl());
    if (this.binary) ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.delay = 250;
      this.setStatus('open');
    };
    ws.onmessage = (ev) => this.onMessage(ev.data);
    ws.onerror = () => {};
    ws.onclose = async (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setStatus('closed');
      if (this.stopped) return;
      // onFail may veto the retry (e.g. the control socket was refused for a missing token).
      if (this.onFail && (await this.onFail(ev, opened)) === false) return;
      if (this.stopped || this.ws || this.timer) return;
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(MAX_BACKOFF, this.delay * 2);
    };
  }

  setStatus(s) {
    if (s === this.status) return;
    this.status = s;
    this.onStatus(s);
  }

  send(text) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(text);
    return true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close();
    this.setStatus('closed');
  }
}

/** Show a picture that did not come as a /frames message (WebRTC video, a frame drawn here). */
function showFrame(stage, bufferFor, emit, source, meta) {
  const b = bufferFor(meta.width, meta.height);
  if (source instanceof ImageData) b.drawingContext.putImageData(source, 0, 0);
  else {
    b.drawingContext.clearRect(0, 0, meta.width, meta.height);
    b.drawingContext.drawImage(source, 0, 0, meta.width, meta.height);
  }
  b.setModified?.(true);
  stage.previous = stage.frame;
  stage.frame = b;
  stage.meta = { ...meta, receivedAt: performance.now() };
  stage.frames++;
  emit('frame', b, stage.meta);
}

/**
 * Where this page's frames come from (stage.path): 'jpeg' or 'rgba' over /frames; 'webrtc' from
 * a media server (latentstage-webrtc.js); 'local', drawn here from latents (latentstage-local.js),
 * which falls back to 'jpeg' when this browser cannot keep up (stage.pathReason says why).
 */
function startFramePath(stage, opts, server, { show, setState, emit, framesSocket, latentSocket }) {
  const setPath = (path, reason = null) => {
    stage.path = path;
    stage.pathReason = reason;
    emit('path', path, reason);
  };
  const onStatus = (s) => {
    stage.status = s;
    emit('status', s);
  };
  const jpeg = (reason) => {
    setPath(opts.format === 'rgba' ? 'rgba' : 'jpeg', reason);
    framesSocket.open();
  };
  const closeFrames = stage.close;
  if (opts.via === 'webrtc') {
    setPath('webrtc');
    // the picture comes from the media server; the state from the server itself, once a second
    const poll = setInterval(async () => {
      try {
        setState(await (await fetch(new URL('/api/state', server))).json());
      } catch {
        // server away: the video goes on
      }
    }, 1000);
    stage.close = () => (clearInterval(poll), closeFrames());
    import('./latentstage-webrtc.js').then(({ startWebrtcFrames, defaultJanus }) => {
      const rtc = startWebrtcFrames({ janus: opts.janus ?? defaultJanus(server), mountpoint: opts.mountpoint ?? 1, iceServers: opts.iceServers ?? [], show, onStatus });
      stage.video = rtc.video;
      stage.close = () => (clearInterval(poll), rtc.close(), closeFrames());
    });
  } else if (opts.render === 'local') {
    setPath('local');
    import('./latentstage-local.js').then(({ startLocalFrames }) => {
      const local = startLocalFrames({
        server,
        openSocket: latentSocket,
        show,
        setState,
        onStatus,
        backend: opts.backend,
        keepUp: opts.keepUp,
        fallback: (reason) => {
          console.warn(`latentstage: drawing frames here stopped (${reason}); using JPEG frames`);
          jpeg(reason);
        },
      });
      stage.local = local.stats;
      stage.close = () => (local.close(), closeFrames());
    });
  } else jpeg();
}

/**
 * Connect to a latentstage server.
 * @param {object} [opts]
 * @param {string} [opts.server] origin of the server (default: this page's origin)
 * @param {'jpeg'|'rgba'} [opts.format] frame encoding (default 'jpeg')
 * @param {number} [opts.size] longest side of the frames in pixels (default: the model's size)
 * @param {number} [opts.quality] JPEG quality 1-100
 * @param {object} [opts.p5] the p5 instance (instance mode); global mode needs nothing
 * @param {boolean} [opts.frames] open the frame stream (default true)
 * @param {boolean} [opts.control] open the control socket now rather than on the first send()
 * @param {string} [opts.token] control token (default: ?token= or localStorage 'latentstage.token')
 * @param {'webrtc'} [opts.via] frames from a WebRTC media server (Janus) instead of /frames
 * @param {string} [opts.janus] its HTTP API (default ?janus= or http://<server host>:8089/janus)
 * @param {number} [opts.mountpoint] its Streaming mountpoint id (default 1)
 * @param {'local'} [opts.render] draw the frames here from latents (onnxruntime-web), JPEG as fallback
 */
export function connectStage(opts = {}) {
  const server = opts.server ?? location.origin;
  const listeners = new Map();
  const emit = (type, ...args) => {
    for (const fn of listeners.get(type) ?? []) {
      try {
        fn(...args);
      } catch (err) {
        console.error(err);
      }
    }
  };
  const P5 = () => opts.p5?.constructor ?? globalThis.p5;

  // Two frame buffers used in turn: `frame` is the newest, `previous` the one before it.
  const makeBuffer = (w, h) => {
    const Ctor = P5()?.Image;
    if (Ctor) return new Ctor(w, h);
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    return { width: w, height: h, canvas, drawingContext: canvas.getContext('2d') };
  };
  const buffers = [null, null];
  let turn = 0;
  const bufferFor = (w, h) => {
    let b = buffers[turn];
    if (!b || b.width !== w || b.height !== h) b = buffers[turn] = makeBuffer(w, h);
    turn ^= 1;
    return b;
  };

  // ready(): one promise, settled by the first decoded frame.
  let firstFrame = null;
  const firstFramePromise = new Promise((resolve) => (firstFrame = resolve));

  let pending = null; // newest undecoded frame message
  let decoding = false;
  const decode = async () => {
    if (decoding) return;
    decoding = true;
    try {
      while (pending) {
        const buf = pending;
        pending = null;
        const h = parseHeader(buf);
        if (!h) continue;
        const payload = new Uint8Array(buf, h.offset, h.length);
        let source;
        if (h.format === 'jpeg') source = await createImageBitmap(new Blob([payload], { type: 'image/jpeg' }));
        else source = new ImageData(new Uint8ClampedArray(payload.buffer, payload.byteOffset, payload.byteLength), h.width, h.height);
        const b = bufferFor(h.width, h.height);
        if (source instanceof ImageData) b.drawingContext.putImageData(source, 0, 0);
        else {
          b.drawingContext.clearRect(0, 0, h.width, h.height);
          b.drawingContext.drawImage(source, 0, 0);
          source.close();
        }
        b.setModified?.(true);
        stage.previous = stage.frame;
        stage.frame = b;
        stage.meta = { index: h.index, time: h.time, width: h.width, height: h.height, similarity: Number.isNaN(h.similarity) ? null : h.similarity, receivedAt: performance.now() };
        stage.frames++;
        emit('frame', b, stage.meta);
        if (firstFrame) {
          firstFrame(b);
          firstFrame = null;
        }
      }
    } catch (err) {
      console.warn('latentstage: could not decode a frame', err);
    } finally {
      decoding = false;
    }
  };

  const parseJson = (text) => {
    try {
      return JSON.parse(text);
    } catch {
      return null; // a garbled message is ignored; the next state message repairs the view
    }
  };

  const setState = (state) => {
    stage.state = state;
    emit('state', state);
  };

  const framesSocket = new Reconnecting(
    () => wsUrl(server, '/frames', { format: opts.format ?? 'jpeg', size: opts.size, quality: opts.quality }),
    {
      binary: true,
      onMessage(data) {
        if (typeof data === 'string') {
          const msg = parseJson(data);
          if (msg?.type === 'state') setState(msg.state);
          return;
        }
        if (pending) stage.dropped++;
        pending = data;
        void decode();
      },
      onStatus(s) {
        stage.status = s;
        emit('status', s);
      },
    },
  );

  // Control: commands carry an id; the ack or error with the same id settles the promise.
  let nextId = 1;
  const waiting = new Map();
  const failAll = (why) => {
    for (const [, w] of waiting) w.reject(new Error(why));
    waiting.clear();
  };
  const controlSocket = new Reconnecting(() => wsUrl(server, '/control', { token: stage.token }), {
    onMessage(data) {
      const msg = parseJson(data);
      if (!msg) return;
      if (msg.type === 'state') setState(msg.state);
      else if (msg.type === 'stats') {
        stage.stats = { fps: msg.fps, frame: msg.frame, viewers: msg.viewers };
        emit('stats', stage.stats);
      } else if (msg.type === 'ack' || msg.type === 'error') {
        const w = waiting.get(msg.id);
        if (!w) return;
        waiting.delete(msg.id);
        if (msg.type === 'ack') {
          setState(msg.state);
          w.resolve(msg.state);
        } else w.reject(Object.assign(new Error(msg.error), { status: 400 }));
      }
      emit('message', msg);
    },
    onStatus(s) {
      stage.controlStatus = s;
      if (s === 'closed') failAll('control connection closed');
      emit('control', s);
    },
    async onFail(_ev, opened) {
      if (opened) return true;
      // While the frame stream is down too, the server is simply away: keep retrying quietly.
      if (opts.frames !== false && stage.status !== 'open') return true;
      // The upgrade was refused: find out whether for want of a token (POST {} -> 401 or 400).
      try {
        const res = await fetch(new URL('/api/command', server), { method: 'POST', headers: authHeaders(), body: '{}' });
        if (res.status === 401) {
          stage.authRequired = true;
          emit('auth', stage.token ? 'rejected' : 'required');
          return false;
        }
      } catch {
        // server down: keep retrying
      }
      return true;
    },
  });

  const authHeaders = () => {
    const h = { 'content-type': 'application/json' };
    if (stage.token) h.authorization = `Bearer ${stage.token}`;
    return h;
  };

  const viaHttp = async (command) => {
    const res = await fetch(new URL('/api/command', server), { method: 'POST', headers: authHeaders(), body: JSON.stringify(command) });
    let body = null;
    try {
      body = await res.json();
    } catch {
      // not JSON
    }
    if (!res.ok) {
      if (res.status === 401) {
        stage.authRequired = true;
        emit('auth', stage.token ? 'rejected' : 'required');
      }
      throw Object.assign(new Error(body?.error ?? `HTTP ${res.status}`), { status: res.status });
    }
    setState(body);
    return body;
  };

  const stage = {
    frame: null,
    previous: null,
    meta: null,
    state: null,
    stats: null,
    status: 'connecting',
    controlStatus: 'closed',
    token: opts.token ?? storedToken(),
    authRequired: false,
    /** frames decoded / frames skipped because a newer one was already waiting */
    frames: 0,
    dropped: 0,

    /** Send a command; resolves to the new state, rejects with the server's error message. */
    send(command, { timeout = 10000 } = {}) {
      controlSocket.open();
      if (controlSocket.status !== 'open') return viaHttp(command);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error('no answer from the server'));
        }, timeout);
        waiting.set(id, {
          resolve: (s) => (clearTimeout(timer), resolve(s)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
        if (!controlSocket.send(JSON.stringify({ ...command, id }))) {
          waiting.delete(id);
          clearTimeout(timer);
          viaHttp(command).then(resolve, reject);
        }
      });
    },

    /**
     * Resolves to the first frame once it has been decoded (at once if one already has): for
     * p5 2.x's `async setup()`, `await stage.ready()` before sizing things to the frame.
     * Rejects after `timeout` ms (default: never) or when the page has no frame stream.
     */
    ready({ timeout } = {}) {
      if (stage.frame) return Promise.resolve(stage.frame);
      if (opts.frames === false) return Promise.reject(new Error('this stage was connected with frames: false'));
      if (!timeout) return firstFramePromise;
      return Promise.race([firstFramePromise, new Promise((_, reject) => setTimeout(() => reject(new Error(`no frame within ${timeout} ms`)), timeout))]);
    },

    /** Use a (new) control token; stored in localStorage when `remember` is true. */
    setToken(token, remember = true) {
      stage.token = token;
      stage.authRequired = false;
      try {
        if (remember) localStorage.setItem(TOKEN_KEY, token);
      } catch {
        // storage unavailable
      }
      controlSocket.close();
      controlSocket.open();
    },

    /** Open the control socket now (stats and acks over WebSocket). */
    openControl() {
      controlSocket.open();
    },

    on(type, fn) {
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type).add(fn);
      return () => listeners.get(type)?.delete(fn);
    },

    close() {
      framesSocket.close();
      controlSocket.close();
      listeners.clear();
    },
  };

  if (opts.frames === false) stage.status = 'closed';
  else {
    const show = (source, meta) => showFrame(stage, bufferFor, emit, source, meta);
    const latentSocket = (handlers) => new Reconnecting(() => wsUrl(server, '/frames', { format: 'latent' }), { binary: true, ...handlers });
    startFramePath(stage, opts, server, { show, setState, emit, framesSocket, latentSocket });
  }
  if (opts.control) controlSocket.open();
  return stage;
}
