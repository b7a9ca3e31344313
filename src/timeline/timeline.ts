import type { CodeableConcept, Coding, Condition, Encounter, Extension, Medication, MedicationRequest, Patient, Procedure } from 'fhir/r4';
import type { PatientResources } from '../fhir/fhir-source.types';
import { parseReference } from '../fhir/fhir-resource.utils';
import { EXTENSION, MIMIC_SYSTEM, SYSTEM } from '../terminology/code-systems';
import type { TerminologyLookup } from '../terminology/terminology.types';
import { flattenProduct, resolveMedication } from '../terminology/medication-resolver';
import type { PatientProfile, PatientTimeline, TimelineCode, TimelineMedication, TimelineVisit } from './timeline.types';

export interface BuildTimelineOptions {
  /**
   * Fold an Encounter whose `partOf` is another Encounter of the patient into that visit (MIMIC
   * ED and ICU stays are Encounters part of the hospital admission). Default true.
   */
  foldSubEncounters?: boolean;
}

/** Keys of `PatientTimeline.issues` (counts). `<kind>` is condition, procedure or medication. */
export const TIMELINE_ISSUE = {
  encounterSkippedStatus: 'encounter:skipped-status',
  encounterFolded: 'encounter:folded-into-parent',
  encounterNoStart: 'encounter:no-start',
  placedByEncounter: (kind: ResourceKind) => `${kind}:placed-by-encounter`,
  placedByDate: (kind: ResourceKind) => `${kind}:placed-by-date`,
  placedUnlinked: (kind: ResourceKind) => `${kind}:unlinked-visit`,
  encounterNotFound: (kind: ResourceKind) => `${kind}:encounter-not-found`,
  noDate: (kind: ResourceKind) => `${kind}:no-date`,
  skippedStatus: (kind: ResourceKind) => `${kind}:skipped-status`,
  conditionSkippedCategory: 'condition:skipped-category',
  conditionUnmapped: 'condition:unmapped',
  procedureUnmapped: 'procedure:unmapped',
  medicationUnresolved: 'medication:unresolved-reference',
  medicationUnmapped: 'medication:unmapped-atc3',
} as const;
export type ResourceKind = 'condition' | 'procedure' | 'medication';

/** The per-kind issue keys, spelled once (placement runs for every resource). */
const KIND_ISSUE: Record<ResourceKind, { byEncounter: string; byDate: string; unlinked: string; notFound: string; noDate: string }> = {
  condition: kindIssues('condition'),
  procedure: kindIssues('procedure'),
  medication: kindIssues('medication'),
};
function kindIssues(kind: ResourceKind) {
  return {
    byEncounter: TIMELINE_ISSUE.placedByEncounter(kind),
    byDate: TIMELINE_ISSUE.placedByDate(kind),
    unlinked: TIMELINE_ISSUE.placedUnlinked(kind),
    notFound: TIMELINE_ISSUE.encounterNotFound(kind),
    noDate: TIMELINE_ISSUE.noDate(kind),
  };
}

const SKIPPED_ENCOUNTER = new Set(['entered-in-error', 'cancelled']);
const SKIPPED_VERIFICATION = new Set(['entered-in-error', 'refuted']);
const KEPT_CONDITION_CATEGORY = new Set(['encounter-diagnosis', 'problem-list-item']);
const SKIPPED_PROCEDURE = new Set(['not-done', 'entered-in-error']);
const SKIPPED_REQUEST = new Set(['entered-in-error', 'cancelled']);

