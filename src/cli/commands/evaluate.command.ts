/**
 * `leader evaluate`: the student through onnxruntime-node (exactly what the service runs) on a
 * dataset split, with LEADER's metrics (10 × 80 % rounds, single/multi-visit groups) next to the
 * most-frequent-k, co-occurrence and logistic-regression baselines on the same split.
 */
import { Command } from 'commander';
import { CliError } from '../../common/cli-error';
import { ModelLoadError, StudentModel } from '../../inference/student-model';
import type { SplitName } from '../../training/dataset.schema';
import {
  evaluateStudent, evaluationJson, formatEvaluationTable, loadEvaluationDataset, recordMetricsInManifest, VocabularyMismatchError,
  type EvaluateOptions, type EvaluationResult,
} from '../../training/evaluate';
import { predictTeacherHead } from '../../teacher/teacher-evaluation';
import { DEFAULT_ROUNDS } from '../../training/metrics';
import { ProgressReporter } from '../progress';
import { integerOption, seedOption } from '../integer-option';

export interface EvaluateCommandOptions {
  model: string;
  dataset: string;
  split: SplitName;
  json?: boolean;
  rounds: number;
  seed: number;
  compare?: string[];
  teacher?: string;
  teacherFeatures?: string;
  recordMetrics?: boolean;
}

async function loadModel(dir: string): Promise<StudentModel> {
  try {
    return await StudentModel.load(dir);
  } catch (e) {
    if (e instanceof ModelLoadError) throw new CliError(`model ${dir}: ${e.message}`);
    throw e;
  }
}

export async function runEvaluateCommand(opts: EvaluateCommandOptions): Promise<EvaluationResult> {
  const progress = new ProgressReporter(process.stderr, !!opts.json && !process.stderr.isTTY);
  const model = await loadModel(opts.model);
  const compare: StudentModel[] = [];
  try {
    for (const dir of opts.compare ?? []) compare.push(await loadModel(dir));
    const dataset = await loadEvaluationDataset(opts.dataset);
    progress.info(`evaluating ${model.manifest.name} on split ${opts.split} of ${opts.dataset} (${dataset.samples.filter((s) => s.split === opts.split).length} samples)`);
    if (!!opts.teacher !== !!opts.teacherFeatures) throw new CliError('--teacher and --teacher-features go together (teacher head folder + `leader teacher` features)');
    let teacher: EvaluateOptions['teacher'];
    if (opts.teacher && opts.teacherFeatures) {
      const t = await predictTeacherHead(opts.teacher, opts.teacherFeatures, dataset.samples.filter((s) => s.split === opts.split).map((s) => s.id));
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
    process.stdout.write(opts.json ? `${JSON.stringify(evaluationJson(result), null, 2)}\n` : `${formatEvaluationTable(result)}\n`);
    if (opts.recordMetrics) progress.info(`wrote the metrics block (student + baselines, split ${opts.split}) to ${await recordMetricsInManifest(opts.model, result)}`);
    return result;
  } finally {
    await model.release();
    for (const m of compare) await m.release();
  }
}

export function register(program: Command): void {
  program
    .command('evaluate')
    .description('Evaluate a student model through onnxruntime-node with LEADER metrics, next to baselines on the same split')
    .requiredOption('--model <dir>', 'model folder (manifest.json, model.onnx, vocab.json, ddi.json)')
    .requiredOption('--dataset <dir>', 'dataset folder written by `leader dataset` with the same vocabulary')
    .option('--split <name>', 'split to evaluate: train, val or test', (v: string) => {
      if (v !== 'train' && v !== 'val' && v !== 'test') throw new CliError(`--split must be train, val or test (got "${v}")`);
      return v as SplitName;
    }, 'test')
    .option('--json', 'print one JSON object (metrics, metrics_std, groups, baselines, ...) instead of a table')
    .option('--rounds <n>', 'subsampling rounds (80 % without replacement)', integerOption('--rounds'), DEFAULT_ROUNDS.rounds)
    .option('--seed <n>', 'seed of the subsampling rounds and the logistic-regression baseline', seedOption, DEFAULT_ROUNDS.seed)
    .option('--record-metrics', "write these metrics and the baselines' into the model's manifest.json (metrics block)")
    .option('--compare <dirs...>', 'more model folders evaluated on the same split (e.g. KD vs no-KD), as extra rows')
    .option('--teacher <dir>', 'teacher head folder (python3 -m trainer.leader_trainer.teacher_head) shown as a teacher row, p > 0.5')
    .option('--teacher-features <file>', '`leader teacher` features the teacher head reads')
    .action(async (opts: EvaluateCommandOptions) => {
      await runEvaluateCommand(opts);
    });
}
