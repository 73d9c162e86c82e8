// `latentstage import` argument checks: each mistake gets its own message before Python starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseImportArgs, ImportUsageError } from '../../server/model/import-cli.ts';

test('import arguments: kind, source and -o are required; the rest is refused by name', () => {
  assert.deepEqual(parseImportArgs(['stylegan', 'a.pkl', '-o', 'models/a']), { kind: 'stylegan', src: 'a.pkl', out: 'models/a', fp16: false });
  assert.deepEqual(parseImportArgs(['clip', 'clip-dir', '--out', 'models/a', '--fp16']), { kind: 'clip', src: 'clip-dir', out: 'models/a', fp16: true });
  const cases: [string[], RegExp][] = [
    [[], /which kind of model\? stylegan, biggan or clip/],
    [['gan', 'a.pkl', '-o', 'x'], /unknown kind "gan" \(known: stylegan, biggan, clip\)/],
    [['stylegan', '-o', 'x'], /stylegan: the source file or folder is missing/],
    [['stylegan', 'a.pkl'], /-o OUT \(the model folder to write\) is missing/],
    [['stylegan', 'a.pkl', 'b.pkl', '-o', 'x'], /unexpected argument b\.pkl/],
    [['stylegan', 'a.pkl', '-o', 'x', '--half'], /Unknown option '--half'/],
  ];
  for (const [args, why] of cases) assert.throws(() => parseImportArgs(args), (err: Error) => err instanceof ImportUsageError && why.test(err.message), args.join(' '));
});
