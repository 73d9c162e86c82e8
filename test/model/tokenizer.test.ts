// The TS tokenizer against the reference ids (and, once the text encoder is exported, embeddings)
// that the training recipe computed in Python and shipped in models/emoji-64/tokenizer.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { createTokenizer, type TokenizerSpec } from '../../server/model/tokenizer.ts';
import { DEFAULT_MODEL } from '../../server/server.ts';

const spec = JSON.parse(readFileSync(path.join(DEFAULT_MODEL, 'tokenizer.json'), 'utf8')) as TokenizerSpec;
const references = spec.reference ?? [];

test('tokenizer.json ships reference encodings', () => {
  assert.equal(spec.format, 'latentstage-tokenizer/1');
  assert.ok(references.length >= 5, 'reference prompts');
});

test('TS tokenisation matches the Python reference ids exactly', () => {
  const tok = createTokenizer(spec);
  for (const ref of references) {
    const enc = tok.encode(ref.text);
    assert.deepEqual(enc.ids, ref.ids, `ids of ${JSON.stringify(ref.text)}`);
    assert.deepEqual(enc.words, ref.words, `words of ${JSON.stringify(ref.text)}`);
    assert.deepEqual(enc.unknown, ref.unknown, `unknown words of ${JSON.stringify(ref.text)}`);
  }
});

const encoderFile = path.join(DEFAULT_MODEL, 'text_encoder.onnx');
const withEmbeddings = references.filter((r) => r.embedding);
const skip = !existsSync(encoderFile)
  ? 'models/emoji-64/text_encoder.onnx is not there yet (exported when the text encoder finishes training)'
  : withEmbeddings.length === 0
    ? 'tokenizer.json has no reference embeddings yet'
    : false;

test('TS tokenizer + onnxruntime reproduce the reference embeddings within 1e-4', { skip }, async () => {
  const tok = createTokenizer(spec);
  const session = await ort.InferenceSession.create(encoderFile);
  try {
    const L = spec.maxLength;
    const ids = new BigInt64Array(withEmbeddings.length * L);
    withEmbeddings.forEach((r, i) => tok.encode(r.text).ids.forEach((id, j) => (ids[i * L + j] = BigInt(id))));
    const out = await session.run({ ids: new ort.Tensor('int64', ids, [withEmbeddings.length, L]) });
    const data = out.embedding!.data as Float32Array;
    const dim = data.length / withEmbeddings.length;
    withEmbeddings.forEach((r, i) => {
      assert.equal(r.embedding!.length, dim);
      let worst = 0;
      r.embedding!.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - data[i * dim + j]!))));
      assert.ok(worst < 1e-4, `${JSON.stringify(r.text)}: max abs difference ${worst}`);
    });
  } finally {
    await session.release();
  }
});