/** Coding systems in the order a diagnosis/procedure token is taken from (first that maps wins). */
const DIAGNOSIS_PREFERENCE = [SYSTEM.icd10cm, SYSTEM.icd9cm, MIMIC_SYSTEM.diagnosisIcd10, MIMIC_SYSTEM.diagnosisIcd9, SYSTEM.snomed];
const PROCEDURE_PREFERENCE = [SYSTEM.icd10pcs, SYSTEM.icd10pcsAlias, SYSTEM.icd9cm, MIMIC_SYSTEM.procedureIcd10, MIMIC_SYSTEM.procedureIcd9, SYSTEM.snomed];
/** MIMIC Medication identifiers that also work as codings (formulary code, drug name). */
const MIMIC_MEDICATION_IDENTIFIERS = new Set<string>([MIMIC_SYSTEM.medicationNdc, MIMIC_SYSTEM.medicationGsn, MIMIC_SYSTEM.medicationFormulary, MIMIC_SYSTEM.medicationName]);

/** Encounter.class (v3-ActCode) as readable admission type text. */
const ENCOUNTER_CLASS_TEXT: Record<string, string> = {
  EMER: 'emergency',
  AMB: 'ambulatory',
  IMP: 'inpatient',
  ACUTE: 'inpatient acute',
  NONAC: 'inpatient non-acute',
  OBSENC: 'observation',
  SS: 'short stay',
  PRENC: 'pre-admission',
  HH: 'home health',
  VR: 'virtual',
  FLD: 'field',
};

interface VisitSlot {
  visit: TimelineVisit;
  encounter?: Encounter;
  /** Time bounds for date placement (ms since epoch) and the same bounds as calendar days. */
  startMs: number;
  endMs: number;
  startDay: string;
  endDay: string;
  /** Sets that keep diagnosis/procedure tokens unique within the visit. */
  diagnosisTokens: Set<string>;
  procedureTokens: Set<string>;
}

/**
 * Builds a patient's timeline from FHIR R4 resources. Pure: no I/O, no clock; the same input
 * gives the same output. Visits are the patient's Encounters in period.start order (tie: id);
 * conditions, procedures and medication requests go to the visit their `encounter` references,
 * else to the visit whose period contains their date, else to a synthetic `unlinked:<date>`
 * visit. Every placement and every skipped or unmapped item is counted in `issues`.
 */
