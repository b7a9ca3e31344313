import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** A sibling temporary path for `target`, unique per process, so partial output is never mistaken for complete. */
export function temporaryPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${Date.now()}`);
}

/** Write a file under a temporary name, then rename it over `target`. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = temporaryPathFor(target);
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, target);
}

/**
 * Build a whole output folder under a temporary name, then swap it in. If `build` throws, the
 * temporary folder is removed and any existing `target` is left untouched.
 */
export async function writeDirAtomic<T>(target: string, build: (tmpDir: string) => Promise<T>): Promise<T> {
  const tmp = temporaryPathFor(target);
  await fs.mkdir(tmp, { recursive: true });
  try {
    const result = await build(tmp);
    const old = `${tmp}.old`;
    let hadOld = false;
    try {
      await fs.rename(target, old);
      hadOld = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await fs.rename(tmp, target);
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
    return result;
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
