// Keyboard shortcuts of the control page: never while typing in a field, never with modifier keys.
import { $, typing } from './page.js';

/** @param {{ randomSeed, beat, tap, toggleRecord, loadNth: (n: number) => boolean }} actions */
export function attachShortcuts({ randomSeed, beat, tap, toggleRecord, loadNth }) {
  window.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === 'Escape' && typing(ev.target)) return ev.target.blur();
    if (typing(ev.target) || document.querySelector('dialog[open]')) return;
    const k = ev.key;
    if (k === '/' || k === 'p') {
      ev.preventDefault();
      $('prompt').focus();
    } else if (k === '?') $('help-dialog').showModal();
    else if (k === 'r') randomSeed();
    else if (k === 'b') beat();
    else if (k === 't') tap();
    else if (k === ' ' && !(ev.target instanceof HTMLButtonElement)) {
      ev.preventDefault();
      toggleRecord();
    } else if (/^[1-9]$/.test(k)) loadNth(Number(k));
  });
  $('help-open').addEventListener('click', () => $('help-dialog').showModal());
}