export function buildTimeline(resources: PatientResources, terminology: TerminologyLookup, opts: BuildTimelineOptions = {}): PatientTimeline {
  const issues: Record<string, number> = {};
  const count = (key: string) => {
    issues[key] = (issues[key] ?? 0) + 1;
  };
  const patient = resources.patient;
  const birthDate = patient.birthDate;

  // Visits from Encounters.
  const encounters = resources.encounters.filter((e) => {
    if (e.status && SKIPPED_ENCOUNTER.has(e.status)) {
      count(TIMELINE_ISSUE.encounterSkippedStatus);
      return false;
    }
    return true;
  });
  const byId = new Map<string, Encounter>();
  for (const e of encounters) if (e.id) byId.set(e.id, e);
  const parentOf = (e: Encounter): Encounter => {
    if (opts.foldSubEncounters === false) return e;
    const chain: Encounter[] = [e];
    let current = e;
    for (;;) {
      const ref = parseReference(current.partOf?.reference);
      const parent = ref && (ref.type ?? 'Encounter') === 'Encounter' ? byId.get(ref.id) : undefined;
      if (!parent) return current;
      const loop = chain.indexOf(parent);
      // A partOf cycle (bad data): its earliest member stands for all of it, so exactly one visit exists.
      if (loop >= 0) return chain.slice(loop).sort(compareEncounters)[0];
      chain.push(parent);
      current = parent;
    }
  };
  const slots: VisitSlot[] = [];
  const slotByEncounterId = new Map<string, VisitSlot>();
  const topLevel = encounters.filter((e) => parentOf(e) === e);
  topLevel.sort(compareEncounters);
  for (const e of topLevel) {
    if (!e.period?.start) count(TIMELINE_ISSUE.encounterNoStart);
    const slot = newSlot(encounterVisit(e, birthDate), e);
    slots.push(slot);
    if (e.id) slotByEncounterId.set(e.id, slot);
  }
  for (const e of encounters) {
    const top = parentOf(e);
    if (top !== e && e.id && top.id) {
      const slot = slotByEncounterId.get(top.id);
      if (slot) {
        slotByEncounterId.set(e.id, slot);
        count(TIMELINE_ISSUE.encounterFolded);
      }
    }
  }
  // An open-ended period lasts until the next visit starts.
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i];
    if (s.visit.end === undefined && Number.isFinite(s.startMs)) {
      const next = slots.slice(i + 1).find((n) => Number.isFinite(n.startMs) && n.startMs > s.startMs);
      if (next) {
        s.endMs = next.startMs - 1;
        s.endDay = previousDayOrSame(next.startDay, s.startDay);
      }
    }
  }
  const encounterSlots = [...slots];
  const unlinked = new Map<string, VisitSlot>();

  // Resources of a visit repeat the same reference string: parse each once.
  const slotByReference = new Map<string, VisitSlot | null>();
  const slotOfReference = (encounterRef: string): VisitSlot | undefined => {
    let slot = slotByReference.get(encounterRef);
    if (slot === undefined) {
      const ref = parseReference(encounterRef);
      slot = (ref && (ref.type ?? 'Encounter') === 'Encounter' ? slotByEncounterId.get(ref.id) : undefined) ?? null;
      slotByReference.set(encounterRef, slot);
    }
    return slot ?? undefined;
  };
  const place = (kind: ResourceKind, encounterRef: string | undefined, date: string | undefined): VisitSlot | undefined => {
    const issue = KIND_ISSUE[kind];
    if (encounterRef) {
      const slot = slotOfReference(encounterRef);
      if (slot) {
        count(issue.byEncounter);
        return slot;
      }
      count(issue.notFound);
    }
    if (!date) {
      count(issue.noDate);
      return undefined;
    }
    let found: VisitSlot | undefined;
    for (const slot of encounterSlots) if (contains(slot, date)) found = slot;
    if (found) {
      count(issue.byDate);
      return found;
    }
    count(issue.unlinked);
    const day = date.slice(0, 10);
    let slot = unlinked.get(day);
    if (!slot) {
      slot = newSlot({ encounterRef: `unlinked:${day}`, start: day, ageYears: ageInYears(birthDate, day), diagnoses: [], procedures: [], medications: [] });
      unlinked.set(day, slot);
      slots.push(slot);
    }
    return slot;
  };

  // Many requests reference the same Medication: describe and class it once per reference.
  const describedByReference = new Map<string, { described: DescribedMedication; atc3: readonly string[] }>();
  const describeAndClass = (request: MedicationRequest): { described: DescribedMedication; atc3: readonly string[] } => {
    const reference = request.medicationReference;
    // The result depends on the request only through the reference (and its display) unless the request has contained resources.
    const key = !request.medicationCodeableConcept && reference?.reference && !reference.reference.startsWith('#') && !request.contained?.length
      ? `${reference.reference}\u0000${reference.display ?? ''}`
      : undefined;
    const cached = key === undefined ? undefined : describedByReference.get(key);
    if (cached) return cached;
    const described = describeMedication(request, medications);
    const result = { described, atc3: described.resolved ? terminology.medicationAtc3(described.codings, described.text) : [] };
    if (key !== undefined) describedByReference.set(key, result);
    return result;
  };

  for (const condition of resources.conditions) addCondition(condition);
  for (const procedure of resources.procedures) addProcedure(procedure);
  const medications = new Map<string, Medication>();
  for (const m of resources.medications) if (m.id) medications.set(m.id, m);
  for (const request of resources.medicationRequests) addMedication(request);

  function addCondition(condition: Condition): void {
    if (hasCode(condition.verificationStatus, SKIPPED_VERIFICATION)) return count(TIMELINE_ISSUE.skippedStatus('condition'));
    if (condition.category !== undefined && isSkippedCategory(condition.category)) return count(TIMELINE_ISSUE.conditionSkippedCategory);
    const date = condition.onsetDateTime ?? condition.onsetPeriod?.start ?? condition.recordedDate;
    const slot = place('condition', condition.encounter?.reference, date);
    if (!slot) return;
    const code = firstMapped(condition.code?.coding ?? [], DIAGNOSIS_PREFERENCE, (c) => terminology.diagnosis(c), terminology);
    if (!code) return count(TIMELINE_ISSUE.conditionUnmapped);
    if (!slot.diagnosisTokens.has(code.token)) {
      slot.diagnosisTokens.add(code.token);
      slot.visit.diagnoses.push(code);
    }
  }

  function addProcedure(procedure: Procedure): void {
    if (SKIPPED_PROCEDURE.has(procedure.status)) return count(TIMELINE_ISSUE.skippedStatus('procedure'));
    const slot = place('procedure', procedure.encounter?.reference, procedure.performedDateTime ?? procedure.performedPeriod?.start);
    if (!slot) return;
    const code = firstMapped(procedure.code?.coding ?? [], PROCEDURE_PREFERENCE, (c) => terminology.procedure(c), terminology);
    if (!code) return count(TIMELINE_ISSUE.procedureUnmapped);
    if (!slot.procedureTokens.has(code.token)) {
      slot.procedureTokens.add(code.token);
      slot.visit.procedures.push(code);
    }
  }

  function addMedication(request: MedicationRequest): void {
    if (SKIPPED_REQUEST.has(request.status)) return count(TIMELINE_ISSUE.skippedStatus('medication'));
    const slot = place('medication', request.encounter?.reference, request.authoredOn ?? request.dispenseRequest?.validityPeriod?.start);
    if (!slot) return;
    const { described, atc3 } = describeAndClass(request);
    const entry: TimelineMedication = { requestRef: `MedicationRequest/${request.id ?? ''}`, atc3: [], status: request.status };
    if (described.text !== undefined) entry.text = described.text;
    if (!described.resolved) {
      count(TIMELINE_ISSUE.medicationUnresolved);
    } else {
      entry.atc3 = [...atc3];
      if (entry.atc3.length === 0) count(TIMELINE_ISSUE.medicationUnmapped);
    }
    slot.visit.medications.push(entry);
  }

  slots.sort((a, b) => compareStarts(a.startMs, b.startMs) || cmp(a.visit.encounterRef, b.visit.encounterRef));
  const visits = slots.map((s) => s.visit);
  return {
    patientRef: `Patient/${patient.id ?? ''}`,
    profile: profileOf(patient, [...encounterSlots].reverse().find((s) => s.encounter)?.visit),
    visits,
    issues,
  };
}

