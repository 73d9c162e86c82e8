// What every panel of the control page shares: element lookup, the message log (errors and
// confirmations, bottom right, fading after a few seconds) and `send` (a command with its error
// shown and its round trip timed in the header).

export const $ = (id) => document.getElementById(id);

/** Show a message in the log; errors stay longer than confirmations. */
export function note(text, kind = 'error', ms = kind === 'error' ? 6000 : 2500) {
  const li = document.createElement('li');
  li.className = kind;
  li.textContent = text;
  $('log').append(li);
  while ($('log').children.length > 4) $('log').firstElementChild.remove();
  setTimeout(() => li.classList.add('fading'), ms);
  setTimeout(() => li.remove(), ms + 500);
}

/** Turn a server error into something a performer can read. */
export function explain(command, err) {
  if (/unknown command/.test(err.message)) return `${command.type}: not supported by this server (yet)`;
  if (err.status === 401) return `${command.type}: needs the control token`;
  return err.message;
}

/**
 * A `send(command, { quiet })` for the panels: resolves to the new state or null, shows errors
 * (quiet: not "unknown command"), and shows the acknowledgement's latency in the header.
 */
export function makeSend(stage) {
  let latency = null;
  return async function send(command, { quiet = false } = {}) {
    const t0 = performance.now();
    try {
      const state = await stage.send(command);
      const ms = performance.now() - t0;
      latency = latency === null ? ms : latency * 0.7 + ms * 0.3;
      $('stat-latency').textContent = `${ms.toFixed(0)} ms`;
      $('stat-latency').title = `average ${latency.toFixed(1)} ms`;
      return state;
    } catch (err) {
      if (!quiet || !/unknown command/.test(err.message)) note(explain(command, err));
      return null;
    }
  };
}

/** Is the user typing in a field (where single-key shortcuts must not fire)? Sliders don't count. */
export function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) && !(target instanceof HTMLInputElement && target.type === 'range');
}
