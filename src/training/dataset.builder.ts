import type { PatientTimeline, TimelineVisit } from '../timeline/timeline.types';
import type { TerminologyLookup } from '../terminology/terminology.types';
import { buildPrompt } from '../leader/prompt/prompt';
import { DEFAULT_MAX_VISITS } from '../leader/tensors/student-input.types';
import { buildStudentSample, emptyDroppedCodeCounts, hasStudentCodes, labelsOf } from '../leader/tensors/student-sample';
import { Vocabulary } from '../leader/tensors/vocabulary';
import { compareStrings } from '../common/compare-strings';
import type { DatasetDdi, DatasetManifest, DatasetSample, SplitName } from './dataset.schema';
import { SPLIT_NAMES, comparePatientIds, splitPatients } from './splits';

/**
 * LEADER's sample protocol (leader.md §1.5), pure: timelines in, samples + vocabulary + DDI out.
 *
 * 1. Visits without any diagnosis, procedure or ATC3-mapped medication are removed from the
 *    timeline first (LEADER's inner join keeps only visits that have codes; ours is looser: a visit
 *    needs one of the three, not all three). Prompt visit numbers and sample ids count the kept visits.
 * 2. A visit can be a target when it has ≥1 ATC3-mapped medication and ≥1 diagnosis or procedure,
 *    and at least `minVisits` kept visits end at it. Default: one sample per patient, the LAST such
 *    visit (later visits are dropped); `perVisit`: every such visit (SafeDrug style).
 * 3. Patients are split 8:1:1 (splits.ts); the vocabulary (tokens, ATC3 labels, profile values) is
 *    learnt from the train samples only, so val/test codes unseen in train drop out.
 * 4. Target ATC3 codes outside the label space are dropped; a sample left without a label is skipped.
 */
/** The options the manifest records, all of them set. */
export type DatasetBuildOptions = Required<DatasetManifest['options']>;

export const DEFAULT_DATASET_OPTIONS: DatasetBuildOptions = {
  perVisit: false,
  seed: 42,
  topMeds: null,
  promptMode: 'fixed',
  maxVisits: DEFAULT_MAX_VISITS,
  minVisits: 1,
  split: 'shuffle',
};

export type DatasetTerminology = Pick<TerminologyLookup, 'codeTitle' | 'atc3Name' | 'ddiPairs'>;

/** Why a patient yields no candidate sample. */
export type PatientSkipReason = 'no-visit-with-codes' | 'no-visit-with-medication' | 'no-medication-visit-with-diagnosis-or-procedure' | 'fewer-visits-than-min-visits';

export interface BuiltDataset {
  vocab: Vocabulary;
  ddi: DatasetDdi;
  /** In id order (comparePatientIds, then visit index). */
  samples: DatasetSample[];
  /** Sample ids per split, in id order. */
  splits: Record<SplitName, string[]>;
  counts: DatasetManifest['counts'];
}

export const DEFAULT_DDI_SOURCE = 'medrec-maps-gamenet/ddi_atc3_pairs.csv (GAMENet/SafeDrug TWOSIDES-derived ATC3 pairs)';

interface Candidate {
  patientId: string;
  /** The patient's kept visits, cut after the last target. */
  timeline: PatientTimeline;
  targets: number[];
}

/**
 * Collects patients one at a time (only the visits a sample needs are kept), then builds the dataset.
 * Usage: `add()` every timeline, then `build()` once.
 */
export class DatasetAssembler {
  private readonly candidates = new Map<string, Candidate>();
  private readonly skipped: Record<string, number> = {};
  private readonly dropped: Record<string, number> = {};
  private patientsSeen = 0;

  constructor(private readonly options: DatasetBuildOptions) {
    validateOptions(options);
  }

  /** Add one patient; returns the number of candidate samples it gave (0 when skipped). */
  add(timeline: PatientTimeline): number {
    this.patientsSeen++;
    const patientId = patientIdOf(timeline.patientRef);
    if (this.candidates.has(patientId)) throw new Error(`dataset: patient ${patientId} read twice from the source`);
    const visits = timeline.visits.filter(hasStudentCodes);
    this.count(this.dropped, 'visit-without-codes', timeline.visits.length - visits.length);
    const selection = selectTargets(visits, this.options);
    if (typeof selection === 'string') {
      this.count(this.skipped, selection);
      return 0;
    }
    const last = selection[selection.length - 1];
    this.count(this.dropped, 'visit-after-last-target', visits.length - last - 1);
    this.candidates.set(patientId, { patientId, timeline: { ...timeline, visits: visits.slice(0, last + 1) }, targets: selection });
    return selection.length;
  }

  get patientCount(): number {
    return this.patientsSeen;
  }

