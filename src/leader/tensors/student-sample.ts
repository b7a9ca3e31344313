import type { PatientTimeline, TimelineVisit } from '../../timeline/timeline.types';
import { DEFAULT_MAX_VISITS, PROFILE_FIELDS, type ProfileField, type StudentSample } from './student-input.types';
import type { Vocabulary } from './vocabulary';

/** Age buckets of the `ageGroup` profile field (age in whole years at the target visit). */
export const AGE_GROUPS = ['<18', '18-29', '30-39', '40-49', '50-59', '60-69', '70-79', '80-89', '90+'] as const;

/** A visit LEADER keeps: ≥1 diagnosis, procedure or ATC3-mapped medication (its inner join keeps only coded visits). */
export function hasStudentCodes(visit: TimelineVisit): boolean {
  return visit.diagnoses.length > 0 || visit.procedures.length > 0 || visit.medications.some((m) => m.atc3.length > 0);
}

/**
 * The timeline as the student and the prompt see it: visits without codes removed, except the
 * target visit (at order entry it may have nothing coded yet). The dataset builder and the CDS
 * Hooks service both call this, so training and serving see the same visit window.
 */
export function withCodedVisits(timeline: PatientTimeline, targetVisitIndex: number): { timeline: PatientTimeline; targetVisitIndex: number } {
  const visits: TimelineVisit[] = [];
  let target = -1;
  timeline.visits.forEach((visit, i) => {
    if (i === targetVisitIndex) target = visits.length;
    if (i === targetVisitIndex || hasStudentCodes(visit)) visits.push(visit);
  });
  return { timeline: { ...timeline, visits }, targetVisitIndex: target };
}

export function ageGroupOf(ageYears: number | undefined): string | undefined {
  if (ageYears === undefined || !Number.isFinite(ageYears) || ageYears < 0) return undefined;
  if (ageYears < 18) return '<18';
  if (ageYears < 30) return '18-29';
  if (ageYears >= 90) return '90+';
  const decade = Math.floor(ageYears / 10) * 10;
  return `${decade}-${decade + 9}`;
}

/**
 * One spelling per profile value across sources: trimmed, inner whitespace collapsed, lower case
 * (MIMIC writes `MEDICARE`, Synthea `Medicare`). Empty → undefined (the `<unk>` id).
 */
export function normaliseProfileValue(value: string | undefined): string | undefined {
  const normalised = value?.trim().replace(/\s+/g, ' ').toLowerCase();
  return normalised ? normalised : undefined;
}

/**
 * Profile values of the sample whose target is `timeline.visits[targetVisitIndex]`, per PROFILE_FIELDS:
 * gender; ageGroup and admissionType of the target visit; insurance, language, maritalStatus of the
 * target visit's admission, else the patient's (LEADER took them from the patient's first admission;
 * the target's own admission is what serving sees too); race (race, or the ethnicity text when race
 * is absent, as MIMIC-IV's `race` column mixes both).
 */
export function profileValuesOf(timeline: PatientTimeline, targetVisitIndex: number): Record<ProfileField, string | undefined> {
  const target = visitAt(timeline, targetVisitIndex, 'profileValuesOf');
  const p = timeline.profile;
  return {
    gender: normaliseProfileValue(p.gender),
    ageGroup: ageGroupOf(target.ageYears),
    admissionType: normaliseProfileValue(target.admissionType),
    insurance: normaliseProfileValue(target.insurance) ?? normaliseProfileValue(p.insurance),
    language: normaliseProfileValue(target.language) ?? normaliseProfileValue(p.language),
    maritalStatus: normaliseProfileValue(target.maritalStatus) ?? normaliseProfileValue(p.maritalStatus),
    race: normaliseProfileValue(p.race) ?? normaliseProfileValue(p.ethnicity),
  };
}

