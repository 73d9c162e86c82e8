import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { writeFixtureModel } from '../fixtures/onnx.ts';
import { loadModel, type Model } from '../../server/model/load.ts';
import { Stage } from '../../server/stage.ts';
import { PresetStore } from '../../server/presets.ts';
import { EncodePipeline, type Delivery, type Encoder } from '../../server/frames/pipeline.ts';
import { parseFrameHeader, HEADER_BYTES } from '../../server/frames/header.ts';
import type { EncodeRequest } from '../../server/frames/frame.ts';
import { waitFor } from '../helpers/server.ts';

let tmp: string;
let model: Model;

before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'ls-pipeline-'));
  model = await loadModel(writeFixtureModel(path.join(tmp, 'model')));
});
after(async () => {
  await model.runtime.close();
  rmSync(tmp, { recursive: true, force: true });
});

const stageFor = () => new Stage({ model, presets: new PresetStore(path.join(tmp, 'presets')), fps: 60 });
const jpeg = (size: number): EncodeRequest => ({ format: 'jpeg', size, quality: 80 });

/** Encoder that holds every encode of one size until released (a size as slow as we like). */
function gated(slowSize: number) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let held = 0;
  const encoder: Encoder = async (frame, req) => {
    if (req.size === slowSize) {
      held++;
      await gate;
    }
    return frame.encode(req);
  };
  return { encoder, release: () => release(), held: () => held };
}

const collect = (pipeline: EncodePipeline, req: EncodeRequest) => {
  const got: Delivery[] = [];
  const unsubscribe = pipeline.subscribe(req, (d) => got.push(d));
  return { got, unsubscribe };
};

const settle = () => new Promise((r) => setTimeout(r, 50));

test('a slow size never holds back delivery to another size', async () => {
  const stage = stageFor();
  const slow = gated(1024);
  const pipeline = new EncodePipeline(stage, { encoder: slow.encoder, depth: 2 });
  const small = collect(pipeline, jpeg(64));
  const big = collect(pipeline, jpeg(1024));
  const produced: number[] = [];
  for (let i = 0; i < 8; i++) {
    produced.push((await stage.produce(1 / 60)).info.index);
    await settle();
  }
  const newest = produced.at(-1)!;
  // every frame reached the 64 px viewer while the 1024 px lane sat on its first two encodes
  assert.deepEqual(
    small.got.map((d) => d.frame.info.index),
    produced,
  );
  assert.equal(big.got.length, 0);
  assert.equal(slow.held(), 2, 'the slow lane started no more than its depth');
  slow.release();
  await waitFor(() => big.got.some((d) => d.frame.info.index === newest), 10000, 'the newest frame at 1024 px');
  // latest wins: after the two held encodes, the slow lane skips straight to the newest frame
  const bigIndexes = big.got.map((d) => d.frame.info.index);
  assert.ok(bigIndexes.includes(newest), `the 1024 px viewer got the newest frame (${bigIndexes})`);
  assert.ok(bigIndexes.length <= 3, `stale frames were not all encoded (${bigIndexes})`);
  for (let i = 1; i < bigIndexes.length; i++) assert.ok(bigIndexes[i] > bigIndexes[i - 1], 'frames arrive in order');
  const meta = await sharp(big.got.at(-1)!.encoded.data).metadata();
  assert.equal(meta.width, 1024);
  pipeline.close();
});

test('encodes that finish out of order are delivered in order, and none is wasted', async () => {
  const stage = stageFor();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let calls = 0;
  // the first encode of the lane is held; the second finishes first
  const encoder: Encoder = async (frame, req) => {
    if (calls++ === 0) await gate;
    return frame.encode(req);
  };
  const pipeline = new EncodePipeline(stage, { encoder, depth: 2 });
  const lane = collect(pipeline, jpeg(128));
  const stale = async () => (await stage.metrics.staleEncodes.get()).values[0]?.value ?? 0;
  const staleBefore = await stale();
  const a = (await stage.produce(1 / 60)).info.index;
  const b = (await stage.produce(1 / 60)).info.index;
  await settle();
  assert.equal(lane.got.length, 0, 'the newer frame waits for the older one');
  release();
  await waitFor(() => lane.got.length === 2, 10000, 'both frames');
  assert.deepEqual(lane.got.map((d) => d.frame.info.index), [a, b]);
  assert.equal(await stale(), staleBefore, 'no finished encode was thrown away');
  pipeline.close();
});

test('each size is encoded once per frame for any number of viewers, and the message carries the header', async () => {
  const stage = stageFor();
  const pipeline = new EncodePipeline(stage);
  const viewers = Array.from({ length: 30 }, () => collect(pipeline, jpeg(256)));
  const other = collect(pipeline, { format: 'rgba', size: null, quality: 80 });
  assert.equal(pipeline.size, 2);
  const frame = await stage.produce(1 / 60);
  await waitFor(() => viewers.every((v) => v.got.length > 0) && other.got.length > 0, 10000, 'every viewer to get the frame');
  assert.equal(frame.encodes, 2);
  const first = viewers[0].got[0];
  assert.ok(viewers.every((v) => v.got.length === 1 && v.got[0].message === first.message), 'one shared message');
  const h = parseFrameHeader(first.message);
  assert.equal(h.index, frame.info.index);
  assert.equal(h.width, 256);
  assert.equal(first.message.length, HEADER_BYTES + h.payloadLength);
  assert.equal(other.got[0].encoded.data.length, 64 * 64 * 4);
  // a lane with no viewers left stops encoding
  for (const v of viewers) v.unsubscribe();
  other.unsubscribe();
  assert.equal(pipeline.size, 0);
  const next = await stage.produce(1 / 60);
  await settle();
  assert.equal(next.encodes, 0);
  pipeline.close();
});

