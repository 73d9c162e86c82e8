// The generator's float output as 8-bit RGB, the one pixel format viewers, encoders and recordings
// share. Free of sharp, so the runtime worker can convert its frames before they cross threads.

/**
 * Convert an NCHW float image in [lo, hi] into interleaved 8-bit RGB. The result owns its memory
 * (not a slice of Node's shared pool), so its buffer can be transferred to another thread.
 */
export function toRgb(data: Float32Array, width: number, height: number, range: readonly [number, number], offset = 0): Buffer {
  const plane = width * height;
  const out = Buffer.allocUnsafeSlow(plane * 3);
  const [lo, hi] = range;
  const k = 255 / (hi - lo);
  // one colour plane at a time: sequential reads, strided writes; +0.5 and truncation round
  for (let c = 0; c < 3; c++) {
    const src = offset + c * plane;
    for (let i = 0, o = c; i < plane; i++, o += 3) {
      const v = (data[src + i]! - lo) * k + 0.5;
      out[o] = v <= 0 ? 0 : v >= 255 ? 255 : v;
    }
  }
  return out;
}
