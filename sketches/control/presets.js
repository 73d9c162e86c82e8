// The presets panel: list /api/presets as buttons, load one (or the next), save the current walk.
import { $ } from './page.js';

export function attachPresets({ send, note }) {
  let presets = [];
  async function load() {
    try {
      const res = await fetch('/api/presets');
      presets = await res.json();
    } catch (err) {
      return note(`could not list presets: ${err.message}`);
    }
    const box = $('presets');
    box.textContent = '';
    if (!presets.length) box.innerHTML = '<span class="muted">no presets yet</span>';
    presets.forEach((p, i) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = p.name;
      b.dataset.preset = p.name;
      b.title = p.error ? `cannot load: ${p.error}` : `${p.description ?? ''}${i < 9 ? ` (key ${i + 1})` : ''}`;
      b.disabled = Boolean(p.error);
      b.addEventListener('click', () => loadPreset(p.name));
      box.append(b);
    });
  }
  async function loadPreset(name) {
    const state = await send({ type: 'preset.load', name });
    if (!state) return;
    for (const b of $('presets').children) b.setAttribute('aria-current', String(b.dataset.preset === name));
    note(`loaded ${name}`, 'info');
  }
  function nextPreset() {
    const usable = presets.filter((p) => !p.error);
    if (!usable.length) return note('no presets to step through');
    const current = [...$('presets').children].find((b) => b.getAttribute('aria-current') === 'true')?.dataset.preset;
    const i = usable.findIndex((p) => p.name === current);
    void loadPreset(usable[(i + 1) % usable.length].name);
  }
  /** Load the n-th preset (1-based, as the number keys do); false when there is none. */
  function loadNth(n) {
    const p = presets[n - 1];
    if (!p || p.error) return false;
    void loadPreset(p.name);
    return true;
  }
  $('preset-next').addEventListener('click', nextPreset);
  $('preset-save').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('preset-name').value.trim();
    if (!/^[a-z0-9_-]{1,64}$/.test(name)) return note('preset name: 1-64 characters of a-z, 0-9, _ or -');
    if (await send({ type: 'preset.save', name })) {
      note(`saved ${name}`, 'info');
      $('preset-name').value = '';
      void load();
    }
  });
  void load();
  return { nextPreset, loadNth };
}
