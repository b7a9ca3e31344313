import type { CodeableConcept, Coding, Medication, MedicationRequest, Resource } from 'fhir/r4';
import type { TerminologyLookup } from '../../terminology/terminology.types';
import { flattenProduct, resolveMedication, type MedicationUse } from '../../terminology/medication-resolver';
import type { PatientTimeline, TimelineCode, TimelineMedication, TimelineVisit } from '../../timeline/timeline.types';
import type { CdsDraftOrders } from '../cds-hooks.types';

/** The visit the model predicts for, inside the timeline it is part of. */
export interface TargetVisit {
  timeline: PatientTimeline;
  index: number;
  /** True when the visit was appended (no encounter of the context in the data). */
  synthetic: boolean;
  /** ATC3 classes already ordered (not drafts) in the visit. */
  orderedAtc3: string[];
  /** ATC3 classes of the draft orders (context.draftOrders plus drafts already in the visit). */
  draftedAtc3: string[];
}

/** Draft MedicationRequests of context.draftOrders, classed to ATC3 through the terminology. */
export function draftMedications(
  draftOrders: CdsDraftOrders | undefined, knownMedications: Medication[], terminology: TerminologyLookup,
): { medications: TimelineMedication[]; reasons: TimelineCode[] } {
  const medications: TimelineMedication[] = [];
  const reasons: TimelineCode[] = [];
  const entries = Array.isArray(draftOrders?.entry) ? draftOrders!.entry : [];
  const bundled = new Map<string, Medication>();
  for (const m of knownMedications) if (m.id) bundled.set(`Medication/${m.id}`, m);
  for (const e of entries) if (e?.resource?.resourceType === 'Medication' && e.resource.id) bundled.set(`Medication/${e.resource.id}`, e.resource as Medication);
  for (const e of entries) {
    const r = e?.resource as Resource | undefined;
    if (r?.resourceType !== 'MedicationRequest') continue;
    const mr = r as MedicationRequest;
    const medication = medicationOf(mr, bundled);
    const codings = medication?.coding ?? [];
    const text = medication?.text ?? codings.find((c) => c.display)?.display;
    medications.push({
      requestRef: `MedicationRequest/${mr.id ?? 'draft'}`,
      atc3: codings.length > 0 || text ? terminology.medicationAtc3(codings, text) : [],
      ...(text ? { text } : {}),
      status: mr.status ?? 'draft',
    });
    // The Sandbox sends reasonCode as one CodeableConcept, R4 as an array: take both.
    for (const cc of asArray<CodeableConcept>(mr.reasonCode as unknown)) {
      for (const coding of asArray<Coding>(cc?.coding)) {
        const code = terminology.diagnosis(coding);
        if (code) {
          reasons.push(code);
          break;
        }
      }
    }
  }
  return { medications, reasons };
}

function medicationOf(mr: MedicationUse, bundled: Map<string, Medication>): CodeableConcept | undefined {
  // The one resolver; the flat codings carry a mix's parts and the draft's route for the classing.
  const resolved = resolveMedication(mr, (id) => bundled.get(`Medication/${id}`));
  if (!resolved.resolved) return undefined;
  const { codings } = flattenProduct(resolved);
  return { coding: codings, ...(resolved.display ? { text: resolved.display } : {}) };
}

function asArray<T>(v: unknown): T[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]) as T[];
}

/**
 * Picks the visit to predict: the context's encounter when the timeline has it (visits after it are
 * ignored by the student window), else a new "current" visit appended after the history: the order
 * entry visit, whose diagnoses are the draft orders' reasons. Drafts join the target visit as its
 * (draft) medications; they are the visit's label, never the model's input.
 */
export function targetVisitOf(
  timeline: PatientTimeline, encounterId: string | undefined, drafts: { medications: TimelineMedication[]; reasons: TimelineCode[] },
  birthDate: string | undefined, now: Date,
): TargetVisit {
  const ref = encounterId ? `Encounter/${encounterId}` : undefined;
  let index = ref ? timeline.visits.findIndex((v) => v.encounterRef === ref) : -1;
  let visits = timeline.visits;
  let synthetic = false;
  if (index >= 0) {
    const existing = timeline.visits[index];
    const known = new Set(existing.diagnoses.map((d) => d.token));
    const visit: TimelineVisit = {
      ...existing,
      diagnoses: [...existing.diagnoses, ...uniqueCodes(drafts.reasons).filter((d) => !known.has(d.token))],
      medications: [...existing.medications, ...drafts.medications],
    };
    visits = [...timeline.visits.slice(0, index), visit, ...timeline.visits.slice(index + 1)];
  } else {
    synthetic = true;
    const last = timeline.visits[timeline.visits.length - 1];
    const lastTime = last ? Date.parse(last.end ?? last.start ?? '') : NaN;
    // MIMIC dates are shifted into the future: never place the current visit before the history.
    const start = Number.isFinite(lastTime) && lastTime > now.getTime() ? new Date(lastTime) : now;
    const age = yearsBetween(birthDate, start) ?? last?.ageYears;
    const visit: TimelineVisit = {
      encounterRef: ref ?? 'current',
      start: start.toISOString(),
      ...(age !== undefined ? { ageYears: age } : {}),
      diagnoses: uniqueCodes(drafts.reasons),
      procedures: [],
      medications: drafts.medications,
    };
    visits = [...timeline.visits, visit];
    index = visits.length - 1;
  }
  const target = visits[index];
  const orderedAtc3 = new Set<string>();
  const draftedAtc3 = new Set<string>();
  for (const m of target.medications) for (const c of m.atc3) (m.status === 'draft' ? draftedAtc3 : orderedAtc3).add(c);
  return { timeline: { ...timeline, visits }, index, synthetic, orderedAtc3: [...orderedAtc3], draftedAtc3: [...draftedAtc3] };
}

function uniqueCodes(codes: TimelineCode[]): TimelineCode[] {
  const seen = new Set<string>();
  return codes.filter((c) => (seen.has(c.token) ? false : (seen.add(c.token), true)));
}

/** Whole years from birthDate to `at`; undefined when unknown or negative. */
export function yearsBetween(birthDate: string | undefined, at: Date): number | undefined {
  if (!birthDate) return undefined;
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = m[2] ? Number(m[2]) : 1;
  const d = m[3] ? Number(m[3]) : 1;
  let age = at.getUTCFullYear() - y;
  if (at.getUTCMonth() + 1 < mo || (at.getUTCMonth() + 1 === mo && at.getUTCDate() < d)) age--;
  return age >= 0 ? age : undefined;
}


/**
 * The medication concept of any MedicationRequest or MedicationStatement of the patient (inline,
 * contained, or a Medication of `knownMedications`), for the medication history the cards read.
 */
export function medicationConceptResolver(knownMedications: Medication[]): (use: MedicationUse) => CodeableConcept | undefined {
  const bundled = new Map<string, Medication>();
  for (const m of knownMedications) if (m.id) bundled.set(`Medication/${m.id}`, m);
  return (mr) => medicationOf(mr, bundled);
}
