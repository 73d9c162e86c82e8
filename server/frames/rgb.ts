// The generator's float output as 8-bit RGB, the one pixel format viewers, encoders and recordings
// share. Free of sharp, so the runtime worker can convert its frames before they cross threads.

/**
 * Convert an NCHW float image in [lo, hi] into interleaved 8-bit RGB. The result owns its memory
 * (not a slice of Node's shared pool), so its buffer can be transferred to another thread.
 */
export function toRgb(data: Float32Array, width: number, height: number, range: readonly [number, number], offset = 0): Buffer {
  const plane = width * height;
  const out = Buffer.allocUnsafeSlow(plane * 3);
  // a clamped view does the clamping and rounding (half to even) in the store
  const px = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  const [lo, hi] = range;
  const k = 255 / (hi - lo);
  const b = -lo * k;
  const r = offset;
  const g = offset + plane;
  const bl = offset + 2 * plane;
  for (let i = 0, o = 0; i < plane; i++, o += 3) {
    px[o] = data[r + i]! * k + b;
    px[o + 1] = data[g + i]! * k + b;
    px[o + 2] = data[bl + i]! * k + b;
  }
  return out;
}
