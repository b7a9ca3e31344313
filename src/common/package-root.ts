import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

let cached: string | undefined;

/**
 * The repository / package root (the folder holding this package's package.json), found by walking
 * up from this file, so the same code works from src/ under ts-jest and from dist/src/ when built.
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    // fhir-mappings/ tells the checkout apart from a stray package.json a build may copy into dist/.
    if (existsSync(candidate) && existsSync(path.join(dir, 'fhir-mappings'))
      && (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === 'leader-cds') {
      cached = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`package.json of leader-cds not found above ${__dirname}`);
    dir = parent;
  }
}
