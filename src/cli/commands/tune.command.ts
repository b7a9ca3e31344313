/**
 * `leader tune`: a small, budgeted search over student trainer flags, each candidate cross-validated by
 * patient (`leader cv`, resumable). Candidates are ranked by the student's figures on each fold's
 * VALIDATION patients only; the test-fold figures are shown for the record and never used to choose.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { CliError } from '../../common/cli-error';
import { writeFileAtomic } from '../../common/atomic-write';
import { ProgressReporter } from '../progress';
import { addCrossValidationOptions, runCrossValidation, type CvCommandOptions } from './cv.command';
import { integerOption } from '../integer-option';
import { sha256Hex } from '../../common/sha256';

/** The default search, cheapest ideas first (docs/experiments.md explains each). */
export const DEFAULT_TUNE_GRID: string[][] = [
  [],
  ['--bias-init'],
  ['--wide', '--bias-init'],
  ['--wide', '--bias-init', '--weight-decay', '0.01'],
  ['--wide', '--bias-init', '--dim', '32'],
  ['--wide', '--bias-init', '--hidden-dropout', '0.2'],
  ['--wide', '--bias-init', '--wide-lr', '0.03'],
];

interface TuneOptions extends CvCommandOptions {
  grid?: string;
  budget?: number;
}

export interface TuneRow {
  trainerArgs: string[];
  validation: { prauc: number; jaccard: number };
  test: { prauc: number; jaccard: number; dPrauc: number; dJaccard: number };
  seconds: number;
  out: string;
}

async function readGrid(file: string): Promise<string[][]> {
  let grid: unknown;
  try {
    grid = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    throw new CliError(`--grid ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `not valid JSON (${(e as Error).message.split('\n')[0]})`}`);
  }
  if (!Array.isArray(grid) || grid.length === 0 || !grid.every((c) => Array.isArray(c) && c.every((x) => typeof x === 'string'))) {
    throw new CliError(`--grid ${file}: must be a non-empty JSON array of trainer flag arrays, e.g. [["--wide"], ["--dim", "32"]]`);
  }
  return grid as string[][];
}

export async function runTune(opts: TuneOptions): Promise<TuneRow[]> {
  const progress = new ProgressReporter(process.stderr, !!opts.quiet);
  const grid = (opts.grid ? await readGrid(opts.grid) : DEFAULT_TUNE_GRID).slice(0, opts.budget ?? Infinity);
  const out = path.resolve(opts.out ?? path.join('out', `tune-${path.basename(path.resolve(opts.dataset))}`));
  const rows: TuneRow[] = [];
  for (const [i, args] of grid.entries()) {
    const dir = path.join(out, `candidate-${sha256Hex(JSON.stringify(args)).slice(0, 10)}`);
    progress.info(`candidate ${i + 1}/${grid.length}: ${args.join(' ') || '(trainer defaults)'}`);
    const { result: r } = await runCrossValidation({ ...opts, out: dir, learningCurve: undefined }, args);
    rows.push({
      trainerArgs: args,
      validation: { prauc: r.validation.prauc, jaccard: r.validation.jaccard },
      test: { prauc: r.pooled.student.prauc, jaccard: r.pooled.student.jaccard, dPrauc: r.difference.prauc.mean, dJaccard: r.difference.jaccard.mean },
      seconds: r.seconds, out: dir,
    });
  }
  rows.sort((a, b) => b.validation.prauc - a.validation.prauc || b.validation.jaccard - a.validation.jaccard);
  await fs.mkdir(out, { recursive: true });
  const file = path.join(out, 'tune.json');
  await writeFileAtomic(file, `${JSON.stringify(rows, null, 1)}\n`);
  progress.info(`wrote ${file}`);
  return rows;
}

export function formatTune(rows: readonly TuneRow[]): string {
  const f = (x: number) => x.toFixed(4);
  const s = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;
  const lines = ['ranked by the student on the validation patients of each fold (the test columns are reported, not used to choose):',
    `${'rank'.padEnd(5)}${'val PRAUC'.padStart(10)}${'val Jacc.'.padStart(10)}${'test PRAUC'.padStart(11)}${'test Jacc.'.padStart(11)}${'Δ PRAUC'.padStart(9)}${'Δ Jacc.'.padStart(9)}  trainer flags`];
  rows.forEach((r, i) => lines.push(`${String(i + 1).padEnd(5)}${f(r.validation.prauc).padStart(10)}${f(r.validation.jaccard).padStart(10)}${f(r.test.prauc).padStart(11)}${f(r.test.jaccard).padStart(11)}${s(r.test.dPrauc).padStart(9)}${s(r.test.dJaccard).padStart(9)}  ${r.trainerArgs.join(' ') || '(defaults)'}`));
  lines.push(`Δ = student − best baseline on the pooled test folds. Chosen: ${rows[0].trainerArgs.join(' ') || '(defaults)'}`);
  return lines.join('\n');
}

export function register(program: Command): void {
  addCrossValidationOptions(program
    .command('tune')
    .description('Budgeted search over student trainer flags, each cross-validated by patient; ranked on validation patients only')
    .requiredOption('--dataset <dir>', 'dataset folder written by `leader dataset`')
    .option('--folds <k>', 'number of folds', integerOption('--folds', 2), 5)
    .option('--grid <file>', 'JSON array of trainer flag arrays to try (default: the built-in grid, cheapest ideas first)')
    .option('--budget <n>', 'try at most the first n candidates', integerOption('--budget'))
    .option('--json', 'print the ranked candidates as JSON'))
    .action(async (opts: TuneOptions) => {
      if (opts.learningCurve) throw new CliError('--learning-curve is for `leader cv`, not `leader tune`');
      const rows = await runTune(opts);
      process.stdout.write(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatTune(rows)}\n`);
    });
}
