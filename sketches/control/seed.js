// The seed panel: go to a seed, a random seed, or a keyframe walk through a list of seeds.
import { $ } from './page.js';

export function attachSeed({ stage, send, note }) {
  $('seed-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const seed = Number($('seed').value);
    if ($('seed').value === '' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) return note('seed must be a whole number from 0 to 4294967295');
    void send({ type: 'seed', seed });
  });
  function randomSeed() {
    const seed = crypto.getRandomValues(new Uint32Array(1))[0];
    $('seed').value = String(seed);
    void send({ type: 'seed', seed });
  }
  $('seed-random').addEventListener('click', randomSeed);

  $('keys-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const keys = $('keys')
      .value.split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    if (!keys.length || keys.some((k) => !Number.isInteger(k) || k < 0)) return note('keyframes: give seeds as whole numbers, e.g. 1, 7, 42');
    void send({ type: 'keyframes', keys });
  });

  stage.on('state', (state) => {
    if (document.activeElement !== $('seed') && typeof state?.seed === 'number') $('seed').value = String(state.seed);
  });
  return { randomSeed };
}
