/** Recommendations computed from the student's probabilities: pure data, no HTTP or CDS shapes. */

export interface RankedClass {
  /** ATC level-3 class, e.g. `C09A`. */
  atc3: string;
  /** WHO class name, when known. */
  name?: string;
  /** Student probability for the target visit (undefined when the class is outside the model's label space). */
  probability?: number;
}

export interface ClassInteraction {
  a: RankedClass;
  b: RankedClass;
  /** Where each class of the pair came from. */
  aFrom: 'recommended' | 'drafted';
  bFrom: 'recommended' | 'drafted';
}

export interface Recommendation {
  threshold: number;
  /** Classes above the threshold, most likely first (including those already ordered or drafted). */
  likely: RankedClass[];
  /** Likely classes not yet ordered or drafted in the current visit: the suggestions. */
  suggested: RankedClass[];
  /** Drafted classes the model scores below the threshold (only classes in its label space). */
  unlikelyDrafted: RankedClass[];
  /** Drafted classes outside the model's label space (it cannot judge them). */
  unknownDrafted: RankedClass[];
  /** Interacting pairs (the model's DDI matrix) among suggested and drafted classes. */
  interactions: ClassInteraction[];
  /** Visits before the target visit; 0 = first visit, the model used the profile and current codes only. */
  priorVisits: number;
}
