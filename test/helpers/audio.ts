// Audio for the browser tests' fake microphone (Chromium's --use-file-for-fake-audio-capture).
import { writeFileSync } from 'node:fs';

/** 16-bit mono PCM WAV: a decaying 55 Hz kick with a click every `periodMs`, over quiet hiss. */
export function kickWav(file: string, seconds = 12, periodMs = 500, rate = 48000): void {
  const n = seconds * rate;
  const data = Buffer.alloc(n * 2);
  let noise = 1;
  for (let i = 0; i < n; i++) {
    const t = (i % ((periodMs / 1000) * rate)) / rate;
    noise = (noise * 16807) % 2147483647;
    const hiss = ((noise / 2147483647) * 2 - 1) * 0.01;
    const kick = t < 0.25 ? Math.sin(2 * Math.PI * (55 + 80 * Math.exp(-t * 40)) * t) * Math.exp(-t * 12) : 0;
    const click = t < 0.003 ? (1 - t / 0.003) * 0.5 : 0;
    const v = Math.max(-1, Math.min(1, 0.8 * kick + click + hiss));
    data.writeInt16LE(Math.round(v * 32767), i * 2);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  writeFileSync(file, Buffer.concat([h, data]));
}
