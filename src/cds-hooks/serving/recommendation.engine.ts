import type { MedicationStatement, Patient } from 'fhir/r4';
import type { PatientResources } from '../../fhir/fhir-source.types';
import { compareStrings } from '../../common/compare-strings';
import type { StudentModel } from '../../inference/student-model';
import { buildStudentBatch } from '../../leader/tensors/student-batch';
import { buildStudentSample, withCodedVisits } from '../../leader/tensors/student-sample';
import { DEFAULT_MAX_VISITS } from '../../leader/tensors/student-input.types';
import { Vocabulary } from '../../leader/tensors/vocabulary';
import { currentMedications, DEFAULT_CURRENT_MEDICATION_DAYS } from '../../recommend/current-medications';
import { DdiIndex } from '../../recommend/ddi-index';
import { describeOccludedInput, evidenceFor, occlusionVariants, type OccludedInput } from '../../recommend/evidence';
import { lastProductByClass } from '../../recommend/product';
import { recommend, type DraftedOrder } from '../../recommend/recommend';
import type { EvidenceItem, NotAssessedMedication, RecommendationResult } from '../../recommend/recommendation.types';
import type { TerminologyLookup } from '../../terminology/terminology.types';
import type { CdsDraftOrders, CdsHookName } from '../cds-hooks.types';
import { draftMedications, targetVisitOf } from './current-visit';
import { medicationHistory } from './medication-history';
import type { ModelExtras } from './model-extras';
import { nextTurn, runYielding, type TimelineBuilder } from './serving.tokens';
import type { TimelineLimits } from '../../timeline/timeline';
import type { PatientTimeline } from '../../timeline/timeline.types';

/** What one recommendation is computed from: the patient's FHIR data and the hook's context. */
export interface RecommendationRequest {
  hook: CdsHookName;
  resources: PatientResources;
  medicationStatements: MedicationStatement[];
  encounterId?: string;
  draftOrders?: CdsDraftOrders;
  /** order-select `context.selections` (references of the orders being selected). */
  selections?: string[];
  /** Occlusion evidence (one extra batch of variants through the model). Default true. */
  evidence?: boolean;
}

export interface EngineOptions {
  /** Days an ended medication still counts as current. */
  currentMedicationDays?: number;
  /** Evidence items per class. */
  evidenceTop?: number;
  /** Inputs occluded at most (one batch row each); default DEFAULT_MAX_OCCLUSIONS. */
  maxOcclusions?: number;
  /** Bounds on the record (a TimelineLimitError beyond them). */
  timelineLimits?: TimelineLimits;
}

/**
 * The one way to build a RecommendationResult, for CDS Hooks cards and any other surface:
 * FHIR → timeline → target visit → student sample (+ its occlusion variants, one batch) →
 * StudentModel.predict → recommend (current medications, drafts, products, interactions).
 */
export class RecommendationEngine {
  private readonly vocab: Vocabulary;
  private readonly ddi: DdiIndex;
  private readonly maxVisits: number;

  constructor(
    private readonly model: StudentModel,
    private readonly terminology: TerminologyLookup,
    private readonly buildTimeline: TimelineBuilder,
    private readonly extras: ModelExtras,
    private readonly options: EngineOptions = {},
  ) {
    this.vocab = Vocabulary.fromJSON(model.vocab, `${model.dir}/vocab.json`);
    this.ddi = DdiIndex.fromIndexPairs(model.ddi.labels, model.ddi.pairs);
    this.maxVisits = model.manifest.io?.maxVisits ?? DEFAULT_MAX_VISITS;
  }

  async recommend(req: RecommendationRequest, now: Date): Promise<RecommendationResult> {
    return (await this.review(req, now)).result;
  }

