// The fault banner on the control page: what the server says is degraded (state.faults: a full
// disk, a stream reconnecting, a crash-looping runtime, NaN frames, a crowd of viewers), each with
// how long ago it began, in one bar under the header. Hidden while all is well. Self-contained:
// it adds its own element and style; control.js only attaches it.

const STYLE = `
#fault-banner { margin: 0; padding: 0.5rem 1rem; background: #4a1d1d; color: #ffd7d7; border-bottom: 2px solid #ff6b6b; font-size: 0.95rem; }
#fault-banner[hidden] { display: none; }
#fault-banner ul { margin: 0; padding: 0; list-style: none; }
#fault-banner li + li { margin-top: 0.25rem; }
#fault-banner b { text-transform: uppercase; letter-spacing: 0.04em; margin-right: 0.4rem; }
#fault-banner .since { opacity: 0.75; margin-left: 0.4rem; white-space: nowrap; }
`;

function ago(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Show `stage.state.faults` as a banner; returns the banner element. */
export function attachFaultBanner({ stage, doc = document }) {
  const style = doc.createElement('style');
  style.textContent = STYLE;
  doc.head.append(style);
  const banner = doc.createElement('section');
  banner.id = 'fault-banner';
  banner.setAttribute('role', 'alert');
  banner.setAttribute('aria-live', 'assertive');
  banner.hidden = true;
  const list = doc.createElement('ul');
  banner.append(list);
  const header = doc.querySelector('header');
  if (header) header.after(banner);
  else doc.body.prepend(banner);

  // the state says how long each fault had lasted when it was sent; count on from there
  let shown = [];
  let at = performance.now();
  const render = () => {
    const faults = shown;
    banner.hidden = faults.length === 0;
    const elapsed = (performance.now() - at) / 1000;
    list.replaceChildren(
      ...faults.map((f) => {
        const li = doc.createElement('li');
        li.dataset.kind = f.kind;
        const kind = doc.createElement('b');
        kind.textContent = f.kind;
        const since = doc.createElement('span');
        since.className = 'since';
        since.textContent = `since ${ago((f.seconds ?? 0) + elapsed)}${f.count > 1 ? ` · ${f.count}×` : ''}`;
        since.title = f.since ?? '';
        li.append(kind, doc.createTextNode(f.message), since);
        return li;
      }),
    );
  };
  stage.on('state', (state) => {
    shown = Array.isArray(state?.faults) ? state.faults : [];
    at = performance.now();
    render();
  });
  setInterval(() => shown.length && render(), 1000);
  return banner;
}
