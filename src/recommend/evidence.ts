import type { StudentSample } from '../leader/tensors/student-input.types';
import type { EvidenceItem, EvidenceKind } from './recommendation.types';

/** One occluded input: what was removed from the sample to make a variant. */
export interface OccludedInput {
  kind: EvidenceKind;
  /** Vocabulary id removed (every visit of the window); -1 for the profile. */
  id: number;
}

/**
 * The occlusion variants of one student sample: for each distinct diagnosis, procedure and past
 * medication class id, the sample with that id removed from every visit of the window; and the
 * sample with the whole profile unknown (all 0). Run `[sample, ...variants]` as one batch.
 */
export function occlusionVariants(sample: StudentSample): { inputs: OccludedInput[]; variants: StudentSample[] } {
  const inputs: OccludedInput[] = [];
  const variants: StudentSample[] = [];
  const sets: [EvidenceKind, 'diag' | 'proc' | 'med'][] = [['diagnosis', 'diag'], ['procedure', 'proc'], ['medication', 'med']];
  for (const [kind, field] of sets) {
    const ids = [...new Set(sample[field].flat())].sort((a, b) => a - b);
    for (const id of ids) {
      inputs.push({ kind, id });
      variants.push({ ...sample, [field]: sample[field].map((visit) => visit.filter((x) => x !== id)) });
    }
  }
  if (sample.profile.some((p) => p !== 0)) {
    inputs.push({ kind: 'profile', id: -1 });
    variants.push({ ...sample, profile: sample.profile.map(() => 0) });
  }
  return { inputs, variants };
}

/**
 * Top `top` inputs for label `label` by |effect|, effect = p(sample) − p(variant without the input):
 * positive when the input raised the probability. `probs` is the batch output [1 + variants, labels]
 * of `[sample, ...variants]`. Ties: larger positive effect first, then token. Inputs whose removal
 * changes nothing (|effect| < 1e-4) are left out.
 */
export function evidenceFor(
  probs: ArrayLike<number>, labels: number, label: number, inputs: readonly OccludedInput[],
  describe: (input: OccludedInput) => { token: string; name: string }, top = 3,
): EvidenceItem[] {
  const base = probs[label];
  const items: EvidenceItem[] = [];
  inputs.forEach((input, i) => {
    const effect = base - probs[(i + 1) * labels + label];
    if (Math.abs(effect) < 1e-4) return;
    items.push({ kind: input.kind, ...describe(input), effect });
  });
  items.sort((a, b) => Math.abs(b.effect) - Math.abs(a.effect) || b.effect - a.effect || a.token.localeCompare(b.token));
  return items.slice(0, top);
}
