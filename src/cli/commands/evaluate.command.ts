/**
 * `leader evaluate`: the student through onnxruntime-node (exactly what the service runs) on a
 * dataset split, with LEADER's metrics (10 × 80 % rounds, single/multi-visit groups) next to the
 * most-frequent-k, co-occurrence and logistic-regression baselines on the same split.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import type { ModelManifest } from '../../inference/model-manifest.types';
import { CliError } from '../../common/cli-error';
import { ModelLoadError, StudentModel } from '../../inference/student-model';
import type { SplitName } from '../../training/dataset.schema';
import {
  evaluateStudent, evaluationJson, evaluationSamples, formatEvaluationTable, loadEvaluationDataset, recordMetricsInManifest, VocabularyMismatchError,
  type EvaluateOptions, type EvaluationResult,
} from '../../training/evaluate';
import { predictTeacherHead } from '../../teacher/teacher-evaluation';
import { DEFAULT_ROUNDS } from '../../training/metrics';
import { explainSamples, formatExplanations } from '../../training/explain';
import { Terminology } from '../../terminology/terminology';
import { ProgressReporter } from '../progress';
import { addCrossValidationOptions, printCrossValidation, runCrossValidation, type CvCommandOptions } from './cv.command';
import { crossValidationPlotData, evaluationPlotData } from '../../training/plot-data';
import { manifestCrossValidationBlock, recordCrossValidationInManifest } from '../../training/cross-validation.report';
import { renderPlots } from '../../training/plots';
import { integerOption, seedOption } from '../integer-option';

export interface EvaluateCommandOptions extends Omit<CvCommandOptions, 'folds'> {
  model?: string;
  folds?: number;
  plots?: string;
  recordCv?: string;
  dataset: string;
  split: SplitName;
  json?: boolean;
  rounds: number;
  seed: number;
  compare?: string[];
  teacher?: string;
  teacherFeatures?: string;
  recordMetrics?: boolean;
  /** Occlusion evidence for the first N samples of the split (`true`: 3). */
  explain?: number | true;
}

async function loadModel(dir: string): Promise<StudentModel> {
  try {
    return await StudentModel.load(dir);
  } catch (e) {
    if (e instanceof ModelLoadError) throw new CliError(`model ${dir}: ${e.message}`);
    throw e;
  }
}

async function recipeOf(modelDir: string): Promise<string[]> {
  const file = path.join(modelDir, 'manifest.json');
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(await fs.readFile(file, 'utf8')) as ModelManifest;
  } catch (e) {
    throw new CliError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'not valid JSON'} (--model with --folds reads its training recipe)`);
  }
  const recipe = manifest.training?.recipe;
  if (!Array.isArray(recipe) || recipe.some((x) => typeof x !== 'string')) throw new CliError(`${file}: no training.recipe (trained before recipes were recorded; pass the trainer flags after \`--\` instead of --model)`);
  return recipe;
}

/** `--folds K`: cross-validation (cv.command) instead of one model on one split; `--plots` draws its figures. */
async function runFoldsCommand(opts: EvaluateCommandOptions & { folds: number }, trainerArgs: string[]): Promise<void> {
  const run = await runCrossValidation({ ...opts, folds: opts.folds }, trainerArgs);
  printCrossValidation(run, !!opts.json);
  if (opts.plots) await writePlots(opts, await crossValidationPlotData(run));
  if (opts.recordCv) {
    const file = await recordCrossValidationInManifest(opts.recordCv, manifestCrossValidationBlock(run.result, run.learningCurve))
      .catch((e: Error) => { throw new CliError(`--record-cv ${opts.recordCv}: ${e.message.split('\n')[0]}`); });
    new ProgressReporter(process.stderr, !!opts.quiet).info(`wrote the crossValidation block to ${file}`);
  }
}

