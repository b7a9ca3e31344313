import type { CodeableConcept, Coding, Condition, Encounter, Extension, Medication, MedicationRequest, Patient, Procedure } from 'fhir/r4';
import { compareStrings as cmp } from '../common/compare-strings';
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
  /** Bounds on the timeline's size (serving sets them from the config; unset = unbounded). */
  limits?: TimelineLimits;
}

export interface TimelineLimits {
  /** Most visits (encounter visits and unlinked-date visits together). */
  maxVisits?: number;
  /** Most distinct diagnosis + procedure codes in one visit. */
  maxCodesPerVisit?: number;
  /** Most Medications one request's description visits (itself and ingredients followed, to depth 3). */
  maxMedicationParts?: number;
}

/** The timeline would exceed a limit of BuildTimelineOptions.limits; `limit` names it. */
export class TimelineLimitError extends Error {
  constructor(readonly limit: keyof TimelineLimits, readonly max: number, message: string) {
    super(message);
    this.name = 'TimelineLimitError';
  }
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

/** Resources handled between two yields of `timelineStages` (the serving driver lets other requests run there). */
const STAGE_SLICE = 2000;

/**
 * Builds a patient's timeline from FHIR R4 resources. Pure: no I/O, no clock; the same input
 * gives the same output. Visits are the patient's Encounters in period.start order (tie: id);
 * conditions, procedures and medication requests go to the visit their `encounter` references,
 * else to the visit whose period contains their date, else to a synthetic `unlinked:<date>`
 * visit. Every placement and every skipped or unmapped item is counted in `issues`.
 * Runs the stages of `timelineStages` to the end.
 */
export function buildTimeline(resources: PatientResources, terminology: TerminologyLookup, opts: BuildTimelineOptions = {}): PatientTimeline {
  const stages = timelineStages(resources, terminology, opts);
  for (;;) {
    const step = stages.next();
    if (step.done) return step.value;
  }
}

/**
 * The timeline as named stages, each O(n log n) at worst: encounters → visits (partOf chains and
 * cycles folded), conditions, procedures and medications placed by encounter or date, then the
 * profile. Yields the running stage's name every STAGE_SLICE resources, so a caller can hand the
 * event loop back between slices; returns the timeline.
 */
export function* timelineStages(resources: PatientResources, terminology: TerminologyLookup, opts: BuildTimelineOptions = {}): Generator<string, PatientTimeline, void> {
  const issues = new IssueCounter();
  const encounterSlots = encounterVisitSlots(resources.encounters, resources.patient.birthDate, opts.foldSubEncounters !== false, issues);
  yield 'encounters';
  const placer = new VisitPlacer(encounterSlots.slots, encounterSlots.slotByEncounterId, resources.patient.birthDate, issues, opts.limits ?? {});
  yield* placeConditions(resources.conditions, placer, terminology, issues);
  yield* placeProcedures(resources.procedures, placer, terminology, issues);
  yield* placeMedications(resources.medicationRequests, resources.medications, placer, terminology, issues, opts.limits?.maxMedicationParts);
  const slots = placer.allSlots();
  slots.sort((a, b) => compareStarts(a.startMs, b.startMs) || cmp(a.visit.encounterRef, b.visit.encounterRef));
  const patient = resources.patient;
  return {
    patientRef: `Patient/${patient.id ?? ''}`,
    profile: profileOf(patient, encounterSlots.slots[encounterSlots.slots.length - 1]?.visit),
    visits: slots.map((s) => s.visit),
    issues: issues.counts,
  };
}

class IssueCounter {
  readonly counts: Record<string, number> = {};
  count(key: string): void {
    this.counts[key] = (this.counts[key] ?? 0) + 1;
  }
}

/**
 * Stage 1, encounters → visits: skipped statuses dropped, each Encounter mapped to its top-level
 * Encounter along `partOf` (memoised, so chains and cycles cost O(n) in all), one visit per
 * top-level Encounter in start order, open-ended periods closed at the next visit's start.
 */
function encounterVisitSlots(all: Encounter[], birthDate: string | undefined, fold: boolean, issues: IssueCounter): { slots: VisitSlot[]; slotByEncounterId: Map<string, VisitSlot> } {
  const encounters = all.filter((e) => {
    if (e.status && SKIPPED_ENCOUNTER.has(e.status)) {
      issues.count(TIMELINE_ISSUE.encounterSkippedStatus);
      return false;
    }
    return true;
  });
  const topOf = fold ? topLevelEncounters(encounters) : new Map(encounters.map((e) => [e, e]));
  const slots: VisitSlot[] = [];
  const slotByEncounterId = new Map<string, VisitSlot>();
  const topLevel = encounters.filter((e) => topOf.get(e) === e);
  topLevel.sort(compareEncounters);
  for (const e of topLevel) {
    if (!e.period?.start) issues.count(TIMELINE_ISSUE.encounterNoStart);
    const slot = newSlot(encounterVisit(e, birthDate), e);
    slots.push(slot);
    if (e.id) slotByEncounterId.set(e.id, slot);
  }
  for (const e of encounters) {
    const top = topOf.get(e)!;
    if (top !== e && e.id && top.id) {
      const slot = slotByEncounterId.get(top.id);
      if (slot) {
        slotByEncounterId.set(e.id, slot);
        issues.count(TIMELINE_ISSUE.encounterFolded);
      }
    }
  }
  // An open-ended period lasts until the next visit starts (slots are in start order, unknown starts last).
  let next = 0;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i];
    if (!Number.isFinite(s.startMs)) break;
    if (next <= i) next = i + 1;
    while (next < slots.length && Number.isFinite(slots[next].startMs) && slots[next].startMs <= s.startMs) next++;
    if (s.visit.end === undefined && next < slots.length && Number.isFinite(slots[next].startMs)) {
      s.endMs = slots[next].startMs - 1;
      s.endDay = previousDayOrSame(slots[next].startDay, s.startDay);
    }
  }
  return { slots, slotByEncounterId };
}

