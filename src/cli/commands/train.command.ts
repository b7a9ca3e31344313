/**
 * `leader train`: trains the LEADER student with the Python trainer (trainer/leader_trainer) and
 * streams its progress; the model folder (model.onnx, manifest.json, vocab.json, ddi.json,
 * parity.json) is swapped in only when training and export succeeded.
 */
import * as path from 'node:path';
import { Command } from 'commander';
import { CliError } from '../../common/cli-error';
import { ProgressReporter, type ProgressBar } from '../progress';
import { openFhirSource } from '../../fhir/fhir-source';
import { Terminology } from '../../terminology/terminology';
import { hashServingFiles, writeServingFiles } from '../../training/serving-files';
import { runTrainer, type TrainerEvent } from '../../training/train.launcher';
import { cliConfig } from '../../config/cli-config';
import { integerOption, seedOption } from '../integer-option';

function num(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new CliError(`${flag} must be a non-negative number (got "${v}")`);
    return n;
  };
}

export interface TrainCommandOptions {
  dataset: string;
  out: string;
  teacherFeatures?: string;
  epochs?: number;
  resume?: boolean;
  seed?: number;
  batchSize?: number;
  lr?: number;
  patience?: number;
  alpha?: number;
  beta?: number;
  threads?: number;
  name?: string;
  modelVersion?: string;
  scaleNote?: string;
  datasetLabel?: string;
  quiet?: boolean;
}

const PASS_THROUGH: [keyof TrainCommandOptions, string][] = [
  ['seed', '--seed'], ['batchSize', '--batch-size'], ['lr', '--lr'], ['patience', '--patience'], ['alpha', '--alpha'],
  ['beta', '--beta'], ['threads', '--threads'], ['name', '--name'], ['modelVersion', '--version'], ['scaleNote', '--scale-note'], ['datasetLabel', '--dataset-label'],
];

