// Frames from a WebRTC media server: connectStage({ via: 'webrtc' }) plays the stream the
// server sends to Janus (stream.start {url: "webrtc://127.0.0.1:5004"}) and turns every video
// frame into stage.frame, sub-second behind the performer for any number of viewers. The video
// element is kept (stage.video) for pages that want to show it directly.

import { watchMountpoint } from './janus-streaming.js';

const MAX_BACKOFF = 4000;

/** The Janus API a page should use: ?janus= on the page, else http://<server host>:8089/janus. */
export function defaultJanus(server) {
  const q = new URLSearchParams(globalThis.location?.search ?? '');
  if (q.get('janus')) return q.get('janus');
  const u = new URL(server);
  return `${u.protocol}//${u.hostname}:8089/janus`;
}

/**
 * Play a mountpoint and call show(video, meta) for every video frame. Reconnects (backoff up to
 * 4 s) when Janus or the stream goes away. Returns { video, close() }.
 */
export function startWebrtcFrames({ janus, mountpoint = 1, iceServers = [], show, onStatus }) {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.autoplay = true;
  let viewer = null;
  let stopped = false;
  let delay = 500;
  let timer = null;
  let count = 0;

  const onVideoFrame = (_now, meta) => {
    if (stopped) return;
    if (video.videoWidth) show(video, { index: count++, time: meta.mediaTime, width: video.videoWidth, height: video.videoHeight, similarity: null });
    video.requestVideoFrameCallback(onVideoFrame);
  };
  video.requestVideoFrameCallback(onVideoFrame);

  const retry = () => {
    if (stopped || timer) return;
    onStatus('closed');
    timer = setTimeout(connect, delay);
    delay = Math.min(MAX_BACKOFF, delay * 2);
  };
  const connect = async () => {
    timer = null;
    if (stopped) return;
    onStatus('connecting');
    try {
      const v = await watchMountpoint({
        janus,
        mountpoint,
        iceServers,
        onState: (s) => {
          if (s === 'connected') {
            delay = 500;
            onStatus('open');
          } else if (s === 'failed' || s === 'closed' || s === 'disconnected') {
            if (viewer === v) {
              viewer = null;
              void v.close();
              retry();
            }
          }
        },
      });
      if (stopped) return void v.close();
      viewer = v;
      video.srcObject = v.stream;
      video.play().catch(() => {}); // muted video may autoplay
    } catch (err) {
      console.warn(`latentstage: cannot watch ${janus} mountpoint ${mountpoint}: ${err.message}`);
      retry();
    }
  };
  void connect();

  return {
    video,
    close() {
      stopped = true;
      clearTimeout(timer);
      void viewer?.close();
      viewer = null;
      onStatus('closed');
    },
  };
}
