import type { SplitName } from './dataset.schema';
import { mulberry32 } from '../common/random';
import { compareStrings } from '../common/compare-strings';

/**
 * Patient-level train/val/test split, 8:1:1 (LEADER: `int(0.8N)` train, `int(0.1N)` val, the rest test;
 * leader.md §1.5). Every sample of a patient lands in the patient's split, so no patient leaks across.
 *
 * - 'shuffle' (default): patient ids sorted (comparePatientIds), then a Fisher–Yates shuffle driven by
 *   mulberry32(seed). Same ids + same seed → same split, on every machine.
 * - 'sequential': LEADER's own protocol, sorted ids cut in order without shuffling (the released code
 *   sorts by SUBJECT_ID and never shuffles). Use it for parity runs.
 */
export type SplitStrategy = 'shuffle' | 'sequential';
export const SPLIT_STRATEGIES: readonly SplitStrategy[] = ['shuffle', 'sequential'];
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'val', 'test'];


const DIGITS = /^\d+$/;

/** Patient id order: numeric when both ids are digit strings (MIMIC subject ids), else code-point order. */
export function comparePatientIds(a: string, b: string): number {
  if (DIGITS.test(a) && DIGITS.test(b)) {
    const byNumber = a.length - b.length || compareStrings(a, b);
    if (byNumber !== 0) return byNumber > 0 ? 1 : -1;
  }
  return compareStrings(a, b);
}

export interface SplitOptions {
  seed: number;
  strategy: SplitStrategy;
}

/** Assign each patient to train / val / test (ids in each list in comparePatientIds order). */
export function splitPatients(patientIds: readonly string[], options: SplitOptions): Record<SplitName, string[]> {
  if (!SPLIT_STRATEGIES.includes(options.strategy)) throw new RangeError(`unknown split strategy '${options.strategy}'`);
  if (!Number.isInteger(options.seed)) throw new RangeError(`split seed must be an integer, got ${options.seed}`);
  const ordered = [...new Set(patientIds)].sort(comparePatientIds);
  if (options.strategy === 'shuffle') {
    const random = mulberry32(options.seed);
    for (let i = ordered.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [ordered[i], ordered[j]] = [ordered[j], ordered[i]];
    }
  }
  const n = ordered.length;
  const nTrain = Math.floor(0.8 * n);
  const nVal = Math.floor(0.1 * n);
  const bySplit = {
    train: ordered.slice(0, nTrain),
    val: ordered.slice(nTrain, nTrain + nVal),
    test: ordered.slice(nTrain + nVal),
  };
  for (const name of SPLIT_NAMES) bySplit[name].sort(comparePatientIds);
  return bySplit;
}

/**
 * Each patient's last-visit sample, in input order: how a val or test split is evaluated (LEADER
 * predicts the last visit; `--per-visit` datasets hold one sample per visit, for training). Samples
 * without a `#<visit>` suffix are one per patient already. Same rule as the trainer's
 * dataset.last_visit_samples.
 */
export function lastVisitSamples<T extends { id: string; patientId: string }>(samples: readonly T[]): T[] {
  const last = new Map<string, T>();
  for (const s of samples) {
    const prev = last.get(s.patientId);
    if (!prev || visitIndexOfId(prev.id) < visitIndexOfId(s.id)) last.set(s.patientId, s);
  }
  const keep = new Set(last.values());
  return samples.filter((s) => keep.has(s));
}

/** The visit index of a sample id `<patientId>#<visit>` (0 for a one-sample-per-patient id). */
export function visitIndexOfId(id: string): number {
  const m = /#(\d+)$/.exec(id);
  return m ? Number(m[1]) : 0;
}
