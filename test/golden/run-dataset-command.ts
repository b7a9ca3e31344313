import { Command } from 'commander';
import { register } from '../../src/cli/commands/dataset.command';

/** `leader dataset ARGS` through the real command (only that command is loaded, to keep specs fast). */
export async function runDatasetCommand(args: string[]): Promise<void> {
  const program = new Command('leader').exitOverride();
  register(program);
  await program.parseAsync(['node', 'leader', 'dataset', ...args]);
}
