/**
 * The recommendation for one patient at one order entry: pure data, no HTTP or CDS shapes. The one
 * result object CDS Hooks cards are rendered from, and what the SMART app and the REST API return.
 */

/** How a class stands for this patient: being ordered now, already taken, or neither. */
export type ClassStatus = 'drafted' | 'continued' | 'new';

/** A product (RxNorm or NDC) coding. */
export interface ProductCoding {
  system: string;
  code: string;
  display?: string;
}

/** Which rule chose the product of a suggestion. */
export type ProductRule = 'patient-last' | 'training-most-frequent';

export interface ProductChoice {
  coding: ProductCoding;
  rule: ProductRule;
  /** Why this product, in words ("last prescribed to this patient on 2180-05-06"). */
  because: string;
}

/** One input of the patient occluded in the evidence batch. */
export type EvidenceKind = 'diagnosis' | 'procedure' | 'medication' | 'profile';

/**
 * An input's association with a class in the model: `effect` = probability with the input minus
 * probability with the input removed (positive: it raised the probability). Not a causal claim.
 */
export interface EvidenceItem {
  kind: EvidenceKind;
  /** Vocabulary token (`icd10cm:I48.91`, `atc3:B01A`) or `profile`. */
  token: string;
  name: string;
  effect: number;
}

/** One ATC3 class of the model's label space (or a drafted class outside it) for this patient. */
export interface ClassRecommendation {
  atc3: string;
  /** WHO name, WHO capitalisation. */
  name?: string;
  /** ATC anatomical main group. */
  group: { code: string; name: string };
  /** Model probability; undefined for a class outside the label space (not assessed). */
  probability?: number;
  /** probability > threshold (float32, the evaluation rule). */
  aboveThreshold: boolean;
  status: ClassStatus;
  /** A new, likely class offered to the clinician (not current, not drafted, not never-suggested, patient alive). */
  suggested: boolean;
  /** Matched a never-suggest ATC prefix of the model folder. */
  neverSuggested: boolean;
  /** The patient's drugs in this class: current medications or the drafted orders. */
  drugs: string[];
  /** The product a one-click order would code (suggestions only). */
  product?: ProductChoice;
  /** Top inputs by |effect| (occlusion), largest first. */
  evidence: EvidenceItem[];
}

export type InteractionRole = 'drafted' | 'current' | 'suggested';

export interface InteractionSide {
  atc3: string;
  className?: string;
  /** The drug (order text, current medication, or a suggestion's product / class). */
  drug: string;
  role: InteractionRole;
  /** A current medication that already ended (inside the current-medication window). */
  ended?: string;
  /** `MedicationRequest/<id>` of a drafted order. */
  orderRef?: string;
}

/** An interacting pair (the model's class-level DDI matrix), named by drug. */
export interface DrugInteraction {
  a: InteractionSide;
  b: InteractionSide;
  /** True when a side is an order being selected or signed now and neither side is a suggestion: these rank first. */
  atTheOrder: boolean;
}

/** A drafted order as reviewed at order-sign (and order-select). */
export interface DraftedOrderReview {
  orderRef: string;
  drug: string;
  /** Being selected (order-select selections) or signed now. */
  atTheOrder: boolean;
  /** Its classes; empty when the drug could not be classed. */
  classes: ClassRecommendation[];
  /** False when no class of the order is in the model's label space (or it could not be classed). */
  assessed: boolean;
}

/** Medications in the patient's record that map to no ATC class: the model did not see them. */
export interface NotAssessedMedication {
  drug: string;
  /** Orders of it in the record (drafted orders are reviewed in `drafted` instead). */
  orders: number;
}

export interface CurrentMedication {
  drug: string;
  atc3: string[];
  source: 'MedicationRequest' | 'MedicationStatement' | 'this-visit';
  status: string;
  /** ISO date a recently ended use ended (its start when no end is recorded); absent while active. */
  ended?: string;
}

export interface RecommendationResult {
  threshold: number;
  /** Visits before the target visit; 0 = first visit (profile and this visit's codes only). */
  priorVisits: number;
  /** Set when the patient is recorded as deceased: nothing is suggested. */
  deceased?: { since?: string };
  /** Every class of the label space (plus drafted classes outside it), most likely first. */
  classes: ClassRecommendation[];
  /** Suggested classes, most likely first. */
  suggestions: ClassRecommendation[];
  /** Likely classes the patient already takes ("continue"). */
  continued: ClassRecommendation[];
  /** Likely classes left out by the never-suggest list. */
  neverSuggested: ClassRecommendation[];
  drafted: DraftedOrderReview[];
  current: CurrentMedication[];
  /** Recorded medications no class could be given (never silently dropped): by name, most orders first. */
  notAssessed: NotAssessedMedication[];
  /** Ranked: at the order first, then other drafts, suggestions, current × current; within each, pairs with a still-active medication first. */
  interactions: DrugInteraction[];
  /** Inputs occluded for the evidence, of all the patient's inputs (the most recent are kept); absent without evidence. */
  evidenceInputs?: { occluded: number; total: number };
  /** Where suggestion products come from (the model folder may lack a training product list). */
  productSource: 'patient-history-and-training' | 'patient-history-only';
  /** The never-suggest ATC prefixes applied. */
  neverSuggestPrefixes: string[];
}
