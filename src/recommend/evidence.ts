import { PROFILE_FIELDS, type StudentSample } from '../leader/tensors/student-input.types';
import { UNKNOWN_PROFILE_VALUE, type Vocabulary } from '../leader/tensors/vocabulary';
import type { EvidenceItem, EvidenceKind } from './recommendation.types';
import { whoCase } from './who-names';

/** One occluded input: what was removed from the sample to make a variant. */
export interface OccludedInput {
  kind: EvidenceKind;
  /** Vocabulary id removed (every visit of the window); -1 for the profile. */
  id: number;
}

/** Inputs occluded per sample at most (each is one more row in the batch): bounds the evidence cost for long histories. */
export const DEFAULT_MAX_OCCLUSIONS = 48;

/**
 * The occlusion variants of one student sample: for each distinct diagnosis, procedure and past
 * medication class id, the sample with that id removed from every visit of the window; and the
 * sample with the whole profile unknown (all 0). Run `[sample, ...variants]` as one batch. With
 * more than `maxInputs` inputs, the profile and the most recent ones are kept (an input's recency is
 * the last window visit it appears in; ties: diagnoses, procedures, medications, then by id).
 */
export function occlusionVariants(sample: StudentSample, maxInputs = DEFAULT_MAX_OCCLUSIONS): { inputs: OccludedInput[]; variants: StudentSample[]; total: number } {
  const candidates: (OccludedInput & { field?: 'diag' | 'proc' | 'med'; last: number })[] = [];
  if (sample.profile.some((p) => p !== 0)) candidates.push({ kind: 'profile', id: -1, last: Infinity });
  const sets: [EvidenceKind, 'diag' | 'proc' | 'med'][] = [['diagnosis', 'diag'], ['procedure', 'proc'], ['medication', 'med']];
  const order = (k: EvidenceKind) => ['profile', 'diagnosis', 'procedure', 'medication'].indexOf(k);
  for (const [kind, field] of sets) {
    const last = new Map<number, number>();
    sample[field].forEach((visit, v) => { for (const id of visit) last.set(id, v); });
    for (const [id, v] of last) candidates.push({ kind, id, field, last: v });
  }
  candidates.sort((a, b) => b.last - a.last || order(a.kind) - order(b.kind) || a.id - b.id);
  const kept = candidates.slice(0, Math.max(0, maxInputs));
  const inputs: OccludedInput[] = [];
  const variants: StudentSample[] = [];
  for (const c of kept) {
    inputs.push({ kind: c.kind, id: c.id });
    variants.push(c.field
      ? { ...sample, [c.field]: sample[c.field].map((visit) => visit.filter((x) => x !== c.id)) }
      : { ...sample, profile: sample.profile.map(() => 0) });
  }
  return { inputs, variants, total: candidates.length };
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

/**
 * Token and readable name of an occluded input: a diagnosis or procedure by its title and code, a
 * past medication class by its WHO name ("Earlier …"), the profile by its values.
 */
export function describeOccludedInput(
  input: OccludedInput, sample: StudentSample, vocab: Vocabulary,
  names: { codeTitle(token: string): string | undefined; atc3Name(atc3: string): string | undefined },
): { token: string; name: string } {
  if (input.kind === 'profile') {
    const values = PROFILE_FIELDS.map((field, f) => vocab.profileValues(field)[sample.profile[f]]).filter((v) => v && v !== UNKNOWN_PROFILE_VALUE);
    return { token: 'profile', name: `Patient profile (${values.join(', ') || 'unknown'})` };
  }
  const token = vocab.tokens[input.id] ?? `id:${input.id}`;
  if (input.kind === 'medication') {
    const atc3 = token.replace(/^atc3:/, '');
    const name = whoCase(vocab.labelNames[atc3] ?? names.atc3Name(atc3));
    return { token, name: `Earlier ${name ? `${name} (${atc3})` : `ATC ${atc3}`}` };
  }
  const title = names.codeTitle(token);
  const code = token.replace(/^[a-z0-9]+:/, '');
  return { token, name: title ? `${title} (${code})` : token };
}