/** First visit index of the student window: the LAST `maxVisits` visits ending at the target (leader.md §7.6). */
export function studentWindowStart(targetVisitIndex: number, maxVisits: number): number {
  return Math.max(0, targetVisitIndex - maxVisits + 1);
}

/** Codes left out of a student sample because the training vocabulary does not have them. */
export interface DroppedCodeCounts {
  diagnosis: number;
  procedure: number;
  /** History medication classes outside the label space. */
  medication: number;
}

export function emptyDroppedCodeCounts(): DroppedCodeCounts {
  return { diagnosis: 0, procedure: 0, medication: 0 };
}

/**
 * Student inputs for the target visit `targetVisitIndex` (student-input.types.ts): the last
 * `maxVisits` visits ending at the target; diagnosis / procedure token ids per visit (unique,
 * first-seen order; codes not in the vocabulary dropped and counted in `dropped`); the shifted
 * medication history (med[0] = [], med[v] = medication token ids of window visit v-1, so the target
 * visit's medications never appear); profile ids per PROFILE_FIELDS (0 = unknown).
 */
export function buildStudentSample(
  timeline: PatientTimeline,
  targetVisitIndex: number,
  vocab: Vocabulary,
  maxVisits: number = DEFAULT_MAX_VISITS,
  dropped?: DroppedCodeCounts,
): StudentSample {
  visitAt(timeline, targetVisitIndex, 'buildStudentSample');
  if (!Number.isInteger(maxVisits) || maxVisits < 1) throw new RangeError(`buildStudentSample: maxVisits must be a positive integer, got ${maxVisits}`);
  const counts = dropped ?? emptyDroppedCodeCounts();
  const window = timeline.visits.slice(studentWindowStart(targetVisitIndex, maxVisits), targetVisitIndex + 1);
  const diag = window.map((v) => uniqueIds(v.diagnoses.map((c) => vocab.tokenId(c.token)), () => counts.diagnosis++));
  const proc = window.map((v) => uniqueIds(v.procedures.map((c) => vocab.tokenId(c.token)), () => counts.procedure++));
  const med = window.map((_, v) => (v === 0 ? [] : medicationTokenIds(window[v - 1], vocab, counts)));
  const values = profileValuesOf(timeline, targetVisitIndex);
  const profile = PROFILE_FIELDS.map((field) => vocab.profileId(field, values[field]));
  return { diag, proc, med, profile };
}

/** Sorted label indices of the visit's ATC3 classes that are in the label space (the multi-hot target). */
export function labelsOf(visit: TimelineVisit, vocab: Vocabulary): number[] {
  const indices = new Set<number>();
  for (const medication of visit.medications) {
    for (const atc3 of medication.atc3) {
      const index = vocab.labelIndex(atc3);
      if (index !== undefined) indices.add(index);
    }
  }
  return [...indices].sort((a, b) => a - b);
}

function medicationTokenIds(visit: TimelineVisit, vocab: Vocabulary, counts: DroppedCodeCounts): number[] {
  const classes = [...new Set(visit.medications.flatMap((m) => m.atc3))];
  return uniqueIds(
    classes.map((atc3) => {
      const index = vocab.labelIndex(atc3);
      return index === undefined ? undefined : vocab.medicationTokenId(index);
    }),
    () => counts.medication++,
  );
}

/** Unique ids in first-seen order; each undefined (unknown) is reported once per occurrence. */
function uniqueIds(ids: Array<number | undefined>, onUnknown: () => void): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  for (const id of ids) {
    if (id === undefined) onUnknown();
    else if (!seen.has(id)) {
      seen.add(id);
      out.push(id);
    }
  }
  return out;
}

function visitAt(timeline: PatientTimeline, index: number, caller: string): TimelineVisit {
  if (!Number.isInteger(index) || index < 0 || index >= timeline.visits.length) {
    throw new RangeError(`${caller}: target visit ${index} outside 0..${timeline.visits.length - 1} of ${timeline.patientRef}`);
  }
  return timeline.visits[index];
}
