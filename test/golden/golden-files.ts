import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Golden fixtures are rewritten instead of compared when UPDATE_GOLDEN=1 (see test/golden/README.md). */
export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';

export const GOLDEN_DIR = __dirname;
export const GOLDEN_DATASET_DIR = path.join(__dirname, 'dataset');
export const STUDENT_BATCH_GOLDEN_FILE = path.join(__dirname, 'student-batch.golden.json');
/** `leader dataset` arguments the golden dataset was written with (the fixture patients, seed 4: one test patient). */
export const GOLDEN_DATASET_ARGS = ['--seed', '4'];

/** Every file under `dir`, as sorted relative paths. */
export async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