  /** The recommendation with the timeline it was computed from (the visits the model saw, target last). */
  async review(req: RecommendationRequest, now: Date): Promise<RecommendationReview> {
    const { resources } = req;
    const drafts = draftMedications(req.draftOrders, resources.medications, this.terminology);
    // Staged, handing the event loop back between slices: a long record never stalls other requests.
    await nextTurn();
    const timeline = await runYielding(this.buildTimeline(resources, this.terminology, this.options.timelineLimits ? { limits: this.options.timelineLimits } : {}));
    await nextTurn();
    const target = targetVisitOf(timeline, req.encounterId, drafts, resources.patient.birthDate, now);
    const window = withCodedVisits(target.timeline, target.index);
    const sample = buildStudentSample(window.timeline, window.targetVisitIndex, this.vocab, this.maxVisits);
    const withEvidence = req.evidence !== false;
    const occluded = withEvidence ? occlusionVariants(sample, this.options.maxOcclusions) : { inputs: [], variants: [], total: 0 };
    const prediction = await this.model.predict(buildStudentBatch([sample, ...occluded.variants]));
    const labels = prediction.labels;

    const visit = target.timeline.visits[target.index];
    const visitStart = Date.parse(visit.start ?? '');
    const visitEnd = Date.parse(visit.end ?? visit.start ?? '');
    const asOf = new Date(Math.max(now.getTime(), Number.isFinite(visitEnd) ? visitEnd : -Infinity));
    const history = medicationHistory(resources, req.medicationStatements, this.terminology, timeline);
    const current = currentMedications(history.uses, asOf, this.options.currentMedicationDays ?? DEFAULT_CURRENT_MEDICATION_DAYS);

    const contextRefs = new Set(drafts.medications.map((m) => m.requestRef));
    const selected = new Set((req.selections ?? []).map((s) => (/(MedicationRequest\/[^/]+)$/.exec(s)?.[1] ?? s)));
    const atTheOrder = (ref: string) => contextRefs.has(ref) && (req.hook === 'order-sign' || selected.size === 0 || selected.has(ref));
    const draftedOrders: DraftedOrder[] = visit.medications.filter((m) => m.status === 'draft').map((m) => ({
      orderRef: m.requestRef, drug: m.text ?? m.requestRef, atc3: m.atc3, atTheOrder: atTheOrder(m.requestRef),
    }));

    const manifest = this.model.manifest;
    const describe = (input: OccludedInput) => describeOccludedInput(input, sample, this.vocab, this.terminology);
    const result = recommend({
      labels: manifest.labels,
      probs: prediction.probs.subarray(0, labels),
      threshold: manifest.threshold,
      ddi: this.ddi,
      className: (atc3) => manifest.labelNames?.[atc3] ?? this.terminology.atc3Name(atc3),
      priorVisits: window.targetVisitIndex,
      current,
      drafts: draftedOrders,
      notAssessed: notAssessedOf(target.timeline.visits),
      ...(withEvidence ? {
        evidence: (label: number): EvidenceItem[] => evidenceFor(prediction.probs, labels, label, occluded.inputs, describe, this.options.evidenceTop ?? 3),
        evidenceInputs: { occluded: occluded.inputs.length, total: occluded.total },
      } : {}),
      patientProducts: lastProductByClass(history.products),
      ...(this.extras.trainingProducts ? { trainingProducts: this.extras.trainingProducts } : {}),
      neverSuggest: this.extras.neverSuggest,
      ...deceasedAt(resources.patient, Number.isFinite(visitStart) ? visitStart : now.getTime()),
    });
    const first = Math.max(0, window.targetVisitIndex + 1 - this.maxVisits);
    const seen = { ...window.timeline, visits: window.timeline.visits.slice(first, window.targetVisitIndex + 1) };
    return { result, timeline: seen, targetVisitIndex: window.targetVisitIndex - first };
  }
}

/** Recorded (not drafted) orders whose drug maps to no class, by name, most orders first. */
function notAssessedOf(visits: readonly { medications: readonly { atc3: readonly string[]; status?: string; text?: string; requestRef: string }[] }[]): NotAssessedMedication[] {
  const orders = new Map<string, number>();
  for (const v of visits) {
    for (const m of v.medications) {
      if (m.atc3.length > 0 || m.status === 'draft') continue;
      const drug = m.text?.trim() || `${m.requestRef} (no drug name)`;
      orders.set(drug, (orders.get(drug) ?? 0) + 1);
    }
  }
  return [...orders].map(([drug, n]) => ({ drug, orders: n })).sort((a, b) => b.orders - a.orders || compareStrings(a.drug, b.drug));
}

/** A recommendation and the timeline window the student read (visits up to and including the target visit). */
export interface RecommendationReview {
  result: RecommendationResult;
  timeline: PatientTimeline;
  targetVisitIndex: number;
}

/** Deceased on or before the visit started (a death during the visit leaves its orders valid). */
function deceasedAt(patient: Patient, visitStartMs: number): { deceased?: { since?: string } } {
  if (patient.deceasedBoolean === true) return { deceased: {} };
  if (patient.deceasedDateTime) {
    const t = Date.parse(patient.deceasedDateTime);
    if (Number.isFinite(t) && t <= visitStartMs) return { deceased: { since: patient.deceasedDateTime } };
  }
  return {};
}
