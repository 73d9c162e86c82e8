// Stream targets: webrtc://host:port becomes RTP/H.264 that a browser decodes (constrained
// baseline, no B-frames) with a keyframe every half second; the other kinds keep their container.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerFor, redactUrl } from '../../server/record/stream.ts';
import { encoderArgs } from '../../server/record/ffmpeg.ts';
import { streamUrl } from '../../server/schema-atoms.ts';

test('each stream URL kind maps to its container and ffmpeg output', () => {
  assert.deepEqual(containerFor('webrtc://127.0.0.1:5004'), { protocol: 'rtp', container: 'rtp', output: 'rtp://127.0.0.1:5004?pkt_size=1200' });
  assert.deepEqual(containerFor('rtmp://x/live/key'), { protocol: 'rtmp', container: 'flv', output: 'rtmp://x/live/key' });
  assert.deepEqual(containerFor('srt://x:9000'), { protocol: 'srt', container: 'mpegts', output: 'srt://x:9000' });
  assert.equal(redactUrl('webrtc://127.0.0.1:5004'), 'webrtc://127.0.0.1:5004');
});

test('RTP for WebRTC: baseline H.264 without B-frames, keyframe every half second', () => {
  const args = encoderArgs({ output: 'rtp://127.0.0.1:5004?pkt_size=1200', container: 'rtp', width: 256, height: 256, fps: 60, live: true });
  const after = (flag: string) => args[args.lastIndexOf(flag) + 1];
  assert.equal(after('-profile:v'), 'baseline');
  assert.equal(after('-bf'), '0');
  assert.equal(after('-g'), '30');
  assert.equal(after('-f'), 'rtp');
  assert.equal(args.at(-1), 'rtp://127.0.0.1:5004?pkt_size=1200');
  // other outputs keep one keyframe a second and no RTP options
  const flv = encoderArgs({ output: 'rtmp://x/live/k', container: 'flv', width: 256, height: 256, fps: 60, live: true });
  assert.equal(flv[flv.indexOf('-g') + 1], '60');
  assert.ok(!flv.includes('-profile:v'));
});

test('webrtc:// takes a host and a port only', () => {
  const ok = (u: string) => streamUrl().safeParse(u).success;
  assert.ok(ok('webrtc://127.0.0.1:5004'));
  assert.ok(ok('webrtc://media.example.org:5004'));
  for (const bad of ['webrtc://127.0.0.1', 'webrtc://h:5004/x', 'webrtc://h:5004?listen=1', 'webrtc://u:p@h:5004', 'webrtc://:5004']) assert.ok(!ok(bad), bad);
});
