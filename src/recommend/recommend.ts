import { DdiIndex } from './ddi-index';
import { chooseProduct, type ProductUse, type TrainingProducts } from './product';
import type {
  ClassRecommendation, CurrentMedication, DraftedOrderReview, DrugInteraction, EvidenceItem, InteractionSide, NotAssessedMedication, RecommendationResult,
} from './recommendation.types';
import { anatomicalGroupOf, whoCase } from './who-names';

/** A drafted MedicationRequest (context.draftOrders or a draft already in the visit), classed. */
export interface DraftedOrder {
  orderRef: string;
  drug: string;
  /** ATC3 classes; empty when the drug could not be classed. */
  atc3: string[];
  /** Selected (order-select) or being signed (order-sign) now. */
  atTheOrder: boolean;
}

export interface RecommendInput {
  /** Label (ATC3) of each probability, in model output order. */
  labels: readonly string[];
  /** The patient's probabilities, one per label. */
  probs: ArrayLike<number>;
  threshold: number;
  ddi: DdiIndex;
  /** WHO name of a class as the terminology has it (any case). */
  className: (atc3: string) => string | undefined;
  priorVisits: number;
  current: CurrentMedication[];
  drafts: DraftedOrder[];
  /** Recorded (not drafted) medications that map to no class. */
  notAssessed?: NotAssessedMedication[];
  /** Evidence of a label index (occlusion); absent → no evidence. */
  evidence?: (labelIndex: number) => EvidenceItem[];
  evidenceInputs?: { occluded: number; total: number };
  patientProducts: ReadonlyMap<string, ProductUse>;
  /** The model folder's training product list; undefined when the folder has none. */
  trainingProducts?: TrainingProducts;
  /** ATC prefixes never suggested (e.g. `B05` for MIMIC's infusion solutions). */
  neverSuggest: readonly string[];
  deceased?: { since?: string };
}

/**
 * The recommendation for one visit (pure, deterministic; ties broken by ATC3 code): every class
 * with its probability and status (drafted, continued = the patient already takes it, new), the
 * suggestions (likely, new, not never-suggested, patient alive) with a product each, a review of
 * each drafted order, and the interactions that matter — drafted × current, drafted × drafted,
 * suggestion × (current + drafted), current × current — never pairs among unrequested suggestions.
 */