  /** Split, learn the vocabulary from train, and build every sample; `onSample` reports progress. */
  build(terminology: DatasetTerminology, onSample: () => void = () => {}, ddiSource = DEFAULT_DDI_SOURCE): BuiltDataset {
    const { maxVisits, topMeds, promptMode, seed, split } = this.options;
    const patientSplit = splitPatients([...this.candidates.keys()], { seed, strategy: split });
    const splitOf = new Map<string, SplitName>();
    for (const name of SPLIT_NAMES) for (const id of patientSplit[name]) splitOf.set(id, name);

    const trainEntries = patientSplit.train.flatMap((id) => {
      const c = this.candidates.get(id)!;
      return c.targets.map((targetVisitIndex) => ({ timeline: c.timeline, targetVisitIndex }));
    });
    const vocab = Vocabulary.build(trainEntries, { maxVisits, topMeds, atc3Name: (a) => terminology.atc3Name(a) });

    const codeDrops = emptyDroppedCodeCounts();
    const samples: DatasetSample[] = [];
    const names = { codeTitle: (t: string) => terminology.codeTitle(t), atc3Name: (a: string) => terminology.atc3Name(a) };
    const patientIds = [...this.candidates.keys()].sort(comparePatientIds);
    for (const patientId of patientIds) {
      const { timeline, targets } = this.candidates.get(patientId)!;
      for (const t of targets) {
        onSample();
        const target = timeline.visits[t];
        const labels = labelsOf(target, vocab);
        const targetClasses = uniqueClasses(target);
        this.count(this.dropped, 'target-label-outside-label-space', targetClasses.filter((a) => vocab.labelIndex(a) === undefined).length);
        if (labels.length === 0) {
          this.count(this.skipped, 'no-target-label-in-label-space');
          continue;
        }
        const student = buildStudentSample(timeline, t, vocab, maxVisits, codeDrops);
        this.count(this.dropped, 'visit-before-student-window', t + 1 - student.diag.length);
        samples.push({
          id: this.options.perVisit ? `${patientId}#${t}` : patientId,
          patientId,
          split: splitOf.get(patientId)!,
          visitCount: student.diag.length,
          prompt: buildPrompt(timeline, t, names, promptMode),
          labels,
          labelCodes: labels.map((i) => vocab.labels[i]),
          student,
        });
      }
    }
    this.count(this.dropped, 'diagnosis-token-not-in-vocabulary', codeDrops.diagnosis);
    this.count(this.dropped, 'procedure-token-not-in-vocabulary', codeDrops.procedure);
    this.count(this.dropped, 'history-medication-outside-label-space', codeDrops.medication);

    const splits: Record<SplitName, string[]> = { train: [], val: [], test: [] };
    for (const s of samples) splits[s.split].push(s.id);
    return {
      vocab,
      ddi: ddiOver(vocab, terminology.ddiPairs(), ddiSource),
      samples,
      splits,
      counts: {
        ...countsOf(samples, splits, vocab),
        skipped: sortedRecord(this.skipped),
        dropped: sortedRecord(this.dropped),
      },
    };
  }

  private count(record: Record<string, number>, key: string, by = 1): void {
    if (by > 0) record[key] = (record[key] ?? 0) + by;
  }
}

/** Target visit indices of a patient's kept visits, or why there is none. */
export function selectTargets(visits: readonly TimelineVisit[], options: Pick<DatasetBuildOptions, 'perVisit' | 'minVisits'>): number[] | PatientSkipReason {
  if (visits.length === 0) return 'no-visit-with-codes';
  const withMedication = visits.map((v, i) => (uniqueClasses(v).length > 0 ? i : -1)).filter((i) => i >= 0);
  if (withMedication.length === 0) return 'no-visit-with-medication';
  const eligible = withMedication.filter((i) => visits[i].diagnoses.length + visits[i].procedures.length > 0);
  if (eligible.length === 0) return 'no-medication-visit-with-diagnosis-or-procedure';
  const longEnough = eligible.filter((i) => i + 1 >= options.minVisits);
  if (longEnough.length === 0) return 'fewer-visits-than-min-visits';
  return options.perVisit ? longEnough : [longEnough[longEnough.length - 1]];
}

/** The DDI pairs among the label space, as sorted label-index pairs [i, j] with i < j. */
export function ddiOver(vocab: Vocabulary, pairs: ReadonlyArray<readonly [string, string]>, source: string): DatasetDdi {
  const seen = new Set<string>();
  const out: [number, number][] = [];
  for (const [a, b] of pairs) {
    const i = vocab.labelIndex(a);
    const j = vocab.labelIndex(b);
    if (i === undefined || j === undefined || i === j) continue;
    const pair: [number, number] = i < j ? [i, j] : [j, i];
    const key = `${pair[0]},${pair[1]}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(pair);
  }
  out.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  return { labels: [...vocab.labels], pairs: out, source };
}

/** `Patient/123` → `123`. */
export function patientIdOf(patientRef: string): string {
  return patientRef.startsWith('Patient/') ? patientRef.slice('Patient/'.length) : patientRef;
}


function uniqueClasses(visit: TimelineVisit): string[] {
  return [...new Set(visit.medications.flatMap((m) => m.atc3))];
}

/** The counts a manifest records that follow from the samples, splits and vocabulary (the reader checks them). */
export function countsOf(
  samples: readonly DatasetSample[], splits: Record<SplitName, readonly string[]>, vocab: { labels: readonly string[]; tokens: readonly string[] },
): Omit<DatasetManifest['counts'], 'skipped' | 'dropped'> {
  return {
    patients: new Set(samples.map((s) => s.patientId)).size,
    samples: samples.length,
    train: splits.train.length,
    val: splits.val.length,
    test: splits.test.length,
    labels: vocab.labels.length,
    tokens: vocab.tokens.length,
  };
}

function sortedRecord(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(record).sort(compareStrings).map((k) => [k, record[k]]));
}

function validateOptions(o: DatasetBuildOptions): void {
  const positive = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  };
  positive('maxVisits', o.maxVisits);
  positive('minVisits', o.minVisits);
  if (o.topMeds !== null) positive('topMeds', o.topMeds);
  if (!Number.isInteger(o.seed)) throw new RangeError(`seed must be an integer, got ${o.seed}`);
  if (o.promptMode !== 'fixed' && o.promptMode !== 'faithful') throw new RangeError(`unknown prompt mode '${String(o.promptMode)}'`);
}