/**
 * Each Encounter's top-level Encounter along `partOf`. A cycle (bad data) is stood for by its
 * earliest member, so exactly one visit exists for it; Encounters leading into a cycle join it.
 * Every Encounter is walked once (memoised), whatever the shape of the chains.
 */
function topLevelEncounters(encounters: Encounter[]): Map<Encounter, Encounter> {
  const byId = new Map<string, Encounter>();
  for (const e of encounters) if (e.id) byId.set(e.id, e);
  const parentOf = (e: Encounter): Encounter | undefined => {
    const ref = parseReference(e.partOf?.reference);
    return ref && (ref.type ?? 'Encounter') === 'Encounter' ? byId.get(ref.id) : undefined;
  };
  const top = new Map<Encounter, Encounter>();
  for (const start of encounters) {
    if (top.has(start)) continue;
    const path: Encounter[] = [];
    const onPath = new Map<Encounter, number>();
    let current: Encounter | undefined = start;
    let root: Encounter;
    for (;;) {
      const known = top.get(current);
      if (known !== undefined) {
        root = known;
        break;
      }
      const at = onPath.get(current);
      if (at !== undefined) {
        const cycle = path.slice(at);
        root = cycle.reduce((a, b) => (compareEncounters(b, a) < 0 ? b : a));
        break;
      }
      onPath.set(current, path.length);
      path.push(current);
      const parent = parentOf(current);
      if (parent === undefined) {
        root = current;
        break;
      }
      current = parent;
    }
    for (const e of path) top.set(e, root);
  }
  return top;
}

/**
 * Places resources in visits: by `encounter` reference (parsed once per distinct string), else by
 * date in O(log n) through an interval index over the encounter visits (the latest-starting visit
 * whose period contains the date wins), else in an `unlinked:<day>` visit. Enforces the limits.
 */
class VisitPlacer {
  private readonly unlinked = new Map<string, VisitSlot>();
  private readonly slotByReference = new Map<string, VisitSlot | null>();
  private readonly index: IntervalIndex;
  private visits: number;

  constructor(
    private readonly encounterSlots: VisitSlot[],
    private readonly slotByEncounterId: Map<string, VisitSlot>,
    private readonly birthDate: string | undefined,
    private readonly issues: IssueCounter,
    private readonly limits: TimelineLimits,
  ) {
    this.visits = encounterSlots.length;
    this.checkVisits();
    this.index = new IntervalIndex(encounterSlots);
  }

