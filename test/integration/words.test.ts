// Words a performer types, over the real server with the shipped model: a word that is not in
// the training captions is understood through the model's lexicon, the ack says how, and the
// walk goes to that concept (judged by the shipped image encoder); phrases that describe nothing
// the model has are warned about.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { DEFAULT_MODEL } from '../../server/server.ts';
import { PromptEncoder, cosine } from '../../server/steer/text.ts';
import { parsePrompt } from '../../server/steer/prompt.ts';
import { toEncoderInput } from '../../server/runtime/encoder-input.ts';
import type { Frame } from '../../server/frames/frame.ts';

describe('words on a live server (shipped model, with its lexicon)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ fps: 30, model: DEFAULT_MODEL });
  });
  after(() => server.stop());

  /** Frames produced after `skip` more frames have passed. */
  async function framesAfter(skip: number, n: number): Promise<Frame[]> {
    const frames: Frame[] = [];
    let seen = 0;
    const on = (f: Frame) => {
      if (++seen > skip) frames.push(f);
    };
    server.stage.on('frame', on);
    await waitFor(() => frames.length >= n, 30_000, `${n} frames`);
    server.stage.off('frame', on);
    return frames.slice(0, n);
  }

  /** Mean cosine of the frames' image embeddings (shipped image encoder) to each word's text embedding. */
  async function closeness(frames: Frame[], words: string[]): Promise<number[]> {
    const model = server.stage.model;
    const enc = (await PromptEncoder.load(model))!;
    const texts = await Promise.all(words.map((w) => enc.encode(w, parsePrompt(w)).then((e) => e.combined)));
    const sums = words.map(() => 0);
    for (const f of frames) {
      const plane = f.width * f.height;
      const img = new Float32Array(3 * plane);
      for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) img[c * plane + i] = (f.rgb[i * 3 + c]! / 255) * 2 - 1;
      const m = { ...model.manifest, resolution: { width: f.width, height: f.height }, generator: { ...model.manifest.generator, output: { ...model.manifest.generator.output, range: [-1, 1] as [number, number] } } };
      const emb = await model.runtime.encodeImage!(toEncoderInput(img, 1, m), 1);
      texts.forEach((t, k) => (sums[k]! += cosine(emb, t)));
    }
    return sums.map((s) => s / frames.length);
  }

  test('a word outside the captions acks with how it was understood and steers toward that concept', async () => {
    const res = await server.command({ type: 'prompt', text: 'tomcat', fade: 0.5 });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.understood, ['tomcat -> cat']);
    assert.deepEqual(res.body.warnings, []);
    const [cat, fire] = await closeness(await framesAfter(30, 8), ['cat', 'fire']);
    assert.ok(cat! > fire!, `tomcat frames: cos to cat ${cat}, to fire ${fire}`);

    const blaze = await server.command({ type: 'prompt', text: 'blaze', fade: 0.5 });
    assert.deepEqual(blaze.body.understood, ['blaze -> fire']);
    const [cat2, fire2] = await closeness(await framesAfter(30, 8), ['cat', 'fire']);
    assert.ok(fire2! > cat2!, `blaze frames: cos to fire ${fire2}, to cat ${cat2}`);
  });

  test('a phrase is read by its content words, and the state says how', async () => {
    const res = await server.command({ type: 'prompt', text: 'a bowl of hot noodles | person: white hair:0.5' });
    assert.equal(res.status, 200);
    assert.equal(res.body.prompt.text, 'a bowl of hot noodles | person: white hair:0.5');
    assert.match(res.body.understood[0], /^a bowl of hot noodles -> steaming bowl \(/);
    assert.equal(res.body.understood.length, 1, 'a caption label needs no explanation');
    const state = await (await fetch(`${server.url}/api/state`)).json();
    assert.deepEqual(state.understood, res.body.understood);
  });

  test('a phrase that describes nothing the model has, and a word that means nothing, are warned about', async () => {
    const res = await server.command({ type: 'prompt', text: 'a man riding a horse on a beach' });
    assert.equal(res.status, 200);
    assert.equal(res.body.warnings.length, 1);
    assert.match(res.body.warnings[0], /^'a man riding a horse on a beach': .* not part of any one picture of emoji-64/);
    const none = await server.command({ type: 'prompt', text: 'zzqx' });
    assert.deepEqual(none.body.warnings, ["'zzqx' means nothing emoji-64 can draw (not in its captions or lexicon)"]);
    assert.deepEqual(none.body.understood, []);
    const clear = await server.command({ type: 'prompt', text: '' });
    assert.deepEqual(clear.body.warnings, []);
    assert.deepEqual(clear.body.understood, []);
  });
});
