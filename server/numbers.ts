// Numbers as performers typed them. OSC carries floats as float32, so a fader set to 0.41 arrives
// as 0.4099999964237213; shown, stored and sent back like that it reads as noise. Such a value
// becomes the shortest decimal that is the same float32 (0.41), once, where it arrives: state,
// OSC feedback, presets and the control page all see the number the performer typed.

/** The shortest decimal that reads back as the same float32; non-float32 values unchanged. */
export function float32Decimal(v: number): number {
  if (!Number.isFinite(v) || Math.fround(v) !== v) return v;
  for (let digits = 1; digits <= 9; digits++) {
    const d = Number(v.toPrecision(digits));
    if (Math.fround(d) === v) return d;
  }
  return v;
}