  place(kind: ResourceKind, encounterRef: string | undefined, date: string | undefined): VisitSlot | undefined {
    const issue = KIND_ISSUE[kind];
    if (typeof encounterRef === 'string' && encounterRef !== '') {
      const slot = this.slotOfReference(encounterRef);
      if (slot) {
        this.issues.count(issue.byEncounter);
        return slot;
      }
      this.issues.count(issue.notFound);
    }
    if (typeof date !== 'string' || date === '') {
      this.issues.count(issue.noDate);
      return undefined;
    }
    const found = this.index.latestContaining(date);
    if (found) {
      this.issues.count(issue.byDate);
      return found;
    }
    this.issues.count(issue.unlinked);
    const day = date.slice(0, 10);
    let slot = this.unlinked.get(day);
    if (!slot) {
      slot = newSlot({ encounterRef: `unlinked:${day}`, start: day, ageYears: ageInYears(this.birthDate, day), diagnoses: [], procedures: [], medications: [] });
      this.unlinked.set(day, slot);
      this.visits++;
      this.checkVisits();
    }
    return slot;
  }

  /** Adds a diagnosis or procedure code to a visit once. */
  addCode(slot: VisitSlot, kind: 'diagnoses' | 'procedures', code: TimelineCode): void {
    const tokens = kind === 'diagnoses' ? slot.diagnosisTokens : slot.procedureTokens;
    if (tokens.has(code.token)) return;
    const max = this.limits.maxCodesPerVisit;
    if (max !== undefined && slot.diagnosisTokens.size + slot.procedureTokens.size >= max) {
      throw new TimelineLimitError('maxCodesPerVisit', max, `visit ${slot.visit.encounterRef} has more than ${max} distinct diagnosis and procedure codes`);
    }
    tokens.add(code.token);
    slot.visit[kind].push(code);
  }

  /** Encounter visits and unlinked visits (not yet in time order). */
  allSlots(): VisitSlot[] {
    return [...this.encounterSlots, ...this.unlinked.values()];
  }

  private checkVisits(): void {
    const max = this.limits.maxVisits;
    if (max !== undefined && this.visits > max) throw new TimelineLimitError('maxVisits', max, `the patient's record has more than ${max} visits`);
  }

  private slotOfReference(encounterRef: string): VisitSlot | undefined {
    let slot = this.slotByReference.get(encounterRef);
    if (slot === undefined) {
      const ref = parseReference(encounterRef);
      slot = (ref && (ref.type ?? 'Encounter') === 'Encounter' ? this.slotByEncounterId.get(ref.id) : undefined) ?? null;
      this.slotByReference.set(encounterRef, slot);
    }
    return slot ?? undefined;
  }
}

/**
 * "The last visit (in start order) whose period contains this date" in O(log n): a segment tree
 * over the encounter visits holding each node's earliest start and latest end (as instants and as
 * calendar days), searched right-first and pruned by both bounds.
 */
class IntervalIndex {
  private readonly size: number;
  private readonly minStartMs: Float64Array;
  private readonly maxEndMs: Float64Array;
  private readonly minStartDay: string[];
  private readonly maxEndDay: string[];

  constructor(private readonly slots: VisitSlot[]) {
    let size = 1;
    while (size < Math.max(1, slots.length)) size *= 2;
    this.size = size;
    this.minStartMs = new Float64Array(2 * size).fill(Infinity);
    this.maxEndMs = new Float64Array(2 * size).fill(-Infinity);
    this.minStartDay = new Array<string>(2 * size).fill('\uffff');
    this.maxEndDay = new Array<string>(2 * size).fill('');
    slots.forEach((s, i) => {
      if (!Number.isFinite(s.startMs)) return;
      this.minStartMs[size + i] = s.startMs;
      this.maxEndMs[size + i] = s.endMs;
      this.minStartDay[size + i] = s.startDay;
      this.maxEndDay[size + i] = s.endDay;
    });
    for (let n = size - 1; n >= 1; n--) {
      this.minStartMs[n] = Math.min(this.minStartMs[2 * n], this.minStartMs[2 * n + 1]);
      this.maxEndMs[n] = Math.max(this.maxEndMs[2 * n], this.maxEndMs[2 * n + 1]);
      this.minStartDay[n] = this.minStartDay[2 * n] < this.minStartDay[2 * n + 1] ? this.minStartDay[2 * n] : this.minStartDay[2 * n + 1];
      this.maxEndDay[n] = this.maxEndDay[2 * n] > this.maxEndDay[2 * n + 1] ? this.maxEndDay[2 * n] : this.maxEndDay[2 * n + 1];
    }
  }