function newSlot(visit: TimelineVisit, encounter?: Encounter): VisitSlot {
  const startMs = visit.start ? Date.parse(visit.start) : NaN;
  const endMs = visit.end ? Date.parse(visit.end) : visit.start && visit.encounterRef.startsWith('unlinked:') ? startMs : Infinity;
  return {
    visit,
    encounter,
    startMs,
    endMs: Number.isNaN(endMs) ? Infinity : endMs,
    startDay: visit.start?.slice(0, 10) ?? '',
    endDay: visit.end?.slice(0, 10) ?? '9999-12-31',
    diagnosisTokens: new Set(),
    procedureTokens: new Set(),
  };
}

function encounterVisit(e: Encounter, birthDate: string | undefined): TimelineVisit {
  const visit: TimelineVisit = { encounterRef: `Encounter/${e.id ?? ''}`, diagnoses: [], procedures: [], medications: [] };
  if (e.period?.start) visit.start = e.period.start;
  if (e.period?.end) visit.end = e.period.end;
  const age = ageInYears(birthDate, e.period?.start);
  if (age !== undefined) visit.ageYears = age;
  const admissionType = admissionTypeOf(e);
  if (admissionType) visit.admissionType = admissionType;
  const insurance = extensionText(e.extension, EXTENSION.encounterInsurance);
  const language = extensionText(e.extension, EXTENSION.encounterLanguage);
  const maritalStatus = extensionText(e.extension, EXTENSION.encounterMaritalStatus);
  if (insurance) visit.insurance = insurance;
  if (language) visit.language = language;
  if (maritalStatus) visit.maritalStatus = maritalStatus;
  return visit;
}

