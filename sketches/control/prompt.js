// The prompt panel: send a prompt (with an optional fade), recall past prompts with the arrow
// keys (kept in localStorage), and show the active prompt, what was understood and warnings.
import { $ } from './page.js';

const HISTORY_KEY = 'latentstage.promptHistory';

function loadHistory() {
  try {
    const h = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]');
    return Array.isArray(h) ? h.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function attachPrompt({ stage, send }) {
  let past = loadHistory();
  let historyPos = past.length; // == past.length: editing the draft
  let draft = '';

  function remember(text) {
    if (!text) return;
    past = past.filter((h) => h !== text);
    past.push(text);
    past = past.slice(-100);
    try {
      localStorage.setItem(HISTORY_KEY, JSON.stringify(past));
    } catch {
      // storage full or unavailable: history stays for this page only
    }
    historyPos = past.length;
  }

  $('prompt').addEventListener('keydown', (ev) => {
    if (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown') return;
    if (!past.length) return;
    ev.preventDefault();
    if (historyPos === past.length) draft = $('prompt').value;
    historyPos = Math.max(0, Math.min(past.length, historyPos + (ev.key === 'ArrowUp' ? -1 : 1)));
    $('prompt').value = historyPos === past.length ? draft : past[historyPos];
  });

  $('prompt-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = $('prompt').value.trim();
    const command = { type: 'prompt', text };
    const fade = $('prompt-fade').value;
    if (fade !== '') command.fade = Number(fade);
    const state = await send(command);
    if (state) {
      remember(text);
      draft = '';
    }
  });

  const list = (id, items) => {
    $(id).hidden = !items.length;
    $(id).replaceChildren(...items.map((w) => Object.assign(document.createElement('li'), { textContent: String(w) })));
  };
  stage.on('state', (state) => {
    if (!state) return;
    $('prompt-active').textContent = state.prompt?.text || '(none)';
    if (state.prompt && $('prompt-fade').placeholder !== `${state.params?.fade ?? ''}`) $('prompt-fade').placeholder = `${state.params?.fade ?? ''}`;
    list('understood', Array.isArray(state.understood) ? state.understood : []);
    list('warnings', Array.isArray(state.warnings) ? state.warnings : []);
  });
}
