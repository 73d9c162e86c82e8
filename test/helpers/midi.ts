// A stand-in for Web MIDI in the browser tests: navigator.requestMIDIAccess gives one scripted input
// port that delivers real MIDI bytes (CC, note on, clock, start/stop) to the page.

/**
 * Installed before the page's scripts: a MIDI access with one input that the test plays. Plain
 * JavaScript text, so the page gets it exactly as written.
 */
export const fakeMidi = `(() => {
  const port = Object.assign(new EventTarget(), {
    id: 'scripted-1', name: 'Scripted controller', manufacturer: 'latentstage tests',
    type: 'input', state: 'connected', connection: 'open', onmidimessage: null,
  });
  // at: the time the port received the message (as a real port stamps it), default now
  function deliver(bytes, at) {
    const ev = new MIDIMessageEvent('midimessage', { data: new Uint8Array(bytes) });
    if (at !== undefined) Object.defineProperty(ev, 'timeStamp', { value: at });
    if (port.onmidimessage) port.onmidimessage(ev);
    port.dispatchEvent(ev);
  }
  window.scriptedMidi = {
    send: deliver,
    // MIDI clock at bpm for a number of beats, each tick stamped with its due time (no drift;
    // a busy page may see them late, as it would a real port's, but the stamps are right).
    clock(bpm, beats) {
      const interval = 60000 / (bpm * 24);
      const t0 = performance.now();
      let n = 0;
      return new Promise((resolve) => {
        function tick() {
          while (n < beats * 24 && performance.now() >= t0 + n * interval) { deliver([0xf8], t0 + n * interval); n++; }
          if (n >= beats * 24) return resolve();
          setTimeout(tick, Math.max(0, t0 + n * interval - performance.now()));
        }
        tick();
      });
    },
  };
  const access = { inputs: new Map([[port.id, port]]), outputs: new Map(), sysexEnabled: false, onstatechange: null };
  Object.defineProperty(navigator, 'requestMIDIAccess', { value: async () => access, configurable: true });
})();`;
