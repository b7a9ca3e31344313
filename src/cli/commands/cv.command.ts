/**
 * `leader cv`: K-fold cross-validation by patient of the student and every baseline on the same folds
 * (training/cross-validation.ts), optionally as a learning curve over shares of the train patients.
 * Resumable: rerun the same command to continue. Trainer flags for the student follow `--`.
 */
import * as path from 'node:path';
import { Command } from 'commander';
import { CliError } from '../../common/cli-error';
import { integerOption, seedOption } from '../integer-option';
import { writeFileAtomic } from '../../common/atomic-write';
import { crossValidate, type CrossValidationResult } from '../../training/cross-validation';
import { formatCrossValidation, formatLearningCurve, learningCurvePoint, type LearningCurvePoint } from '../../training/cross-validation.report';
import { ProgressReporter, type ProgressBar } from '../progress';

export interface CvCommandOptions {
  dataset: string;
  out?: string;
  folds: number;
  seed: number;
  epochs?: number;
  learningCurve?: number[];
  json?: boolean;
  quiet?: boolean;
}

function percentages(v: string): number[] {
  const xs = v.split(',').map((x) => Number(x.trim()));
  if (!xs.length || xs.some((x) => !Number.isFinite(x) || x <= 0 || x > 100)) throw new CliError(`--learning-curve takes percentages in (0, 100], e.g. 25,50,75,100 (got "${v}")`);
  return [...new Set(xs)].sort((a, b) => a - b);
}

export interface CvRun {
  result: CrossValidationResult;
  learningCurve?: LearningCurvePoint[];
}

/** One cross-validation (or one per learning-curve share) with progress on stderr. */
export async function runCrossValidation(opts: CvCommandOptions, trainerArgs: string[]): Promise<CvRun> {
  const progress = new ProgressReporter(process.stderr, !!opts.quiet);
  const out = path.resolve(opts.out ?? path.join('out', `cv-${path.basename(path.resolve(opts.dataset))}`));
  const shares = opts.learningCurve ?? [100];
  const curve: LearningCurvePoint[] = [];
  let last: CrossValidationResult | undefined;
  for (const pct of shares) {
    const fraction = pct / 100;
    // The 100 % point is the plain cross-validation (same folder, reused when it is finished).
    const dir = pct === 100 ? out : path.join(out, `train-${pct}`);
    let bar: ProgressBar | undefined;
    progress.info(`cross-validating ${opts.folds} folds of ${opts.dataset}${pct !== 100 ? ` on ${pct} % of the train patients` : ''} into ${dir}`);
    try {
      last = await crossValidate({
        dataset: opts.dataset, out: dir, folds: opts.folds, seed: opts.seed, epochs: opts.epochs, trainerArgs, trainFraction: fraction,
        progress: {
          info: (l) => progress.info(l),
          fold: (k, n, phase, detail) => {
            if (phase !== 'train') bar?.stop();
            if (phase !== 'train') bar = undefined;
            progress.info(`fold ${k + 1}/${n}: ${phase === 'reused' ? 'finished earlier, reused' : phase}${detail ? ` (${detail})` : ''}`);
          },
          trainerEvent: (k, e) => {
            if (e.event === 'start') bar = progress.bar(`fold ${k + 1} epochs`, e.epochs, 'epochs');
            if (e.event === 'epoch') bar?.update(e.epoch, { prauc: e.val_prauc ?? 0 });
            if (e.event === 'early_stop') bar?.setTotal(e.epoch);
          },
        },
      });
    } catch (e) {
      bar?.stop();
      if (e instanceof RangeError || (e instanceof Error && !(e instanceof TypeError))) throw new CliError(e.message);
      throw e;
    }
    curve.push(learningCurvePoint(last));
    progress.info(`${opts.folds} folds done in ${last.seconds.toFixed(1)} s; wrote ${path.join(dir, 'summary.json')} and fold-*/ (dataset, model, result.json)`);
  }
  if (shares.length > 1) {
    const file = path.join(out, 'learning-curve.json');
    await writeFileAtomic(file, `${JSON.stringify(curve, null, 1)}\n`);
    progress.info(`wrote ${file}`);
  }
  return { result: last!, learningCurve: shares.length > 1 ? curve : undefined };
}

export function printCrossValidation(run: CvRun, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...run.result, learningCurve: run.learningCurve ?? null }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${formatCrossValidation(run.result)}\n`);
  if (run.learningCurve) process.stdout.write(`\n${formatLearningCurve(run.learningCurve)}\n`);
}

/** The cross-validation options `leader cv` and `leader evaluate --folds` share (evaluate has its own --seed). */
export function addCrossValidationOptions(cmd: Command, withSeed = true): Command {
  if (withSeed) cmd.option('--seed <n>', 'seed of the fold assignment, the trainer and the baselines', seedOption, 42);
  return cmd
    .option('--out <dir>', 'work folder: fold-<k>/ (dataset, model, result.json), summary.json (default out/cv-<dataset>)')
    .option('--epochs <n>', 'maximum student epochs per fold (early stopping on the fold\'s validation patients)', integerOption('--epochs'))
    .option('--learning-curve <pcts>', 'repeat on these shares of each fold\'s train patients, e.g. 25,50,75,100', percentages)
    .option('--quiet', 'no progress output');
}

export function register(program: Command): void {
  addCrossValidationOptions(program
    .command('cv')
    .description('K-fold cross-validation by patient: the student and every baseline on the same folds, per-fold and pooled metrics, paired bootstrap intervals')
    .requiredOption('--dataset <dir>', 'dataset folder written by `leader dataset` (--per-visit datasets train on every visit)')
    .option('--folds <k>', 'number of folds', integerOption('--folds', 2), 5)
    .option('--json', 'print one JSON object instead of tables'))
    .argument('[trainerArgs...]', 'student trainer flags after `--` (e.g. -- --wide --bias-init)')
    .action(async (trainerArgs: string[], opts: CvCommandOptions) => {
      printCrossValidation(await runCrossValidation(opts, trainerArgs), !!opts.json);
    });
}
