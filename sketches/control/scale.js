// Slider scales for walk parameters, with no DOM: linear, or logarithmic for a parameter whose
// range spans decades (period 0.5 s to an hour, fade and hold up to 10 minutes), so a pixel of
// slider moves a short time a little and a long time a lot. Shared by the sliders and MIDI knobs.

/** Positions of a log slider (0..POSITIONS). */
export const POSITIONS = 1000;

/** Does this parameter (an /api/schema entry) get a log slider? When it has more than 1000 steps. */
export const isLog = (p) => (p.max - p.min) / (p.step || 0.01) >= 1000;

/** A toggle rather than a slider: a 0/1 parameter. */
export const isToggle = (p) => p.min === 0 && p.max === 1 && p.step === 1;

// log scale with an offset c (the parameter's step), so that a minimum of 0 is reachable
const logParts = (p) => {
  const c = p.step || 0.01;
  return { c, span: Math.log((p.max - p.min + c) / c) };
};

/** Parameter value -> slider position in 0..1. */
export function toUnit(p, v) {
  const x = Math.min(p.max, Math.max(p.min, v));
  if (!isLog(p)) return (x - p.min) / (p.max - p.min);
  const { c, span } = logParts(p);
  return Math.log((x - p.min + c) / c) / span;
}

/** Slider position in 0..1 -> parameter value, snapped to the parameter's step and kept in range. */
export function fromUnit(p, u) {
  const t = Math.min(1, Math.max(0, u));
  let v;
  if (!isLog(p)) v = p.min + t * (p.max - p.min);
  else {
    const { c, span } = logParts(p);
    v = p.min + c * Math.exp(t * span) - c;
  }
  const step = p.step || 0.01;
  v = Math.round(v / step) * step;
  return Number(Math.min(p.max, Math.max(p.min, v)).toFixed(6));
}

/** One arrow-key step of the number box from `v`: the parameter's step, or 5% for a log one; a tenth with fine. */
export function nudge(p, v, dir, fine = false) {
  const step = p.step || 0.01;
  const big = isLog(p) ? Math.max(step, Math.abs(v) * 0.05) : step;
  const d = fine ? big / 10 : big;
  return Number(Math.min(p.max, Math.max(p.min, v + dir * d)).toFixed(6));
}
