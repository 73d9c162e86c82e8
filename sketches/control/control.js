// The control page (served at /): composes the panels, each in its own module (header and
// connection, preview, prompt, walk parameters, modulation, seed, presets, record, tempo, MIDI,
// shortcuts). Each panel gets the stage, `send` and `note`, listens to the stage's state itself,
// and returns the actions other panels need. Plain ES modules, no framework, no build.
import { connectStage } from '../lib/latentstage.js';
import { note, makeSend } from './page.js';
import { attachConnection, takeUrlToken } from './connection.js';
import { attachPreview } from './preview.js';
import { attachPrompt } from './prompt.js';
import { attachParams } from './params.js';
import { attachModulation } from './modulation.js';
import { attachSeed } from './seed.js';
import { attachPresets } from './presets.js';
import { attachRecord } from './record.js';
import { attachTempo } from './tempo.js';
import { attachMidi } from './midi.js';
import { attachShortcuts } from './shortcuts.js';
import { attachFaultBanner } from './faults.js';

const stage = connectStage({ size: 256, control: true, token: takeUrlToken() });
window.stage = stage;
const send = makeSend(stage);
const ctx = { stage, send, note };

attachConnection(ctx);
attachFaultBanner(ctx);
attachPreview(ctx);
attachPrompt(ctx);
const { params } = attachParams(ctx);
attachModulation({ ...ctx, params });
const { randomSeed } = attachSeed(ctx);
const { nextPreset, loadNth } = attachPresets(ctx);
const { toggleRecord } = attachRecord(ctx);
const { tap, beat } = attachTempo(ctx);
attachMidi({
  ...ctx,
  params,
  trigger: (action) => (action === 'seed.random' ? randomSeed() : action === 'beat' ? beat() : action === 'preset.next' ? nextPreset() : undefined),
});
attachShortcuts({ randomSeed, beat, tap, toggleRecord, loadNth });
