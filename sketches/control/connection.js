// The control page's header: connection pill, control token (from /?token=… or the dialog),
// stats (fps, frame, viewers, similarity) and the model's name.
import { $ } from './page.js';

/**
 * A token given as /?token=… (as printed by the server) is remembered and taken out of the
 * address bar, so it does not end up in bookmarks or screenshots.
 */
export function takeUrlToken() {
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (token === null) return undefined;
  try {
    localStorage.setItem('latentstage.token', token);
  } catch {
    // storage unavailable: the token is used for this visit only
  }
  url.searchParams.delete('token');
  history.replaceState(null, '', url.href);
  return token;
}

export function attachConnection({ stage }) {
  function showConnection() {
    const el = $('conn');
    let s = stage.status === 'open' && stage.controlStatus === 'open' ? 'open' : stage.status === 'open' ? 'connecting' : stage.status;
    let text = s === 'open' ? 'live' : s;
    if (stage.authRequired) {
      s = 'auth';
      text = 'watch only (token needed)';
    } else if (stage.status === 'open' && stage.controlStatus !== 'open') text = 'control connecting';
    el.dataset.state = s;
    el.textContent = text;
  }
  stage.on('status', showConnection);
  stage.on('control', showConnection);

  stage.on('auth', (why) => {
    showConnection();
    $('token-why').textContent =
      why === 'rejected' ? 'The token was not accepted. Enter the token printed when the server started.' : 'This server needs a token for control. It was printed when the server started.';
    if (!$('token-dialog').open) $('token-dialog').showModal();
  });
  $('token-form').addEventListener('submit', () => {
    const t = $('token').value.trim();
    if (t) stage.setToken(t);
    showConnection();
  });
  $('token-cancel').addEventListener('click', () => $('token-dialog').close());

  stage.on('stats', (s) => {
    $('stat-fps').textContent = String(s.fps);
    $('stat-frame').textContent = String(s.frame);
    $('stat-viewers').textContent = String(s.viewers);
  });
  stage.on('frame', (_img, meta) => {
    if (meta.similarity !== null) $('stat-similarity').textContent = meta.similarity.toFixed(3);
  });
  stage.on('state', (state) => {
    if (typeof state?.similarity === 'number') $('stat-similarity').textContent = state.similarity.toFixed(3);
    if (typeof state?.frame === 'number') $('stat-frame').textContent = String(state.frame);
    if (typeof state?.viewers === 'number') $('stat-viewers').textContent = String(state.viewers);
  });

  fetch('/api/model')
    .then((r) => r.json())
    .then((m) => {
      $('model').textContent = `${m.manifest?.name ?? m.manifest?.id ?? ''} · ${m.device ?? ''}`;
    })
    .catch(() => {});

  showConnection();
}