function admissionTypeOf(e: Encounter): string | undefined {
  for (const type of e.type ?? []) {
    const coding = type.coding?.find((c) => c.system === MIMIC_SYSTEM.admissionType);
    if (coding) return coding.code ?? coding.display;
  }
  const cls = e.class;
  if (!cls) return undefined;
  return (cls.code && ENCOUNTER_CLASS_TEXT[cls.code]) ?? cls.display ?? cls.code;
}

/** Whole years from birthDate to the visit's calendar date, on the date strings (no clock, no time zone shift). */
export function ageInYears(birthDate: string | undefined, at: string | undefined): number | undefined {
  if (!birthDate || !at) return undefined;
  const b = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(birthDate);
  const v = /^(\d{4})-(\d{2})-(\d{2})/.exec(at);
  if (!b || !v) return undefined;
  const [by, bm, bd] = [Number(b[1]), Number(b[2] ?? 1), Number(b[3] ?? 1)];
  const [vy, vm, vd] = [Number(v[1]), Number(v[2]), Number(v[3])];
  const age = vy - by - (vm < bm || (vm === bm && vd < bd) ? 1 : 0);
  return age >= 0 ? age : undefined;
}

function profileOf(patient: Patient, target: TimelineVisit | undefined): PatientProfile {
  const profile: PatientProfile = {};
  if (patient.gender) profile.gender = patient.gender;
  if (patient.birthDate) profile.birthDate = patient.birthDate;
  if (target?.insurance) profile.insurance = target.insurance;
  const language = target?.language ?? patientLanguage(patient);
  if (language) profile.language = language;
  const marital = target?.maritalStatus ?? (patient.maritalStatus ? conceptText(patient.maritalStatus, 'code') : undefined);
  if (marital) profile.maritalStatus = marital;
  const race = usCoreText(patient.extension, 'us-core-race');
  if (race) profile.race = race;
  const ethnicity = usCoreText(patient.extension, 'us-core-ethnicity');
  if (ethnicity) profile.ethnicity = ethnicity;
  return profile;
}

function patientLanguage(patient: Patient): string | undefined {
  const comms = patient.communication ?? [];
  const comm = comms.find((c) => c.preferred) ?? comms[0];
  return comm ? conceptText(comm.language, 'code') : undefined;
}

/** A US Core race/ethnicity extension's `text`, else its first ombCategory display. Accepts both canonical spellings. */
function usCoreText(extensions: Extension[] | undefined, name: 'us-core-race' | 'us-core-ethnicity'): string | undefined {
  const canonical = name === 'us-core-race' ? EXTENSION.usCoreRace : EXTENSION.usCoreEthnicity;
  const ext = extensions?.find((e) => e.url === canonical || e.url.endsWith(`/StructureDefinition/${name}`));
  if (!ext) return undefined;
  const text = ext.extension?.find((e) => e.url === 'text')?.valueString;
  if (text) return text;
  const omb = ext.extension?.find((e) => e.url === 'ombCategory')?.valueCoding;
  return omb?.display ?? omb?.code;
}

function extensionText(extensions: Extension[] | undefined, url: string): string | undefined {
  const ext = extensions?.find((e) => e.url === url);
  if (!ext) return undefined;
  if (ext.valueString) return ext.valueString;
  if (ext.valueCode) return ext.valueCode;
  if (ext.valueCodeableConcept) return conceptText(ext.valueCodeableConcept, 'display');
  if (ext.valueCoding) return ext.valueCoding.display ?? ext.valueCoding.code;
  return undefined;
}

