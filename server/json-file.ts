// Writing a JSON file atomically: presets and the MIDI mapping are saved this way, so a reader (or
// a crash) never sees half a file.
import { writeFile, rename, mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Write DIR/NAME.json through a temporary file renamed over it, so readers never see half a file. */
export async function writeJsonAtomic(dir: string, name: string, value: unknown): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${name}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(tmp, JSON.stringify(value, null, 2) + '\n', { flag: 'wx' });
    await rename(tmp, path.join(dir, `${name}.json`));
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
