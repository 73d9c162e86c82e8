// A clapperboard for glass-to-glass latency: the frame index burnt into the top of the picture as
// 16 black/white blocks (most significant bit first), read back from whatever the viewer shows.
// Blocks are big (width / 16 by height / 8) so H.264 at any sane bitrate keeps them readable.

export const STAMP_BITS = 16;

/** Burn `index` into an interleaved RGB picture, in place. */
export function stampIndex(rgb: Buffer, width: number, height: number, index: number): void {
  const bw = Math.floor(width / STAMP_BITS);
  const bh = Math.max(2, Math.floor(height / 8));
  for (let bit = 0; bit < STAMP_BITS; bit++) {
    const v = (index >> (STAMP_BITS - 1 - bit)) & 1 ? 255 : 0;
    for (let y = 0; y < bh; y++) rgb.fill(v, 3 * (y * width + bit * bw), 3 * (y * width + (bit + 1) * bw));
  }
}

/** Browser-side reader (as source text for page.evaluate): (ImageData-like, width, height) -> index. */
export const READ_STAMP = `(data, width, height) => {
  const bw = Math.floor(width / ${STAMP_BITS});
  const bh = Math.max(2, Math.floor(height / 8));
  let index = 0;
  for (let bit = 0; bit < ${STAMP_BITS}; bit++) {
    const x = Math.floor(bit * bw + bw / 2);
    const y = Math.floor(bh / 2);
    const o = 4 * (y * width + x);
    index = index * 2 + (data[o] + data[o + 1] + data[o + 2] > 382 ? 1 : 0);
  }
  return index;
}`;