export function recommend(input: RecommendInput): RecommendationResult {
  const { labels, probs, threshold, ddi } = input;
  const cut = Math.fround(threshold);
  const draftedClasses = new Set(input.drafts.flatMap((d) => d.atc3));
  const currentDrugs = new Map<string, string[]>();
  for (const m of input.current) for (const c of m.atc3) currentDrugs.set(c, [...(currentDrugs.get(c) ?? []), m.drug]);
  const draftDrugs = new Map<string, string[]>();
  for (const d of input.drafts) for (const c of d.atc3) draftDrugs.set(c, [...(draftDrugs.get(c) ?? []), d.drug]);
  const neverSuggest = (atc3: string) => input.neverSuggest.some((p) => p !== '' && atc3.startsWith(p));
  const names = new Map<string, string | undefined>();
  const nameOf = (atc3: string): string | undefined => {
    if (!names.has(atc3)) names.set(atc3, whoCase(input.className(atc3)));
    return names.get(atc3);
  };

  const classOf = (atc3: string, index: number | undefined): ClassRecommendation => {
    const probability = index === undefined ? undefined : probs[index];
    const aboveThreshold = probability !== undefined && probability > cut;
    const status = draftedClasses.has(atc3) ? 'drafted' : currentDrugs.has(atc3) ? 'continued' : 'new';
    const never = neverSuggest(atc3);
    const suggested = status === 'new' && aboveThreshold && !never && !input.deceased;
    const name = nameOf(atc3);
    const drugs = unique(status === 'drafted' ? draftDrugs.get(atc3) ?? [] : currentDrugs.get(atc3) ?? []);
    const product = suggested ? chooseProduct(atc3, input.patientProducts, input.trainingProducts) : undefined;
    const explained = index !== undefined && (aboveThreshold || status !== 'new');
    return {
      atc3, ...(name ? { name } : {}), group: anatomicalGroupOf(atc3),
      ...(probability !== undefined ? { probability } : {}),
      aboveThreshold, status, suggested, neverSuggested: never, drugs,
      ...(product ? { product } : {}),
      evidence: explained && input.evidence ? input.evidence(index) : [],
    };
  };
  const indexOf = new Map(labels.map((l, i) => [l, i]));
  const classes = labels.map((atc3, i) => classOf(atc3, i));
  for (const atc3 of [...draftedClasses].sort()) if (!indexOf.has(atc3)) classes.push(classOf(atc3, undefined));
  classes.sort((a, b) => (b.probability ?? -1) - (a.probability ?? -1) || compare(a.atc3, b.atc3));
  const byCode = new Map(classes.map((c) => [c.atc3, c]));

  const suggestions = classes.filter((c) => c.suggested);
  const continued = classes.filter((c) => c.status === 'continued' && c.aboveThreshold);
  const never = classes.filter((c) => c.status === 'new' && c.aboveThreshold && c.neverSuggested);
  const drafted: DraftedOrderReview[] = input.drafts.map((d) => {
    const mine = unique(d.atc3).map((c) => byCode.get(c)!).filter(Boolean);
    return { orderRef: d.orderRef, drug: d.drug, atTheOrder: d.atTheOrder, classes: mine, assessed: mine.some((c) => c.probability !== undefined) };
  });

  const draftedSides: InteractionSide[] = input.drafts.flatMap((d) => unique(d.atc3).map((atc3) => side(atc3, d.drug, 'drafted', d.orderRef)));
  // One side per current drug and class (a drug ordered at every admission is one medication); the still-active entry wins.
  const currentByKey = new Map<string, InteractionSide>();
  for (const m of input.current) {
    for (const atc3 of unique(m.atc3)) {
      const key = `${m.drug}|${atc3}`;
      const seen = currentByKey.get(key);
      if (!seen || (seen.ended && (!m.ended || m.ended > seen.ended))) currentByKey.set(key, { ...side(atc3, m.drug, 'current'), ...(m.ended ? { ended: m.ended } : {}) });
    }
  }
  const currentSides = [...currentByKey.values()];
  const suggestionSides: InteractionSide[] = suggestions.map((c) => side(c.atc3, c.product?.coding.display ?? c.name ?? `ATC ${c.atc3}`, 'suggested'));
  const atTheOrder = new Set(input.drafts.filter((d) => d.atTheOrder).map((d) => d.orderRef));
  const interactions = new Map<number, DrugInteraction>();
  const sideId = new Map<InteractionSide, number>();
  for (const x of [...draftedSides, ...currentSides, ...suggestionSides]) sideId.set(x, sideId.size);
  const n = sideId.size;
  // Class pairs are checked once per pair of classes present, then expanded to the drugs of each class.
  const byClass = (sides: InteractionSide[]) => {
    const m = new Map<string, InteractionSide[]>();
    for (const x of sides) m.set(x.atc3, [...(m.get(x.atc3) ?? []), x]);
    return m;
  };
  const check = (xs: InteractionSide[], ys: InteractionSide[]) => {
    const ysByClass = byClass(ys);
    for (const [ca, as] of byClass(xs)) {
      for (const [cb, bs] of ysByClass) {
        if (!ddi.has(ca, cb)) continue;
        for (const a of as) {
          for (const b of bs) {
            if ((a.orderRef !== undefined && a.orderRef === b.orderRef) || (a.role === b.role && a.drug === b.drug)) continue;
            const [i, j] = [sideId.get(a)!, sideId.get(b)!];
            const key = i < j ? i * n + j : j * n + i;
            if (interactions.has(key)) continue;
            const [first, second] = rank(a) <= rank(b) ? [a, b] : [b, a];
            const involvesOrder = atTheOrder.has(a.orderRef ?? '') || atTheOrder.has(b.orderRef ?? '');
            interactions.set(key, { a: first, b: second, atTheOrder: involvesOrder && a.role !== 'suggested' && b.role !== 'suggested' });
          }
        }
      }
    }
  };
  check(draftedSides, [...draftedSides, ...currentSides]);
  check(suggestionSides, [...currentSides, ...draftedSides]);
  check(currentSides, currentSides);
  const ranked = [...interactions.values()].sort((x, y) => pairRank(x) - pairRank(y) || endedSides(x) - endedSides(y) || compare(pairName(x), pairName(y)));

  return {
    threshold, priorVisits: input.priorVisits,
    ...(input.deceased ? { deceased: input.deceased } : {}),
    classes, suggestions, continued, neverSuggested: never, drafted, current: input.current, notAssessed: input.notAssessed ?? [], interactions: ranked,
    ...(input.evidenceInputs ? { evidenceInputs: input.evidenceInputs } : {}),
    productSource: input.trainingProducts ? 'patient-history-and-training' : 'patient-history-only',
    neverSuggestPrefixes: [...input.neverSuggest],
  };

  function side(atc3: string, drug: string, role: InteractionSide['role'], orderRef?: string): InteractionSide {
    const className = nameOf(atc3);
    return { atc3, ...(className ? { className } : {}), drug, role, ...(orderRef ? { orderRef } : {}) };
  }
}

const ROLE_RANK = { drafted: 0, suggested: 1, current: 2 } as const;
function rank(s: InteractionSide): number {
  return ROLE_RANK[s.role];
}
/** At the order first, then other drafted pairs, then suggestions, then current × current. */
function pairRank(i: DrugInteraction): number {
  if (i.atTheOrder) return 0;
  if (i.a.role === 'suggested' || i.b.role === 'suggested') return 2;
  if (i.a.role === 'drafted') return 1;
  return 3;
}
/** Sides that already ended: a pair with a medication still taken matters more. */
function endedSides(i: DrugInteraction): number {
  return (i.a.ended ? 1 : 0) + (i.b.ended ? 1 : 0);
}
function pairName(i: DrugInteraction): string {
  return `${i.a.drug}|${i.b.drug}|${i.a.atc3}|${i.b.atc3}`;
}
/** Code-point order: deterministic and cheap (localeCompare is neither needed nor fast for codes). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
