import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServeArgs } from '../../server/cli.ts';
import { planWorkers } from '../../server/runtime/pool.ts';

test('--threads sets inference threads per network; bad values fail with the flag named', () => {
  assert.equal(parseServeArgs(['--threads', '1']).threads, 1);
  assert.equal(parseServeArgs([]).threads, undefined);
  assert.throws(() => parseServeArgs(['--threads', '0']), /--threads must be >= 1/);
  assert.throws(() => parseServeArgs(['--threads', 'two']), /--threads must be a number/);
});

test('--workers sets the runtime workers; bad values fail with the flag named', () => {
  assert.equal(parseServeArgs(['--workers', '3']).workers, 3);
  assert.equal(parseServeArgs([]).workers, undefined);
  assert.throws(() => parseServeArgs(['--workers', '0']), /--workers must be >= 1/);
  assert.throws(() => parseServeArgs(['--workers', '1.5']), /--workers must be an integer/);
});

test('workers by default: one using every core when capped, two sharing the cores when uncapped on a CPU', () => {
  assert.deepEqual(planWorkers({ fps: 60, cores: 2 }), { workers: 1, threads: undefined });
  assert.deepEqual(planWorkers({ fps: 0, cores: 2 }), { workers: 2, threads: 1 });
  assert.deepEqual(planWorkers({ fps: 0, cores: 8 }), { workers: 2, threads: 4 });
  assert.deepEqual(planWorkers({ fps: 0, cores: 1 }), { workers: 1, threads: undefined }, 'one core: nothing to share');
  assert.deepEqual(planWorkers({ fps: 0, cores: 8, device: 'cuda' }), { workers: 1, threads: undefined }, 'a GPU is not split');
  // what the performer says wins
  assert.deepEqual(planWorkers({ fps: 0, cores: 8, workers: 1 }), { workers: 1, threads: undefined });
  assert.deepEqual(planWorkers({ fps: 60, cores: 8, workers: 4 }), { workers: 4, threads: 2 });
  assert.deepEqual(planWorkers({ fps: 0, cores: 2, threads: 2 }), { workers: 2, threads: 2 });
});

test('--runtime picks the runtime, --device takes mps; the torch options are flags; bad values fail with the flag named', () => {
  const o = parseServeArgs(['--runtime', 'torch', '--device', 'mps', '--fp16', '--cuda-graphs']);
  assert.equal(o.runtime, 'torch');
  assert.equal(o.device, 'mps');
  assert.equal(o.fp16, true);
  assert.equal(o['cuda-graphs'], true);
  assert.equal(o.compile, undefined);
  assert.equal(parseServeArgs([]).runtime, undefined);
  assert.throws(() => parseServeArgs(['--runtime', 'jax']), /--runtime must be one of onnx, tfjs, torch/);
  assert.throws(() => parseServeArgs(['--fp16=yes']), /fp16/);
});

test('--steer picks how prompts steer; an unknown path fails with the choices named', () => {
  assert.equal(parseServeArgs(['--steer', 'bank']).steer, 'bank');
  assert.equal(parseServeArgs([]).steer, undefined);
  assert.throws(() => parseServeArgs(['--steer', 'magic']), /--steer must be one of auto, prior, condition, bank, search/);
});