test('a viewer joining a running size gets the latest frame right away', async () => {
  const stage = stageFor();
  const pipeline = new EncodePipeline(stage);
  const first = collect(pipeline, jpeg(128));
  await stage.produce(1 / 60);
  const latest = (await stage.produce(1 / 60)).info.index;
  await waitFor(() => first.got.some((d) => d.frame.info.index === latest), 10000, 'the first viewer to get the latest frame');
  const late = collect(pipeline, jpeg(128));
  await waitFor(() => late.got.length > 0, 10000, 'the late viewer to get a frame');
  await settle();
  assert.deepEqual(late.got.map((d) => d.frame.info.index), [latest]);
  const fresh = collect(pipeline, jpeg(96));
  await waitFor(() => fresh.got.length > 0, 10000, 'the new size to get a frame');
  assert.deepEqual(fresh.got.map((d) => d.frame.info.index), [latest], 'a new size starts from the latest frame');
  pipeline.close();
});

/**
 * The stage over the real runtime behind a wrapper that takes `delay(call)` ms more per frame (a
 * frame of a real model takes longer than a turn of the event loop) and counts how many frames
 * are in it at once; `lanes` makes it look like a pool. Runs until `count` frames published.
 */
async function runStage(opts: { fps: number; count: number; delay: (call: number) => number; lanes?: number }) {
  const runtime = model.runtime;
  let calls = 0;
  let inRuntime = 0;
  let most = 0;
  const wrapped = {
    ...runtime,
    manifest: runtime.manifest,
    device: runtime.device,
    lanes: opts.lanes,
    generate: async (...args: Parameters<typeof runtime.generate>) => {
      const ms = opts.delay(calls++);
      most = Math.max(most, ++inRuntime);
      try {
        await new Promise((r) => setTimeout(r, ms));
        return await runtime.generate(...args);
      } finally {
        inRuntime--;
      }
    },
    close: () => runtime.close(),
  };
  const stage = new Stage({ model: { ...model, runtime: wrapped }, presets: new PresetStore(path.join(tmp, 'presets')), fps: opts.fps });
  const indexes: number[] = [];
  stage.on('frame', (f) => indexes.push(f.info.index));
  stage.start();
  await waitFor(() => indexes.length >= opts.count, 10000, `${opts.count} frames`);
  await stage.stop();
  const values = (await stage.metrics.skipped.get()).values;
  const skippedBy = (cause: string) => values.filter((v) => v.labels.cause === cause).reduce((n, v) => n + v.value, 0);
  return { indexes, most, skipped: { runtime: skippedBy('runtime'), loop: skippedBy('loop') } };
}

const inOrder = (indexes: number[]) => {
  assert.deepEqual(indexes, [...indexes].sort((a, b) => a - b), 'published in order');
  assert.equal(new Set(indexes).size, indexes.length, 'each index once');
};

test('uncapped, the loop keeps a second frame in the runtime; frames still publish in order, and stop joins both', async () => {
  const { indexes, most } = await runStage({ fps: 0, count: 40, delay: () => 4 });
  const stopped = indexes.length;
  assert.equal(most, 2, 'a second frame was in the runtime while the first was being made');
  inOrder(indexes);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(indexes.length, stopped, 'nothing publishes after stop() resolved');
});

test('with a pool, frames that come back out of order still publish in order', async () => {
  // two lanes; every other frame is slow, so later frames finish first
  const { indexes, most } = await runStage({ fps: 0, count: 40, lanes: 2, delay: (call) => (call % 2 === 0 ? 15 : 4) });
  assert.equal(most, 4, 'two frames per lane were in the making');
  inOrder(indexes);
  assert.equal(indexes.at(-1)! - indexes[0], indexes.length - 1, 'no frame lost');
});

test('capped, a frame that runs long does not hold back the next slot: it starts on time and no slot is lost', async () => {
  // the fourth frame stalls for more than two slots at 20 fps (a stalled core)
  const { indexes, most, skipped } = await runStage({ fps: 20, count: 10, delay: (call) => (call === 3 ? 110 : 4) });
  assert.ok(most >= 2, 'the next slot started while the long frame was still running');
  assert.equal(skipped.runtime, 0, 'no slot was skipped for the runtime');
  // A busy machine may wake the loop late (skips caused by the loop, counted apart): those are the
  // only gaps allowed between the published frames.
  const first = indexes.slice(0, 10);
  inOrder(first);
  const gaps = first.at(-1)! - first[0]! - (first.length - 1);
  assert.ok(gaps <= skipped.loop, `every slot but the ${skipped.loop} the loop woke late for: ${first.join(',')}`);
});
