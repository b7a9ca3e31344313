import type { PatientTimeline, TimelineCode, TimelineVisit } from '../../timeline/timeline.types';

/**
 * Teacher prompt text, LEADER's template (leader.md §2):
 *
 *   "The patient has <N> times ICU visits. \n " + <history> +
 *   " In this visit, he has diagnosis: <DX>; procedures: <PX>." + " Then, the patient should be prescribed: "
 *
 * history = for each of the last ≤3 previous visits (oldest first, original 1-based number i):
 *   "In <i> visit, the patient had diagnosis: <DX>; procedures: <PX>. The patient was prescribed drugs: <MED>. \n"
 *
 * N = number of previous visits (not capped at 3). Lists are joined with ", ". The text ends with a space.
 * Medication text = WHO ATC3 class names (lower case) of the visit's orders, unique, first-seen order.
 *
 * Modes:
 * - 'faithful' reproduces the released pipeline for score parity:
 *   1. the `<DIGNOSIS>` typo: every history visit shows the CURRENT visit's diagnoses;
 *   2. "he" is hard-coded whatever the patient's gender;
 *   3. codes (and ATC3 classes) without a title are silently dropped from the text.
 * - 'fixed' (default of `leader dataset`) differs in exactly those three points:
 *   1. history visits show their own diagnoses;
 *   2. "the patient" instead of "he";
 *   3. a code without a title is shown as its bare code (an ATC3 class without a name as its ATC code),
 *      so the teacher still sees that something was recorded.
 */
export type PromptMode = 'fixed' | 'faithful';

export interface PromptNames {
  /** Title of a diagnosis / procedure token (`icd10cm:E11.9`), e.g. from Terminology.codeTitle. */
  codeTitle(token: string): string | undefined;
  /** WHO name of an ATC3 class, e.g. from Terminology.atc3Name. */
  atc3Name(atc3: string): string | undefined;
}

/** LEADER shows at most this many previous visits in the prompt. */
export const PROMPT_HISTORY_VISITS = 3;

/** The teacher prompt for `timeline.visits[targetVisitIndex]`, with the visits before it as history. */
export function buildPrompt(timeline: PatientTimeline, targetVisitIndex: number, names: PromptNames, mode: PromptMode): string {
  if (!Number.isInteger(targetVisitIndex) || targetVisitIndex < 0 || targetVisitIndex >= timeline.visits.length) {
    throw new RangeError(`buildPrompt: target visit ${targetVisitIndex} outside 0..${timeline.visits.length - 1} of ${timeline.patientRef}`);
  }
  if (mode !== 'fixed' && mode !== 'faithful') throw new RangeError(`buildPrompt: unknown prompt mode '${String(mode)}'`);
  const faithful = mode === 'faithful';
  const current = timeline.visits[targetVisitIndex];
  const currentDiagnoses = codeText(current.diagnoses, names, faithful);

  let history = '';
  for (let i = Math.max(0, targetVisitIndex - PROMPT_HISTORY_VISITS); i < targetVisitIndex; i++) {
    const visit = timeline.visits[i];
    const diagnoses = faithful ? currentDiagnoses : codeText(visit.diagnoses, names, faithful);
    history +=
      `In ${i + 1} visit, the patient had diagnosis: ${diagnoses}; procedures: ${codeText(visit.procedures, names, faithful)}.` +
      ` The patient was prescribed drugs: ${medicationText(visit, names, faithful)}. \n`;
  }
  const pronoun = faithful ? 'he' : 'the patient';
  return (
    `The patient has ${targetVisitIndex} times ICU visits. \n ` +
    history +
    ` In this visit, ${pronoun} has diagnosis: ${currentDiagnoses}; procedures: ${codeText(current.procedures, names, faithful)}.` +
    ' Then, the patient should be prescribed: '
  );
}

/** Titles of the codes (unique by token, first-seen order); the terminology's title wins over the coding's display. */
function codeText(codes: readonly TimelineCode[], names: PromptNames, faithful: boolean): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const code of codes) {
    if (seen.has(code.token)) continue;
    seen.add(code.token);
    const title = names.codeTitle(code.token) ?? nonEmpty(code.display);
    if (title !== undefined) parts.push(title);
    else if (!faithful) parts.push(code.code);
  }
  return parts.join(', ');
}

/** ATC3 class names of the visit's orders (lower case, unique by class, first-seen order). */
function medicationText(visit: TimelineVisit, names: PromptNames, faithful: boolean): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const medication of visit.medications) {
    for (const atc3 of medication.atc3) {
      if (seen.has(atc3)) continue;
      seen.add(atc3);
      const name = nonEmpty(names.atc3Name(atc3));
      if (name !== undefined) parts.push(name.toLowerCase());
      else if (!faithful) parts.push(atc3);
    }
  }
  return parts.join(', ');
}

function nonEmpty(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  return trimmed ? trimmed : undefined;
}
