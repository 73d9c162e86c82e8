// Image layout conversion for generator outputs: the Runtime interface hands out NCHW.

/** batch x H x W x 3 -> batch x 3 x H x W. */
export function nhwcToNchw(data: ArrayLike<number>, batch: number, height: number, width: number): Float32Array {
  const plane = height * width;
  const out = new Float32Array(batch * 3 * plane);
  for (let b = 0; b < batch; b++) {
    const base = b * 3 * plane;
    for (let p = 0; p < plane; p++) {
      const src = base + p * 3;
      out[base + p] = data[src]!;
      out[base + plane + p] = data[src + 1]!;
      out[base + 2 * plane + p] = data[src + 2]!;
    }
  }
  return out;
}