function conceptText(concept: CodeableConcept, fallback: 'code' | 'display'): string | undefined {
  if (concept.text) return concept.text;
  const c = concept.coding?.[0];
  if (!c) return undefined;
  return fallback === 'code' ? (c.code ?? c.display) : (c.display ?? c.code);
}

/** True when a coding of `concept` has a (non-empty) code in `set`. */
function hasCode(concept: CodeableConcept | undefined, set: ReadonlySet<string>): boolean {
  for (const c of concept?.coding ?? []) if (c.code && set.has(c.code)) return true;
  return false;
}

/** Categories with codes, none of them a kept category (categories without codes say nothing). */
function isSkippedCategory(categories: CodeableConcept[]): boolean {
  let coded = false;
  for (const category of categories) {
    for (const c of category.coding ?? []) {
      if (!c.code) continue;
      if (KEPT_CONDITION_CATEGORY.has(c.code)) return false;
      coded = true;
    }
  }
  return coded;
}

function firstMapped(
  codings: Coding[],
  preference: readonly string[],
  map: (c: Coding) => TimelineCode | undefined,
  terminology: TerminologyLookup,
): TimelineCode | undefined {
  const rank = (c: Coding) => {
    const i = preference.indexOf(c.system ?? '');
    return i === -1 ? preference.length : i;
  };
  // Most resources carry one coding: nothing to order then.
  const ordered = codings.length < 2 ? codings : codings.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i).map((x) => x.c);
  for (const c of ordered) {
    const code = map(c);
    if (!code) continue;
    const display = code.display ?? c.display ?? terminology.codeTitle(code.token);
    return display !== undefined && display !== code.display ? { ...code, display } : code;
  }
  return undefined;
}

interface DescribedMedication {
  resolved: boolean;
  codings: Coding[];
  text?: string;
}

/** Codings and text of the requested medication: the CodeableConcept, or the referenced Medication (contained, by id, or a mix's ingredients). */
function describeMedication(request: MedicationRequest, medications: ReadonlyMap<string, Medication>): DescribedMedication {
  // The one resolver; its flat codings carry the parts of a mix and the request's route, which the classing reads.
  const resolved = resolveMedication(request, (id) => medications.get(id));
  if (!resolved.resolved) return { resolved: false, codings: [], text: resolved.display };
  return { resolved: true, ...flattenProduct(resolved), text: resolved.display };
}

function contains(slot: VisitSlot, date: string): boolean {
  if (!Number.isFinite(slot.startMs)) return false;
  if (/^\d{4}(-\d{2}(-\d{2})?)?$/.test(date)) {
    // A calendar date (no time) is in a visit when the visit spans that day.
    const day = date.length === 10 ? date : date.padEnd(10, date.length === 4 ? '-01-01' : '-01');
    return slot.startDay <= day && day <= slot.endDay;
  }
  const ms = Date.parse(date);
  return !Number.isNaN(ms) && slot.startMs <= ms && ms <= slot.endMs;
}

function previousDayOrSame(nextStartDay: string, startDay: string): string {
  // The day the next visit starts still belongs to the open visit only if it also started that day.
  if (nextStartDay <= startDay) return startDay;
  const d = new Date(`${nextStartDay}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  const prev = d.toISOString().slice(0, 10);
  return prev < startDay ? startDay : prev;
}

function compareEncounters(a: Encounter, b: Encounter): number {
  return compareStarts(startMsOf(a.period?.start), startMsOf(b.period?.start)) || cmp(a.id ?? '', b.id ?? '');
}

function startMsOf(start: string | undefined): number {
  const ms = start ? Date.parse(start) : NaN;
  return Number.isNaN(ms) ? NaN : ms;
}

/** Ascending, with unknown starts last. */
function compareStarts(a: number, b: number): number {
  const x = Number.isNaN(a) ? Infinity : a;
  const y = Number.isNaN(b) ? Infinity : b;
  return x < y ? -1 : x > y ? 1 : 0;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