  latestContaining(date: string): VisitSlot | undefined {
    if (this.slots.length === 0) return undefined;
    if (/^\d{4}(-\d{2}(-\d{2})?)?$/.test(date)) {
      // A calendar date (no time) is in a visit when the visit spans that day.
      const day = date.length === 10 ? date : date.padEnd(10, date.length === 4 ? '-01-01' : '-01');
      const i = this.search(1, (n) => this.minStartDay[n] <= day && day <= this.maxEndDay[n]);
      return i === undefined ? undefined : this.slots[i];
    }
    const ms = Date.parse(date);
    if (Number.isNaN(ms)) return undefined;
    const i = this.search(1, (n) => this.minStartMs[n] <= ms && ms <= this.maxEndMs[n]);
    return i === undefined ? undefined : this.slots[i];
  }

  /** The rightmost leaf under `node` that passes `may` (which is exact on leaves, a bound on inner nodes). */
  private search(node: number, may: (n: number) => boolean): number | undefined {
    if (!may(node)) return undefined;
    if (node >= this.size) return node - this.size;
    return this.search(2 * node + 1, may) ?? this.search(2 * node, may);
  }
}

/** Stage 2: conditions (status and category filters, then placement and the diagnosis code). */
function* placeConditions(conditions: Condition[], placer: VisitPlacer, terminology: TerminologyLookup, issues: IssueCounter): Generator<string, void, void> {
  for (let i = 0; i < conditions.length; i++) {
    if (i % STAGE_SLICE === STAGE_SLICE - 1) yield 'conditions';
    const condition = conditions[i];
    if (hasCode(condition.verificationStatus, SKIPPED_VERIFICATION)) {
      issues.count(TIMELINE_ISSUE.skippedStatus('condition'));
      continue;
    }
    if (condition.category !== undefined && isSkippedCategory(condition.category)) {
      issues.count(TIMELINE_ISSUE.conditionSkippedCategory);
      continue;
    }
    const date = condition.onsetDateTime ?? condition.onsetPeriod?.start ?? condition.recordedDate;
    const slot = placer.place('condition', condition.encounter?.reference, date);
    if (!slot) continue;
    const code = firstMapped(condition.code?.coding ?? [], DIAGNOSIS_PREFERENCE, (c) => terminology.diagnosis(c), terminology);
    if (!code) issues.count(TIMELINE_ISSUE.conditionUnmapped);
    else placer.addCode(slot, 'diagnoses', code);
  }
}

/** Stage 3: procedures. */
function* placeProcedures(procedures: Procedure[], placer: VisitPlacer, terminology: TerminologyLookup, issues: IssueCounter): Generator<string, void, void> {
  for (let i = 0; i < procedures.length; i++) {
    if (i % STAGE_SLICE === STAGE_SLICE - 1) yield 'procedures';
    const procedure = procedures[i];
    if (SKIPPED_PROCEDURE.has(procedure.status)) {
      issues.count(TIMELINE_ISSUE.skippedStatus('procedure'));
      continue;
    }
    const slot = placer.place('procedure', procedure.encounter?.reference, procedure.performedDateTime ?? procedure.performedPeriod?.start);
    if (!slot) continue;
    const code = firstMapped(procedure.code?.coding ?? [], PROCEDURE_PREFERENCE, (c) => terminology.procedure(c), terminology);
    if (!code) issues.count(TIMELINE_ISSUE.procedureUnmapped);
    else placer.addCode(slot, 'procedures', code);
  }
}

/**
 * Stage 4: medication requests, classed to ATC3 through `describeMedication` and the terminology.
 * Many requests reference the same Medication: it is described and classed once per reference.
 */
