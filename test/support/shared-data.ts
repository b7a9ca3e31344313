/**
 * ../shared/data for tests (LEADER_SHARED_DATA overrides, as for the CLI). A test that needs a shared
 * file is skipped when it is missing on a developer's machine, but runs (and fails, naming the file)
 * under CI=true, where a missing ../shared is a broken setup and never a silent skip.
 */
import { existsSync } from 'node:fs';
import { loadCliConfig } from '../../src/config/cli-config';

export const SHARED_DATA = loadCliConfig().sharedDataDir;

function present(paths: string[]): boolean {
  return paths.every((p) => existsSync(p)) || process.env.CI === 'true';
}

/** `it`, or `it.skip` when a path is missing outside CI. */
export function itWithShared(...paths: string[]): jest.It {
  return present(paths) ? it : it.skip;
}

/** `describe`, or `describe.skip` when a path is missing outside CI. */
export function describeWithShared(...paths: string[]): jest.Describe {
  return present(paths) ? describe : describe.skip;
}
