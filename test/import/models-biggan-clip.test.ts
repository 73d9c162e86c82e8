// BigGAN-deep and CLIP import, on random-weight fixtures in the real file formats
// (pytorch-pretrained-biggan folder, OpenAI TorchScript archive, Hugging Face CLIPModel folder):
// ONNX Runtime output matches the PyTorch modules, a CLIP of another embedding size is refused
// without writing anything, the CLIP tokenizer (@huggingface/tokenizers) matches the reference,
// and the server plays the imported folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import WebSocket from 'ws';
import { pyOk } from '../helpers/python.ts';
import { makeFixture, importModel } from '../helpers/models.ts';
import { loadTokenizer } from '../../server/model/tokenizers.ts';
import { readManifest } from '../../server/model/manifest.ts';
import { parseFrameHeader, HEADER_BYTES } from '../../server/frames/header.ts';
import { startTestServer } from '../helpers/server.ts';

let tmp = '';
const dir = (...p: string[]) => path.join(tmp, ...p);

/** `latentstage import` through the CLI's code path; resolves to its error message, or null. */
async function importError(kind: 'biggan' | 'clip', src: string, out: string): Promise<string | null> {
  try {
    await importModel(kind, src, out);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'latentstage-models-'));
  for (const kind of ['biggan-deep', 'hf-clip', 'openai-clip', 'openai-clip-32']) await makeFixture(kind, dir('src', kind));
  for (const [name, clip, fp16] of [['bg-hf', 'hf-clip', false], ['bg-openai', 'openai-clip', false], ['bg-fp16', 'hf-clip', true]] as const) {
    await importModel('biggan', dir('src/biggan-deep'), dir(name), fp16 ? ['--fp16'] : []);
    await importModel('clip', dir('src', clip), dir(name), fp16 ? ['--fp16'] : []);
  }
});
after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface RefEntry {
  file: string;
  shape: number[];
  dtype: 'float32' | 'int64';
}

function reference(folder: string): Record<string, Record<string, RefEntry>> & { dir: string } {
  const out = path.join(tmp, `ref-${path.basename(folder)}`);
  if (!existsSync(out)) pyOk(['-m', 'latentstage.reference', folder, out]);
  return { ...JSON.parse(readFileSync(path.join(out, 'reference.json'), 'utf8')), dir: out };
}