async function writePlots(opts: EvaluateCommandOptions, data: Parameters<typeof renderPlots>[0]): Promise<void> {
  const progress = new ProgressReporter(process.stderr, !!opts.quiet);
  try {
    const files = await renderPlots(data, opts.plots!);
    progress.info(`wrote ${files.length} files to ${opts.plots}: ${files.map((f) => f.split('/').pop()).join(', ')}`);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

export async function runEvaluateCommand(opts: EvaluateCommandOptions, trainerArgs: string[] = []): Promise<EvaluationResult | undefined> {
  if (opts.folds !== undefined) {
    // --model with --folds: cross-validate the recipe that built that model (its manifest's training.recipe).
    if (opts.model) trainerArgs = [...(await recipeOf(opts.model)), ...trainerArgs];
    if (opts.recordMetrics) throw new CliError('--record-metrics records a single-split evaluation; with --folds use --record-cv MODEL_DIR');
    await runFoldsCommand({ ...opts, folds: opts.folds }, trainerArgs);
    return undefined;
  }
  if (!opts.model) throw new CliError('--model is required (or --folds K to cross-validate)');
  if (opts.recordCv) throw new CliError('--record-cv needs --folds K');
  if (trainerArgs.length) throw new CliError(`trainer flags (${trainerArgs.join(' ')}) only apply with --folds`);
  const progress = new ProgressReporter(process.stderr, !!opts.json && !process.stderr.isTTY);
  const model = await loadModel(opts.model);
  const compare: StudentModel[] = [];
  try {
    for (const dir of opts.compare ?? []) compare.push(await loadModel(dir));
    const dataset = await loadEvaluationDataset(opts.dataset);
    progress.info(`evaluating ${model.manifest.name} on split ${opts.split} of ${opts.dataset} (${evaluationSamples(dataset, opts.split).length} samples)`);
    if (!!opts.teacher !== !!opts.teacherFeatures) throw new CliError('--teacher and --teacher-features go together (teacher head folder + `leader teacher` features)');
    let teacher: EvaluateOptions['teacher'];
    if (opts.teacher && opts.teacherFeatures) {
      const t = await predictTeacherHead(opts.teacher, opts.teacherFeatures, evaluationSamples(dataset, opts.split).map((s) => s.id));
      if (t.manifest.vocabHash !== dataset.manifest.vocabHash) throw new CliError(`teacher head ${opts.teacher} was trained on vocab ${t.manifest.vocabHash.slice(0, 16)}, dataset ${opts.dataset} has ${dataset.manifest.vocabHash.slice(0, 16)}`);
      teacher = { name: `${t.manifest.teacher.backend}:${t.manifest.teacher.model.split('/').pop()}`, probs: t.probs, threshold: t.threshold };
    }
    let result: EvaluationResult;
    try {
      result = await evaluateStudent(model, dataset, {
        split: opts.split, compare, rounds: { ...DEFAULT_ROUNDS, rounds: opts.rounds, seed: opts.seed }, seed: opts.seed, teacher,
      });
    } catch (e) {
      if (e instanceof VocabularyMismatchError || e instanceof RangeError) throw new CliError(e.message);
      throw e;
    }
    const explainCount = opts.explain === true ? 3 : opts.explain;
    const explained = explainCount ? await explainSamples(model, dataset.samples.filter((s) => s.split === opts.split).slice(0, explainCount), await Terminology.load()) : undefined;
    process.stdout.write(opts.json
      ? `${JSON.stringify({ ...evaluationJson(result), ...(explained ? { explanations: explained } : {}) }, null, 2)}\n`
      : `${formatEvaluationTable(result)}\n${explained ? `${formatExplanations(explained)}\n` : ''}`);
    if (opts.recordMetrics) progress.info(`wrote the metrics block (student + baselines, split ${opts.split}) to ${await recordMetricsInManifest(opts.model, result)}`);
    if (opts.plots) await writePlots(opts, evaluationPlotData(result, model.manifest));
    return result;
  } finally {
    await model.release();
    for (const m of compare) await m.release();
  }
}

export function register(program: Command): void {
  addCrossValidationOptions(program
    .command('evaluate')
    .description('Evaluate a student model through onnxruntime-node with LEADER metrics, next to baselines on the same split; --folds K cross-validates')
    .option('--model <dir>', 'model folder (manifest.json, model.onnx, vocab.json, ddi.json); with --folds: cross-validate its training recipe')
    .option('--folds <k>', 'K-fold cross-validation by patient (as `leader cv`): a student per fold, trainer flags after `--`', integerOption('--folds', 2))
    .option('--record-cv <modelDir>', "with --folds: write the cross-validation summary into that model's manifest.json (crossValidation block)")
    .option('--plots <dir>', 'write PR curves, reliability diagram, training curves (and, with --folds --learning-curve, the learning curve) as SVG'), false)
    .requiredOption('--dataset <dir>', 'dataset folder written by `leader dataset` with the same vocabulary')
    .option('--split <name>', 'split to evaluate: train, val or test', (v: string) => {
      if (v !== 'train' && v !== 'val' && v !== 'test') throw new CliError(`--split must be train, val or test (got "${v}")`);
      return v as SplitName;
    }, 'test')
    .option('--json', 'print one JSON object (metrics, metrics_std, groups, baselines, ...) instead of a table')
    .option('--rounds <n>', 'subsampling rounds (80 % without replacement)', integerOption('--rounds'), DEFAULT_ROUNDS.rounds)
    .option('--seed <n>', 'seed of the subsampling rounds and the logistic-regression baseline', seedOption, DEFAULT_ROUNDS.seed)
    .option('--explain [n]', 'also print occlusion evidence (top 3 inputs per likely class) for the first n samples of the split (default 3)', integerOption('--explain'))
    .option('--record-metrics', "write these metrics and the baselines' into the model's manifest.json (metrics block)")
    .option('--compare <dirs...>', 'more model folders evaluated on the same split (e.g. KD vs no-KD), as extra rows')
    .option('--teacher <dir>', 'teacher head folder (python3 -m trainer.leader_trainer.teacher_head) shown as a teacher row, p > 0.5')
    .option('--teacher-features <file>', '`leader teacher` features the teacher head reads')
    .argument('[trainerArgs...]', 'with --folds: student trainer flags after `--`')
    .action(async (trainerArgs: string[], opts: EvaluateCommandOptions) => {
      await runEvaluateCommand(opts, trainerArgs);
    });
}
