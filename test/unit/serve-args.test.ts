import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServeArgs } from '../../server/cli.ts';

test('--threads sets inference threads per network; bad values fail with the flag named', () => {
  assert.equal(parseServeArgs(['--threads', '1']).threads, 1);
  assert.equal(parseServeArgs([]).threads, undefined);
  assert.throws(() => parseServeArgs(['--threads', '0']), /--threads must be >= 1/);
  assert.throws(() => parseServeArgs(['--threads', 'two']), /--threads must be a number/);
});