function tensor(refDir: string, e: RefEntry): ort.Tensor {
  const buf = readFileSync(path.join(refDir, e.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return e.dtype === 'int64' ? new ort.Tensor('int64', new BigInt64Array(ab), e.shape) : new ort.Tensor('float32', new Float32Array(ab), e.shape);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'same number of values');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Max |ONNX - PyTorch| for each network of an imported folder (PyTorch from `refFolder`, default the same). */
async function parity(folder: string, refFolder = folder): Promise<Record<string, number>> {
  const ref = reference(refFolder);
  const diffs: Record<string, number> = {};
  const runs: [string, string, string[], string][] = [
    ['generator', 'generator.onnx', ['z', 'class', 'truncation'], 'image'],
    ['text', 'text_encoder.onnx', ['ids'], 'embedding'],
    ['image', 'image_encoder.onnx', ['image'], 'embedding'],
  ];
  for (const [net, file, inputs, output] of runs) {
    const r = ref[net];
    assert.ok(r, `reference has ${net}`);
    const s = await ort.InferenceSession.create(path.join(folder, file));
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of inputs) feeds[name] = tensor(ref.dir, r[name]!);
    const out = (await s.run(feeds))[output]!;
    assert.deepEqual([...out.dims], r[output]!.shape, `${net} output shape`);
    diffs[net] = maxAbsDiff(out.data as Float32Array, tensor(ref.dir, r[output]!).data as Float32Array);
    await s.release();
  }
  return diffs;
}

test('BigGAN-deep + Hugging Face CLIP: ONNX matches PyTorch (fp32, max abs diff <= 1e-3)', async (t) => {
  const d = await parity(dir('bg-hf'));
  t.diagnostic(`max abs diff: ${JSON.stringify(d)}`);
  for (const [net, v] of Object.entries(d)) assert.ok(v <= 1e-3, `${net}: ${v}`);
});

test('OpenAI CLIP archive: ONNX matches PyTorch (fp32, max abs diff <= 1e-3)', async (t) => {
  const d = await parity(dir('bg-openai'));
  t.diagnostic(`max abs diff: ${JSON.stringify(d)}`);
  for (const [net, v] of Object.entries(d)) assert.ok(v <= 1e-3, `${net}: ${v}`);
});

test('fp16 weights: files about half the size, outputs close to fp32 PyTorch', async (t) => {
  // same fixtures as bg-hf: its fp32 PyTorch outputs are the reference
  const d = await parity(dir('bg-fp16'), dir('bg-hf'));
  const size = (f: string) => statSync(f).size;
  const ratio = size(dir('bg-fp16/generator.onnx')) / size(dir('bg-hf/generator.onnx'));
  t.diagnostic(`fp16 max abs diff vs fp32 PyTorch: ${JSON.stringify(d)}; generator.onnx size ratio ${ratio.toFixed(2)}`);
  assert.ok(ratio < 0.65, `fp16 generator is ${ratio} of fp32`);
  for (const [net, v] of Object.entries(d)) assert.ok(v < 0.05, `${net}: ${v}`);
});

test('imported folders are valid model folders: manifest, class names, walk in z + class', async () => {
  const m = await readManifest(dir('bg-hf'));
  assert.equal(m.generator.z.dim, 128);
  assert.equal(m.generator.condition?.dim, 1000);
  assert.equal(m.text?.dim, 64);
  assert.equal(m.image?.size, 224);
  assert.deepEqual(m.latent, { space: 'z', spaces: ['z', 'class'] });
  assert.equal(m.generator.truncation?.input, 'truncation');
  assert.deepEqual(Object.keys(m.torch ?? {}).sort(), ['generator', 'image', 'text']);
  const names = readFileSync(dir('bg-hf', m.classes!.file), 'utf8').trim().split('\n');
  assert.equal(names.length, 1000);
  assert.equal(names[0], 'tench, Tinca tinca');
  assert.match(names[24]!, /great grey owl/);
});

test('the OpenAI archive is read without running it: same tensors as torch.jit.load', () => {
  const out = pyOk(['-c', `
import sys, torch
from latentstage.safeload import torchscript_state
p = sys.argv[1]
mine = torchscript_state(p)
theirs = torch.jit.load(p, map_location='cpu').state_dict()
assert set(theirs) <= set(mine), sorted(set(theirs) - set(mine))[:5]
assert all(torch.equal(mine[k], theirs[k]) for k in theirs)
print(len(theirs))
`, dir('src/openai-clip/ViT-B-32.pt')]);
  assert.ok(Number(out.trim()) > 20, out);
});

function snapshot(folder: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = path.join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(path.relative(folder, p)).update(readFileSync(p));
    }
  };
  walk(folder);
  return h.digest('hex');
}

test('a CLIP of another embedding size is refused and nothing is written', async () => {
  const before = snapshot(dir('bg-hf'));
  const err = await importError('clip', dir('src/openai-clip-32'), dir('bg-hf'));
  assert.match(err ?? 'imported', /32 dimensions.*64/);
  assert.equal(snapshot(dir('bg-hf')), before);
});

test('bad BigGAN input: a truncated checkpoint, another architecture, an existing output folder: refused, nothing written', async () => {
  const src = dir('src/biggan-truncated');
  await makeFixture('biggan-deep', src);
  const bin = path.join(src, 'pytorch_model.bin');
  const bytes = readFileSync(bin);
  writeFileSync(bin, bytes.subarray(0, bytes.length >> 1));
  assert.match((await importError('biggan', src, dir('bg-truncated'))) ?? 'imported', /truncated|corrupt|not a readable/i);
  assert.equal(existsSync(dir('bg-truncated')), false);
  // another architecture: a CLIP's tensors under BigGAN's config.json, and a CLIP folder as it is
  const other = dir('src/clip-as-biggan');
  pyOk(['-c', `
import os, shutil, sys, torch
from latentstage.safeload import safetensors_state
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out)
torch.save(safetensors_state(os.path.join(src, 'model.safetensors')), os.path.join(out, 'pytorch_model.bin'))
`, dir('src/hf-clip'), other]);
  copyFileSync(dir('src/biggan-deep/config.json'), path.join(other, 'config.json'));
  assert.match((await importError('biggan', other, dir('bg-clip'))) ?? 'imported', /does not fit BigGAN-deep.*missing .*unexpected text_model/);
  copyFileSync(dir('src/hf-clip/config.json'), path.join(other, 'config.json'));
  assert.match((await importError('biggan', other, dir('bg-clip'))) ?? 'imported', /not a BigGAN-deep config/);
  assert.equal(existsSync(dir('bg-clip')), false);
  assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('.')), [], 'no temp folder left behind');
  assert.match((await importError('biggan', dir('src/biggan-deep'), dir('bg-hf'))) ?? 'imported', /already exists/);
});

