// Watch a Janus Streaming mountpoint over Janus's plain-HTTP API (long polling), no library: the
// five requests a viewer needs (create a session, attach the streaming plugin, "watch" to get
// Janus's SDP offer, "start" with our answer, keepalives) and the long-poll loop that brings the
// offer and Janus's trickled ICE candidates. janus.js does the same plus every other plugin in
// ~3500 lines and the webrtc-adapter dependency; see server/record/README.md.
//
//   const viewer = await watchMountpoint({ janus: 'http://host:8089/janus', mountpoint: 1 });
//   video.srcObject = viewer.stream;   ...   viewer.close();

const KEEPALIVE_MS = 25000;

let counter = 0;
const transaction = () => `ls${Date.now().toString(36)}${(counter++).toString(36)}`;

async function post(url, body, signal) {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify({ ...body, transaction: transaction() }), signal });
  if (!res.ok) throw new Error(`Janus answered HTTP ${res.status} at ${url}`);
  const msg = await res.json();
  if (msg.janus === 'error') throw new Error(`Janus: ${msg.error?.reason ?? 'error'} (${msg.error?.code ?? '?'})`);
  return msg;
}

/**
 * Open a WebRTC receive-only connection to a Streaming mountpoint.
 * @param {object} o
 * @param {string} o.janus the Janus HTTP API base, e.g. http://host:8089/janus
 * @param {number|string} [o.mountpoint] mountpoint id (default 1, the repo's config)
 * @param {RTCIceServer[]} [o.iceServers] STUN/TURN servers for viewers outside the LAN
 * @param {(state: string) => void} [o.onState] connection state changes ('connected', 'failed', ...)
 * @returns {Promise<{ stream: MediaStream, pc: RTCPeerConnection, close(): Promise<void> }>}
 */
export async function watchMountpoint({ janus, mountpoint = 1, iceServers = [], onState = () => {} }) {
  const base = janus.replace(/\/+$/, '');
  const abort = new AbortController();
  const session = (await post(base, { janus: 'create' }, abort.signal)).data.id;
  const sessionUrl = `${base}/${session}`;
  let closed = false;
  const pc = new RTCPeerConnection({ iceServers });
  const stream = new MediaStream();
  let offer;
  let offerFailed;
  const gotOffer = new Promise((resolve, reject) => {
    offer = resolve;
    offerFailed = reject;
  });
  const close = async () => {
    if (closed) return;
    closed = true;
    clearInterval(keepalive);
    abort.abort();
    pc.close();
    try {
      await fetch(sessionUrl, { method: 'POST', body: JSON.stringify({ janus: 'destroy', transaction: transaction() }) });
    } catch {
      // Janus gone: the session times out there by itself
    }
  };
  const keepalive = setInterval(() => post(sessionUrl, { janus: 'keepalive' }).catch(() => {}), KEEPALIVE_MS);

  try {
    const handle = (await post(sessionUrl, { janus: 'attach', plugin: 'janus.plugin.streaming' }, abort.signal)).data.id;
    const handleUrl = `${sessionUrl}/${handle}`;
    pc.ontrack = (ev) => stream.addTrack(ev.track);
    pc.onconnectionstatechange = () => onState(pc.connectionState);
    // our candidates go to Janus as they come (trickle), the last one as {completed: true}
    pc.onicecandidate = (ev) => {
      const candidate = ev.candidate ? { candidate: ev.candidate.candidate, sdpMid: ev.candidate.sdpMid, sdpMLineIndex: ev.candidate.sdpMLineIndex } : { completed: true };
      post(handleUrl, { janus: 'trickle', candidate }).catch(() => {});
    };

    // the long-poll loop: events for our handle (the offer, plugin errors) and Janus's candidates
    (async () => {
      while (!closed) {
        let events;
        try {
          const res = await fetch(`${sessionUrl}?maxev=10&rid=${Date.now()}`, { signal: abort.signal });
          events = await res.json();
        } catch (err) {
          if (!closed) offerFailed(new Error(`lost the Janus session: ${err.message}`));
          return;
        }
        for (const ev of Array.isArray(events) ? events : [events]) {
          if (ev.janus === 'event') {
            const data = ev.plugindata?.data ?? {};
            if (data.error) offerFailed(new Error(`Janus streaming: ${data.error}`));
            if (ev.jsep?.type === 'offer') offer(ev.jsep);
          } else if (ev.janus === 'trickle' && ev.candidate && !ev.candidate.completed) {
            pc.addIceCandidate(ev.candidate).catch(() => {});
          } else if (ev.janus === 'hangup') {
            onState('closed');
          }
        }
      }
    })();

    await post(handleUrl, { janus: 'message', body: { request: 'watch', id: Number(mountpoint) || mountpoint } }, abort.signal);
    const jsep = await gotOffer;
    await pc.setRemoteDescription(jsep);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await post(handleUrl, { janus: 'message', body: { request: 'start' }, jsep: { type: answer.type, sdp: pc.localDescription.sdp } }, abort.signal);
  } catch (err) {
    await close();
    throw err;
  }
  return { stream, pc, close };
}