function* placeMedications(
  requests: MedicationRequest[], medicationList: Medication[], placer: VisitPlacer, terminology: TerminologyLookup, issues: IssueCounter,
  maxParts: number | undefined,
): Generator<string, void, void> {
  const medications = new Map<string, Medication>();
  for (const m of medicationList) if (m.id) medications.set(m.id, m);
  const describedByReference = new Map<string, { described: DescribedMedication; atc3: readonly string[] }>();
  const describeAndClass = (request: MedicationRequest): { described: DescribedMedication; atc3: readonly string[] } => {
    const reference = request.medicationReference;
    // The result depends on the request only through the reference (and its display) and the first
    // dosage's route and text (they choose among a substance's classes), unless it has contained resources.
    const dosage = request.dosageInstruction?.[0];
    const key = !request.medicationCodeableConcept && reference?.reference && !reference.reference.startsWith('#') && !request.contained?.length
      ? `${reference.reference}\u0000${reference.display ?? ''}\u0000${JSON.stringify(dosage?.route ?? null)}\u0000${dosage?.text ?? ''}`
      : undefined;
    const cached = key === undefined ? undefined : describedByReference.get(key);
    if (cached) return cached;
    // Ingredients are followed to depth 3: the work grows with the parts visited, which is bounded first.
    const parts = medicationParts(request, medications, maxParts ?? Infinity);
    work += parts;
    if (maxParts !== undefined && parts > maxParts) {
      throw new TimelineLimitError('maxMedicationParts', maxParts, `MedicationRequest/${request.id ?? ''}: its medication has more than ${maxParts} parts (ingredients followed to depth 3)`);
    }
    const described = describeMedication(request, medications);
    const result = { described, atc3: described.resolved ? terminology.medicationAtc3(described.codings, described.text) : [] };
    if (key !== undefined) describedByReference.set(key, result);
    return result;
  };
  let work = 0;
  for (let i = 0; i < requests.length; i++) {
    if (i % STAGE_SLICE === STAGE_SLICE - 1 || work > STAGE_SLICE) {
      work = 0;
      yield 'medications';
    }
    const request = requests[i];
    if (SKIPPED_REQUEST.has(request.status)) {
      issues.count(TIMELINE_ISSUE.skippedStatus('medication'));
      continue;
    }
    const slot = placer.place('medication', request.encounter?.reference, request.authoredOn ?? request.dispenseRequest?.validityPeriod?.start);
    if (!slot) continue;
    const { described, atc3 } = describeAndClass(request);
    const entry: TimelineMedication = { requestRef: `MedicationRequest/${request.id ?? ''}`, atc3: [], status: request.status };
    if (described.text !== undefined) entry.text = described.text;
    if (!described.resolved) {
      issues.count(TIMELINE_ISSUE.medicationUnresolved);
    } else {
      entry.atc3 = [...atc3];
      if (entry.atc3.length === 0) issues.count(TIMELINE_ISSUE.medicationUnmapped);
    }
    slot.visit.medications.push(entry);
  }
}

/**
 * How many Medications `describeMedication` visits for a request: the medication and its ingredients'
 * referenced Medications, depth ≤ 3, each path counted (as the description walks them). Counted by
 * (Medication, depth) with memoisation, so counting itself stays cheap; stops growing past `cap`.
 */
function medicationParts(request: MedicationRequest, medications: ReadonlyMap<string, Medication>, cap: number): number {
  if (request.medicationCodeableConcept) return 1;
  const containedById = (contained: readonly unknown[] | undefined): Map<string, Medication> => {
    const byId = new Map<string, Medication>();
    for (const r of (contained ?? []) as Medication[]) if (r?.resourceType === 'Medication' && typeof r.id === 'string' && !byId.has(r.id)) byId.set(r.id, r);
    return byId;
  };
  const containedIndex = new Map<readonly unknown[] | undefined, Map<string, Medication>>();
  const lookup = (ref: string | undefined, contained: readonly unknown[] | undefined): Medication | undefined => {
    if (!ref) return undefined;
    if (ref.startsWith('#')) {
      let byId = containedIndex.get(contained);
      if (byId === undefined) {
        byId = containedById(contained);
        containedIndex.set(contained, byId);
      }
      return byId.get(ref.slice(1));
    }
    const parsed = parseReference(ref);
    return parsed && (parsed.type ?? 'Medication') === 'Medication' ? medications.get(parsed.id) : undefined;
  };
  const memo = new Map<Medication, number[]>();
  const count = (med: Medication, depth: number): number => {
    const known = memo.get(med)?.[depth];
    if (known !== undefined) return known;
    let n = 1;
    if (depth < 3) {
      for (const ingredient of med.ingredient ?? []) {
        const part = lookup(ingredient?.itemReference?.reference, med.contained ?? request.contained);
        if (part && part !== med) n += count(part, depth + 1);
        if (n > cap) break;
      }
    }
    const row = memo.get(med) ?? [];
    row[depth] = n;
    memo.set(med, row);
    return n;
  };
  const top = lookup(request.medicationReference?.reference, request.contained);
  return top ? count(top, 0) : 1;
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