test('CLIP tokenizer (@huggingface/tokenizers on the imported tokenizer.json) matches the Python reference', () => {
  const prompts = ['a snowy owl', 'A Photo of a GOLDFISH, 2 cats!', "it's   a jack-o'-lantern", 'x'.repeat(300)];
  for (const folder of ['bg-hf', 'bg-openai']) {
    const raw = JSON.parse(readFileSync(dir(folder, 'latentstage.json'), 'utf8'));
    const tok = loadTokenizer(JSON.parse(readFileSync(dir(folder, raw.text.tokenizer), 'utf8')), raw.text);
    const src = folder === 'bg-hf' ? dir('src/hf-clip/merges.txt') : dir('src/openai-clip/bpe_simple_vocab_16e6.txt.gz');
    const expected = JSON.parse(
      pyOk(['-c', `
import json, sys
from latentstage import clip_bpe
merges = clip_bpe.read_openai_merges(sys.argv[1])
vocab = clip_bpe.vocab_from_merges(merges)
print(json.dumps([clip_bpe.encode(p, vocab, merges) for p in json.loads(sys.argv[2])]))
`, src, JSON.stringify(prompts)]),
    ) as number[][];
    prompts.forEach((p, i) => assert.deepEqual(tok.encode(p).ids, expected[i], `${folder}: "${p.slice(0, 40)}"`));
    assert.equal(tok.maxLength, 77);
    assert.deepEqual(tok.encode('A snowy owl!').words, ['a', 'snowy', 'owl']);
  }
});

/** n binary frames from a /frames WebSocket URL (header + payload). */
async function frames(url: string, n: number): Promise<{ header: ReturnType<typeof parseFrameHeader>; payload: Buffer }[]> {
  const ws = new WebSocket(url);
  const out: { header: ReturnType<typeof parseFrameHeader>; payload: Buffer }[] = [];
  return new Promise((resolve, reject) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary || out.length >= n) return;
      out.push({ header: parseFrameHeader(data), payload: data.subarray(HEADER_BYTES) });
      if (out.length === n) {
        ws.close();
        resolve(out);
      }
    });
    ws.on('error', reject);
  });
}

test('the server serves frames from an imported BigGAN-deep + CLIP folder, walks, and takes a prompt', async () => {
  const s = await startTestServer({ model: dir('bg-hf'), fps: 30 });
  try {
    const got = await frames(`${s.url.replace('http', 'ws')}/frames?format=rgba`, 8);
    for (const f of got) assert.equal(f.payload.length, 128 * 128 * 4, 'native 128 x 128 RGBA');
    assert.ok(got.some((f) => !f.payload.equals(got[0]!.payload)), 'the walk moves');
    const r = await s.command({ type: 'prompt', text: 'a snowy owl | tiger shark:0.5' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const state = await (await fetch(`${s.url}/api/state`)).json();
    assert.equal(state.prompt.text, 'a snowy owl | tiger shark:0.5');
    const after = await frames(`${s.url.replace('http', 'ws')}/frames?format=rgba`, 2);
    assert.equal(after.length, 2, 'frames keep coming after the prompt');
  } finally {
    await s.stop();
  }
});

test("BigGAN spectral norm folds as torch's spectral_norm computes it in eval mode", () => {
  const out = pyOk(['-c', `
import sys, torch
from latentstage.safeload import torch_state
from latentstage.archs.biggan_deep import fold_spectral_norm
state = torch_state(sys.argv[1])
folded = fold_spectral_norm(state)
worst, n = 0.0, 0
for key in [k for k in state if k.endswith('.weight_orig')]:
    base = key[:-len('.weight_orig')]
    w = state[key]
    mod = torch.nn.Conv2d(w.shape[1], w.shape[0], w.shape[2:], bias=False) if w.dim() == 4 else torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
    mod = torch.nn.utils.spectral_norm(mod, eps=1e-4)
    mod.load_state_dict({'weight_orig': w, 'weight_u': state[base + '.weight_u'], 'weight_v': state[base + '.weight_v']})
    mod.eval()
    mod(torch.zeros((1, w.shape[1], 4, 4) if w.dim() == 4 else (1, w.shape[1])))
    worst = max(worst, float((mod.weight - folded[base + '.weight']).abs().max()))
    n += 1
print(n, worst)
`, dir('src/biggan-deep/pytorch_model.bin')]);
  const [n, worst] = out.trim().split(' ').map(Number);
  assert.ok(n! > 50, `checked ${n} spectral-normalised weights`);
  assert.ok(worst! < 1e-6, `max difference ${worst}`);
});
