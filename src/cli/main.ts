#!/usr/bin/env node
/**
 * The `leader` command line. Each command lives in cli/commands/<name>.command.ts and exports
 * `register(program)`; they are registered in file-name order. Never boots the HTTP app.
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { CliError } from '../common/cli-error';
import { packageRoot } from '../common/package-root';
import { loadCliConfig } from '../config/cli-config';

export interface CommandModule {
  register(program: Command): void;
}

export function buildProgram(): Command {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg = require(path.join(packageRoot(), 'package.json')) as { version: string };
  const program = new Command('leader')
    .description('LEADER medication recommendation: MIMIC/FHIR data path, student training, CDS Hooks tooling')
    .version(pkg.version)
    .showHelpAfterError();
  const dir = path.join(__dirname, 'commands');
  const files = readdirSync(dir).filter((f) => /\.command\.(js|ts)$/.test(f) && !f.endsWith('.d.ts')).sort();
  for (const file of files) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require(path.join(dir, file)) as CommandModule).register(program);
  }
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`leader: ${message.split('\n')[0]}\n`);
    if (e instanceof Error && !(e instanceof CliError) && debugRequested()) process.stderr.write(`${e.stack}\n`);
    return e instanceof CliError ? e.exitCode : 1;
  }
}

/** LEADER_DEBUG, unless the configuration itself is what failed. */
function debugRequested(): boolean {
  try {
    return loadCliConfig().debug;
  } catch {
    return false;
  }
}

if (require.main === module) {
  runCli(process.argv).then((code) => {
    process.exitCode = code;
  });
}