export async function runTrainCommand(opts: TrainCommandOptions, extra: string[] = []): Promise<void> {
  const progress = new ProgressReporter(process.stderr, !!opts.quiet);
  const args: string[] = [];
  for (const [key, flag] of PASS_THROUGH) if (opts[key] !== undefined) args.push(flag, String(opts[key]));
  let bar: ProgressBar | undefined;
  const onEvent = (e: TrainerEvent) => {
    switch (e.event) {
      case 'start':
        progress.info(`training on ${e.train} train / ${e.val} val / ${e.test} test samples, up to ${e.epochs} epochs (${e.steps_per_epoch} steps each)`);
        bar = progress.bar('train epochs', e.epochs, 'epochs');
        bar.update(e.start_epoch - 1);
        break;
      case 'epoch':
        bar?.update(e.epoch, { prauc: e.val_prauc ?? 0 });
        if (!process.stderr.isTTY) {
          const val = e.val_prauc === null ? '' : `, val PRAUC ${e.val_prauc.toFixed(4)}`;
          progress.info(`epoch ${e.epoch}/${e.epochs}: loss ${e.train_loss.toFixed(4)}${val}, best epoch ${e.best_epoch} (${e.seconds.toFixed(1)} s)`);
        }
        break;
      case 'early_stop':
        bar?.setTotal(e.epoch);
        progress.info(`early stop at epoch ${e.epoch}: no val PRAUC gain for ${e.patience} epochs (best epoch ${e.best_epoch})`);
        break;
      case 'export':
        bar?.stop();
        bar = undefined;
        progress.info(`exported ONNX opset ${e.opset} (sha256 ${e.sha256.slice(0, 12)}…)`);
        break;
      default:
        break;
    }
  };
  // The trainer's own per-epoch text duplicates our lines, and torch.onnx's shape-inference warning
  // (harmless for this graph, toolchain.md §3) is noise; keep its other stderr (warnings, errors).
  let skipWarningSource = false;
  const onStderr = (line: string) => {
    if (skipWarningSource) {
      skipWarningSource = false;
      if (/^\s+_C\._jit_pass/.test(line)) return;
    }
    if (/UserWarning: The shape inference of prim::Constant type is missing/.test(line)) {
      skipWarningSource = true;
      return;
    }
    if (/^epoch \d+\/\d+:/.test(line) || /^early stop:/.test(line) || /^wrote /.test(line)) return;
    if (bar && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    if (!opts.quiet || /error/i.test(line)) process.stderr.write(`trainer: ${line}\n`);
  };
  const result = await runTrainer({
    dataset: opts.dataset, out: opts.out, teacherFeatures: opts.teacherFeatures, epochs: opts.epochs, resume: opts.resume,
    extraArgs: [...args, ...extra], python: cliConfig().python, onEvent, onStderr,
  }).catch((e: Error) => {
    throw new CliError(e.message);
  });
  bar?.stop();
  if (result.exitCode !== 0 || !result.done) {
    const why = result.lastError ?? `trainer exited with code ${result.exitCode}`;
    throw new CliError(`train: ${why.replace(/^error:\s*/, '')}`, result.exitCode === 0 ? 1 : result.exitCode);
  }
  const d = result.done;
  const m = d.metrics;
  progress.info(`best epoch ${d.best_epoch} of ${d.epochs_run}${d.val_prauc === null ? '' : `, val PRAUC ${d.val_prauc.toFixed(4)}`}, threshold ${d.threshold}`
    + (m ? `; test (trainer, full split): PRAUC ${m.prauc.toFixed(4)}, Jaccard ${m.jaccard.toFixed(4)}, F1 ${m.f1.toFixed(4)}` : ''));
  const serving = await writeServingFiles(opts.dataset, d.out, {
    openSource: (location) => openFhirSource(location), terminology: await Terminology.load(), info: (line) => progress.info(line),
  });
  await hashServingFiles(d.out, serving);
  const rel = path.relative(process.cwd(), d.out);
  progress.info(`wrote ${rel && !rel.startsWith('..') ? rel : d.out}/ (model.onnx, manifest.json, vocab.json, ddi.json, parity.json, checkpoint.pt, ${serving.join(', ')}) in ${d.seconds.toFixed(1)} s`);
}

export function register(program: Command): void {
  program
    .command('train')
    .description('Train the LEADER student (PyTorch, trainer/) on a `leader dataset` folder and export model.onnx + manifest.json')
    .requiredOption('--dataset <dir>', 'dataset folder written by `leader dataset`')
    .requiredOption('--out <dir>', 'model folder to write (replaced only when training succeeds)')
    .option('--teacher-features <file>', 'teacher features from `leader teacher` (feature distillation)')
    .option('--epochs <n>', 'maximum epochs (early stopping on val PRAUC)', integerOption('--epochs'))
    .option('--resume', 'continue an interrupted run from its checkpoint')
    .option('--seed <n>', 'random seed (default 42)', seedOption)
    .option('--batch-size <n>', 'batch size (default 16)', integerOption('--batch-size'))
    .option('--lr <x>', 'Adam learning rate (default 5e-4)', num('--lr'))
    .option('--patience <n>', 'early-stopping patience in epochs (default 10)', integerOption('--patience'))
    .option('--alpha <x>', 'KD loss weight (default 0.8)', num('--alpha'))
    .option('--beta <x>', 'profile-alignment loss weight (default 0.01)', num('--beta'))
    .option('--threads <n>', 'torch threads (default 2)', integerOption('--threads'))
    .option('--name <name>', 'model name in the manifest')
    .option('--model-version <v>', 'model version in the manifest')
    .option('--scale-note <text>', 'manifest training.scale (what the model was trained on)')
    .option('--dataset-label <text>', 'manifest training.dataset (default: the dataset folder path)')
    .option('--quiet', 'no progress output')
    .argument('[trainerArgs...]', 'further trainer flags after `--`, passed unchanged')
    .action(async (extra: string[], opts: TrainCommandOptions) => {
      await runTrainCommand(opts, extra);
    });
}
